"""The schema, as SQLAlchemy Core tables. Alembic revisions in `migrations/versions` create and change it."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

cluster_info = sa.Table(
    "cluster_info",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("model_id", sa.String(64), primary_key=True),
    sa.Column("create_time_ms", sa.BigInteger, nullable=False),
    # The build Elasticsearch's API uses (`_start`, GET); null: the newest ready build.
    sa.Column("default_build", sa.Integer, nullable=True),
    # The highest build number ever given: a deleted build's number is never given again, so the history's
    # build numbers always mean one build.
    sa.Column("last_build_number", sa.Integer, nullable=False, server_default="1"),
)

# A build is one immutable version of a model: its config, vocabulary and definition together.
builds = sa.Table(
    "builds",
    metadata,
    sa.Column("model_id", sa.String(64), sa.ForeignKey("models.model_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("build_number", sa.Integer, primary_key=True),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("create_time_ms", sa.BigInteger, nullable=False),
    sa.Column("total_definition_length", sa.BigInteger, nullable=True),
    sa.Column("total_parts", sa.Integer, nullable=True),
    sa.Column("definition_sha256", sa.String(64), nullable=True),
    sa.Column("comment", sa.String(1024), nullable=True),
    # Set when the definition was refused: the build is `failed` and takes nothing more.
    sa.Column("failure_reason", sa.Text, nullable=True),
)

definition_parts = sa.Table(
    "definition_parts",
    metadata,
    sa.Column("model_id", sa.String(64), primary_key=True),
    sa.Column("build_number", sa.Integer, primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.ForeignKeyConstraint(
        ["model_id", "build_number"], ["builds.model_id", "builds.build_number"], ondelete="CASCADE"
    ),
)

vocabularies = sa.Table(
    "vocabularies",
    metadata,
    sa.Column("model_id", sa.String(64), primary_key=True),
    sa.Column("build_number", sa.Integer, primary_key=True),
    sa.Column("vocabulary", sa.JSON, nullable=False),
    sa.Column("merges", sa.JSON, nullable=True),
    sa.Column("scores", sa.JSON, nullable=True),
    sa.ForeignKeyConstraint(
        ["model_id", "build_number"], ["builds.model_id", "builds.build_number"], ondelete="CASCADE"
    ),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("model_id", sa.String(64), sa.ForeignKey("models.model_id", ondelete="CASCADE"), nullable=False),
)

# A deployment the user started: an `active` one is restored, with these settings, when the server starts; a
# `stopped` one stays to be started again with them (Elasticsearch's API no longer sees it).
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("deployment_id", sa.String(64), primary_key=True),
    sa.Column("model_id", sa.String(64), nullable=False),
    sa.Column("build_number", sa.Integer, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("start_time_ms", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("stop_time_ms", sa.BigInteger, nullable=True),
)

# What happened to each deployment: every start, change, rollout, stop and failure, with who asked and the
# build and settings before and after. Kept when the deployment (or its model) goes.
deployment_history = sa.Table(
    "deployment_history",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("deployment_id", sa.String(64), nullable=False, index=True),
    sa.Column("model_id", sa.String(64), nullable=False),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
    sa.Column("end_time_ms", sa.BigInteger, nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(1024), nullable=False),
    sa.Column("build_before", sa.Integer, nullable=True),
    sa.Column("build_after", sa.Integer, nullable=True),
    sa.Column("settings_before", sa.JSON, nullable=True),
    sa.Column("settings_after", sa.JSON, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
)

# API keys: only a salted HMAC of each secret is stored. `privileges` are what the key may do (cluster
# privilege names), already limited to what its creator held; `role_descriptors` are kept as given, for GET.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(1024), nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("secret_hash", sa.String(128), nullable=False),
    sa.Column("creation_ms", sa.BigInteger, nullable=False),
    sa.Column("expiration_ms", sa.BigInteger, nullable=True),
    sa.Column("invalidation_ms", sa.BigInteger, nullable=True),
    sa.Column("username", sa.String(512), nullable=False),
    sa.Column("realm", sa.String(64), nullable=False),
    sa.Column("realm_type", sa.String(64), nullable=False),
    sa.Column("privileges", sa.JSON, nullable=False),
    sa.Column("role_descriptors", sa.JSON, nullable=False),
    sa.Column("limited_by", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
)

# Users for HTTP basic authentication (Elasticsearch's native realm); the password as a scrypt hash.
users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.String(512), primary_key=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("full_name", sa.String(1024), nullable=True),
    sa.Column("email", sa.String(1024), nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
)

# One row: a count of every change to a stored key or user (update, invalidation, password, deletion), made in
# the change's own transaction. Servers sharing the store poll it to drop what they cached.
security_changes = sa.Table(
    "security_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
)

# Elasticsearch's inference endpoints (`PUT _inference/{task_type}/{inference_id}`) for the `elasticsearch` service:
# each serves through a deployment, the one it started (`started_deployment`: stopped with the endpoint) or one it
# attached to (`service_settings.deployment_id`). `config` holds the service, task and chunking settings as given.
inference_endpoints = sa.Table(
    "inference_endpoints",
    metadata,
    sa.Column("inference_id", sa.String(64), primary_key=True),
    sa.Column("task_type", sa.String(32), nullable=False),
    sa.Column("service", sa.String(32), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("deployment_id", sa.String(64), nullable=False),
    sa.Column("started_deployment", sa.Boolean, nullable=False),
    sa.Column("create_time_ms", sa.BigInteger, nullable=False),
)

# Ingest pipelines (`PUT _ingest/pipeline/{id}`), each the definition as given, checked when it was stored.
ingest_pipelines = sa.Table(
    "ingest_pipelines",
    metadata,
    sa.Column("pipeline_id", sa.String(512), primary_key=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("update_time_ms", sa.BigInteger, nullable=False),
)

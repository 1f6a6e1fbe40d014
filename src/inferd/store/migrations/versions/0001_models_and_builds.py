"""Models, their immutable builds, definition parts, vocabularies and aliases.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "cluster_info",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_cluster_info"),
    )
    op.create_table(
        "models",
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("create_time_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("model_id", name="pk_models"),
    )
    op.create_table(
        "builds",
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("build_number", sa.Integer, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("create_time_ms", sa.BigInteger, nullable=False),
        sa.Column("total_definition_length", sa.BigInteger, nullable=True),
        sa.Column("total_parts", sa.Integer, nullable=True),
        sa.Column("definition_sha256", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("model_id", "build_number", name="pk_builds"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.model_id"], name="fk_builds_model_id_models", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "definition_parts",
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("build_number", sa.Integer, nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("model_id", "build_number", "part", name="pk_definition_parts"),
        sa.ForeignKeyConstraint(
            ["model_id", "build_number"],
            ["builds.model_id", "builds.build_number"],
            name="fk_definition_parts_model_id_builds",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "vocabularies",
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("build_number", sa.Integer, nullable=False),
        sa.Column("vocabulary", sa.JSON, nullable=False),
        sa.Column("merges", sa.JSON, nullable=True),
        sa.Column("scores", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("model_id", "build_number", name="pk_vocabularies"),
        sa.ForeignKeyConstraint(
            ["model_id", "build_number"],
            ["builds.model_id", "builds.build_number"],
            name="fk_vocabularies_model_id_builds",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "model_aliases",
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("alias", name="pk_model_aliases"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.model_id"], name="fk_model_aliases_model_id_models", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    for table in ("model_aliases", "vocabularies", "definition_parts", "builds", "models", "cluster_info"):
        op.drop_table(table)

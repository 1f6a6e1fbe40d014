"""Inference endpoints and ingest pipelines, kept across restarts like models and deployments.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    """Create `inference_endpoints` and `ingest_pipelines` (empty: nothing existed before)."""
    op.create_table(
        "inference_endpoints",
        sa.Column("inference_id", sa.String(64), nullable=False),
        sa.Column("task_type", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("deployment_id", sa.String(64), nullable=False),
        sa.Column("started_deployment", sa.Boolean, nullable=False),
        sa.Column("create_time_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("inference_id", name=op.f("pk_inference_endpoints")),
    )
    op.create_table(
        "ingest_pipelines",
        sa.Column("pipeline_id", sa.String(512), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("update_time_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("pipeline_id", name=op.f("pk_ingest_pipelines")),
    )


def downgrade() -> None:
    """Drop both: endpoints and pipelines are forgotten (the deployments endpoints started stay)."""
    op.drop_table("ingest_pipelines")
    op.drop_table("inference_endpoints")

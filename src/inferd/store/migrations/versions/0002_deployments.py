"""Deployments, so that a restarted server starts again what was running.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    """Create the deployments table."""
    op.create_table(
        "deployments",
        sa.Column("deployment_id", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("build_number", sa.Integer, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("start_time_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("deployment_id", name="pk_deployments"),
    )


def downgrade() -> None:
    """Drop the deployments table."""
    op.drop_table("deployments")

"""Stopped deployments stay (to be started again), and every deployment keeps a history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    """Add the deployments' status and stop time, and create the deployment_history table."""
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="active"))
        batch.add_column(sa.Column("stop_time_ms", sa.BigInteger, nullable=True))
    op.create_table(
        "deployment_history",
        sa.Column("entry_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("deployment_id", sa.String(64), nullable=False),
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
        sa.PrimaryKeyConstraint("entry_id", name="pk_deployment_history"),
    )
    op.create_index("ix_deployment_history_deployment_id", "deployment_history", ["deployment_id"])


def downgrade() -> None:
    """Drop the history and the stopped deployments' columns (stopped deployments are forgotten)."""
    op.drop_index("ix_deployment_history_deployment_id", table_name="deployment_history")
    op.drop_table("deployment_history")
    op.execute("DELETE FROM deployments WHERE status <> 'active'")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("stop_time_ms")
        batch.drop_column("status")

"""Builds get a comment and a failure reason; a model may pin its default build and counts its builds.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    """Add `builds.comment`, `builds.failure_reason`, `models.default_build` (all nullable: existing builds keep no
    comment and no failure, and existing models default to their newest ready build) and `models.last_build_number`
    (every existing model has only build 1)."""
    with op.batch_alter_table("builds") as batch:
        batch.add_column(sa.Column("comment", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("failure_reason", sa.Text, nullable=True))
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("default_build", sa.Integer, nullable=True))
        batch.add_column(sa.Column("last_build_number", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    """Drop the four columns: pinned defaults are forgotten and failed builds look merely incomplete."""
    with op.batch_alter_table("models") as batch:
        batch.drop_column("last_build_number")
        batch.drop_column("default_build")
    with op.batch_alter_table("builds") as batch:
        batch.drop_column("failure_reason")
        batch.drop_column("comment")

"""A counter of security changes, so every server sharing the store notices a changed key or user.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    """Create `security_changes` with its one row at 0."""
    table = op.create_table(
        "security_changes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_changes")),
    )
    op.bulk_insert(table, [{"id": 1, "count": 0}])


def downgrade() -> None:
    """Drop the counter: servers then notice other processes' changes only when their caches expire."""
    op.drop_table("security_changes")

"""API keys and users, for authentication.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    """Create the api_keys and users tables."""
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
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
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(512), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("full_name", sa.String(1024), nullable=True),
        sa.Column("email", sa.String(1024), nullable=True),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_users"),
    )


def downgrade() -> None:
    """Drop the api_keys and users tables."""
    op.drop_table("users")
    op.drop_table("api_keys")

"""Published credit profiles (画像).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=6), nullable=False),
        sa.Column("industry_code", sa.String(length=4), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uscc", name=op.f("pk_profiles")),
    )
    op.create_index(op.f("ix_profiles_district"), "profiles", ["district"])


def downgrade() -> None:
    op.drop_index(op.f("ix_profiles_district"), table_name="profiles")
    op.drop_table("profiles")

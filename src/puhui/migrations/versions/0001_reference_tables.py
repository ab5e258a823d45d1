"""Reference tables: administrative divisions and industries.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ref_divisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("prefecture_code", sa.String(length=6), nullable=True),
        sa.Column("valid_from", sa.Integer(), nullable=True),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ref_divisions")),
        sa.UniqueConstraint("code", "valid_from", "name", name="uq_ref_divisions_use"),
    )
    op.create_index(op.f("ix_ref_divisions_code"), "ref_divisions", ["code"])
    op.create_table(
        "ref_industries",
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("name_zh", sa.String(length=128), nullable=False),
        sa.Column("name_en", sa.String(length=256), nullable=True),
        sa.Column("parent_code", sa.String(length=4), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ref_industries")),
    )
    op.create_index(op.f("ix_ref_industries_parent_code"), "ref_industries", ["parent_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ref_industries_parent_code"), table_name="ref_industries")
    op.drop_table("ref_industries")
    op.drop_index(op.f("ix_ref_divisions_code"), table_name="ref_divisions")
    op.drop_table("ref_divisions")

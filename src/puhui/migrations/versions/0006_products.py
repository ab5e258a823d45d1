"""Market: banks' products and their matches (白名单) (issue #7).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bank_code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount_min", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("amount_max", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("term_min", sa.Integer(), nullable=False),
        sa.Column("term_max", sa.Integer(), nullable=False),
        sa.Column("rate_min", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("rate_max", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("guarantee", sa.String(length=16), nullable=False),
        sa.Column("entity_types", sa.JSON(), nullable=False),
        sa.Column("industries", sa.JSON(), nullable=False),
        sa.Column("districts", sa.JSON(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("policy_lists", sa.JSON(), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=True),
        sa.Column("min_credit_points", sa.Integer(), nullable=True),
        sa.Column("max_pd", sa.Float(), nullable=True),
        sa.Column("min_age_years", sa.Float(), nullable=True),
        sa.Column("exclude_dishonest", sa.Boolean(), nullable=False),
        sa.Column("exclude_abnormal", sa.Boolean(), nullable=False),
        sa.Column("instant", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("popularity", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_products_bank_code_banks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_bank_code"), "products", ["bank_code"])
    op.create_index("ix_products_status_popularity", "products", ["status", "popularity"])
    op.create_table(
        "product_matches",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("fit", sa.Float(), nullable=False),
        sa.Column("pre_credit_limit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("rate", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_matches_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "uscc", name=op.f("pk_product_matches")),
    )
    op.create_index("ix_product_matches_uscc", "product_matches", ["uscc"])


def downgrade() -> None:
    op.drop_index("ix_product_matches_uscc", table_name="product_matches")
    op.drop_table("product_matches")
    op.drop_index("ix_products_status_popularity", table_name="products")
    op.drop_index(op.f("ix_products_bank_code"), table_name="products")
    op.drop_table("products")

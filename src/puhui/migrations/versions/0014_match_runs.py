"""Market: match on demand from each refresh's matching-inputs file (issue #7).

``product_matches`` held every eligible (product, business) pair and every near miss: 33 M
rows at 200,000 businesses, out of reach at 1,000,000. A refresh now writes the scoring
run's per-business matching inputs once, as a memory-mapped Arrow file under the region's
home, and keeps only one row per run (``match_runs``) and per product of the run
(``product_match_counts``); white lists and a business's products are matched on demand.
The old pairs are dropped (a refresh makes the new run).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_product_matches_white_list", table_name="product_matches")
    op.drop_index("ix_product_matches_uscc", table_name="product_matches")
    op.drop_table("product_matches")
    op.create_table(
        "match_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("businesses", sa.Integer(), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.BigInteger(), nullable=False),
        sa.Column("near_misses", sa.BigInteger(), nullable=False),
        sa.Column("government_lists", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_runs")),
    )
    op.create_table(
        "product_match_counts",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("near_misses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["match_runs.id"],
            name=op.f("fk_product_match_counts_run_id_match_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_match_counts_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "product_id", name=op.f("pk_product_match_counts")),
    )


def downgrade() -> None:
    op.drop_table("product_match_counts")
    op.drop_table("match_runs")
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
    op.create_index(
        "ix_product_matches_white_list",
        "product_matches",
        ["product_id", "eligible", sa.text("pre_credit_limit DESC"), "uscc"],
    )

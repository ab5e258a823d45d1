"""Market: an index that serves a product's white list in its order (issue #7).

A white-list page is ``WHERE product_id = ? AND eligible ORDER BY pre_credit_limit DESC,
uscc``; with 1,000,000 businesses a product may have hundreds of thousands of eligible
pairs, and without this index every page sorts them all.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_product_matches_white_list",
        "product_matches",
        ["product_id", "eligible", sa.text("pre_credit_limit DESC"), "uscc"],
    )


def downgrade() -> None:
    op.drop_index("ix_product_matches_white_list", table_name="product_matches")

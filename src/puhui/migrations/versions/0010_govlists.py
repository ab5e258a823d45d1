"""Government lists (精准推送): lists, their members and pushes to banks (issue #7).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gov_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_gov_lists_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_lists")),
        sa.UniqueConstraint("code", name=op.f("uq_gov_lists_code")),
    )
    op.create_table(
        "gov_list_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["gov_lists.id"],
            name=op.f("fk_gov_list_members_list_id_gov_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_list_members")),
        sa.UniqueConstraint("list_id", "uscc", name="uq_gov_list_members_list_uscc"),
    )
    op.create_index(op.f("ix_gov_list_members_list_id"), "gov_list_members", ["list_id"])
    op.create_index(op.f("ix_gov_list_members_uscc"), "gov_list_members", ["uscc"])
    op.create_table(
        "gov_list_pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("bank_code", sa.String(length=32), nullable=False),
        sa.Column("pushed_at", sa.DateTime(), nullable=False),
        sa.Column("pushed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["gov_lists.id"],
            name=op.f("fk_gov_list_pushes_list_id_gov_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["bank_code"], ["banks.code"], name=op.f("fk_gov_list_pushes_bank_code_banks")
        ),
        sa.ForeignKeyConstraint(
            ["pushed_by"], ["users.id"], name=op.f("fk_gov_list_pushes_pushed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_list_pushes")),
        sa.UniqueConstraint("list_id", "bank_code", name="uq_gov_list_pushes_list_bank"),
    )
    op.create_index(op.f("ix_gov_list_pushes_list_id"), "gov_list_pushes", ["list_id"])
    op.create_index(op.f("ix_gov_list_pushes_bank_code"), "gov_list_pushes", ["bank_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_gov_list_pushes_bank_code"), table_name="gov_list_pushes")
    op.drop_index(op.f("ix_gov_list_pushes_list_id"), table_name="gov_list_pushes")
    op.drop_table("gov_list_pushes")
    op.drop_index(op.f("ix_gov_list_members_uscc"), table_name="gov_list_members")
    op.drop_index(op.f("ix_gov_list_members_list_id"), table_name="gov_list_members")
    op.drop_table("gov_list_members")
    op.drop_table("gov_lists")

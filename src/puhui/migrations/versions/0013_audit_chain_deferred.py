"""Audit log: rows may wait to be chained (issue #8, the deferred audit chain).

A web request on PostgreSQL writes its audit row without ``seq``, ``prev_hash`` and
``entry_hash``; a short separate step (the worker's chainer) numbers, links and hashes
the waiting rows in order moments after the request commits, so requests no longer queue
on the chain's head row. The three columns become nullable, and a partial index finds the
waiting rows. Every chained row is as before; ``puhui audit verify`` reports waiting rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CHAIN_COLUMNS = (
    ("seq", sa.Integer()),
    ("prev_hash", sa.String(length=64)),
    ("entry_hash", sa.String(length=64)),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        for name, type_ in CHAIN_COLUMNS:
            batch.alter_column(name, existing_type=type_, nullable=True)
    op.create_index(
        "ix_audit_log_unchained",
        "audit_log",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )


def downgrade() -> None:
    waiting = op.get_bind().scalar(sa.text("SELECT count(*) FROM audit_log WHERE seq IS NULL"))
    if waiting:
        raise RuntimeError(
            f"{waiting} audit rows are not chained yet: run `puhui audit verify` (which "
            "chains them first) before downgrading"
        )
    op.drop_index("ix_audit_log_unchained", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        for name, type_ in CHAIN_COLUMNS:
            batch.alter_column(name, existing_type=type_, nullable=False)

"""Consent ledger and audit chain: hash-chained, append-only records (issue #7).

- ``chain_heads``: the last seq and hash of each chain (``audit``, ``consent``); appending
  locks the chain's row.
- ``audit_log`` gains ``seq``, ``prev_hash``, ``entry_hash``; existing rows are chained in
  ``id`` order.
- ``consents`` gains ``sections`` (existing consents: every section, as they allowed).
- ``consent_ledger``: every grant and revoke; existing consents are written to it (a grant
  at ``granted_at``, a revoke at ``revoked_at``), actors taken from the audit log. On
  PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE of the ledger.

The hash is computed here with a frozen copy of the canonical form of
``puhui.accounts.chain`` (docs/consent.md), so this migration means the same thing whatever
the code becomes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
ALL_SECTIONS = "registration,relations,operations,assets,risk,tags,features"
BATCH = 2000

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION consent_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent_ledger is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""
APPEND_ONLY_TRIGGERS = (
    "CREATE TRIGGER consent_ledger_no_change BEFORE UPDATE OR DELETE ON consent_ledger"
    " FOR EACH ROW EXECUTE FUNCTION consent_ledger_append_only()",
    "CREATE TRIGGER consent_ledger_no_truncate BEFORE TRUNCATE ON consent_ledger"
    " FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_append_only()",
)


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _hash(values: dict[str, Any], prev_hash: str) -> str:
    text = json.dumps(
        {**values, "prev_hash": prev_hash},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime()),
    sa.column("actor_kind", sa.String()),
    sa.column("actor_id", sa.String()),
    sa.column("actor_role", sa.String()),
    sa.column("actor_bank", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("seq", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)
AUDIT_FIELDS = (
    "at", "actor_kind", "actor_id", "actor_role", "actor_bank", "action", "object_type",
    "object_id", "detail",
)  # fmt: skip
consents = sa.table(
    "consents",
    sa.column("id", sa.Integer()),
    sa.column("uscc", sa.String()),
    sa.column("bank_code", sa.String()),
    sa.column("scope", sa.String()),
    sa.column("granted_at", sa.DateTime()),
    sa.column("expires_at", sa.DateTime()),
    sa.column("revoked_at", sa.DateTime()),
    sa.column("granted_by", sa.Integer()),
    sa.column("note", sa.String()),
    sa.column("sections", sa.String()),
)
users = sa.table("users", sa.column("id", sa.Integer()), sa.column("role", sa.String()))
heads = sa.table(
    "chain_heads",
    sa.column("chain", sa.String()),
    sa.column("last_seq", sa.Integer()),
    sa.column("last_hash", sa.String()),
)


def _audit_batches(bind: sa.Connection) -> Iterator[list[dict[str, Any]]]:
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(audit.c.id, *(audit.c[name] for name in AUDIT_FIELDS))
            .where(audit.c.id > last_id)
            .order_by(audit.c.id)
            .limit(BATCH)
        ).mappings()
        batch = [dict(row) for row in rows]
        if not batch:
            return
        yield batch
        last_id = batch[-1]["id"]


def _chain_audit(bind: sa.Connection) -> tuple[int, str]:
    """Number and hash the audit rows there are, in id order; the head."""
    seq, prev = 0, GENESIS
    update = (
        sa.update(audit)
        .where(audit.c.id == sa.bindparam("row_id"))
        .values(
            seq=sa.bindparam("new_seq"),
            prev_hash=sa.bindparam("new_prev"),
            entry_hash=sa.bindparam("new_hash"),
        )
    )
    for batch in _audit_batches(bind):
        params = []
        for row in batch:
            seq += 1
            values = {name: row[name] for name in AUDIT_FIELDS}
            values["seq"] = seq
            digest = _hash(values, prev)
            params.append({"row_id": row["id"], "new_seq": seq, "new_prev": prev,
                           "new_hash": digest})  # fmt: skip
            prev = digest
        bind.execute(update, params)
    return seq, prev


def _actors(bind: sa.Connection, action: str) -> dict[str, tuple[str, str, str]]:
    """Who did ``action`` to each consent, by consent id (text), from the audit log."""
    rows = bind.execute(
        sa.select(audit.c.object_id, audit.c.actor_kind, audit.c.actor_id, audit.c.actor_role)
        .where(audit.c.action == action, audit.c.object_type == "consent")
        .order_by(audit.c.id)
    ).all()
    return {str(row[0]): (str(row[1]), str(row[2]), str(row[3])) for row in rows}


def _chain_consents(bind: sa.Connection, ledger: sa.Table) -> tuple[int, str]:
    """Write a grant (and a revoke) entry for every consent there is, in time order."""
    granted, revoked = _actors(bind, "consent.grant"), _actors(bind, "consent.revoke")
    roles = {int(r[0]): str(r[1]) for r in bind.execute(sa.select(users.c.id, users.c.role))}
    events = []
    for row in bind.execute(sa.select(consents).order_by(consents.c.id)).mappings():
        key = str(row["id"])
        by = row["granted_by"]
        fallback = ("user", str(by), roles.get(by, "")) if by is not None else None
        actor = granted.get(key) or fallback or ("system", "migration-0007", "operator")
        events.append((row["granted_at"], row["id"], 0, "grant", row, actor, by))
        if row["revoked_at"] is not None:
            actor = revoked.get(key) or ("system", "migration-0007", "operator")
            user_id = int(actor[1]) if actor[0] == "user" else None
            events.append((row["revoked_at"], row["id"], 1, "revoke", row, actor, user_id))
    events.sort(key=lambda event: (event[0], event[1], event[2]))
    seq, prev, entries = 0, GENESIS, []
    for at, consent_id, _order, event, row, actor, user_id in events:
        seq += 1
        values = {
            "seq": seq,
            "at": at,
            "event": event,
            "consent_id": consent_id,
            "uscc": row["uscc"],
            "bank_code": row["bank_code"],
            "scope": row["scope"],
            "sections": ALL_SECTIONS,
            "expires_at": row["expires_at"],
            "actor_kind": actor[0],
            "actor_id": actor[1],
            "actor_role": actor[2],
            "user_id": user_id,
            "application": None,
            "note": row["note"] if event == "grant" else "",
        }
        digest = _hash(values, prev)
        entries.append({**values, "prev_hash": prev, "entry_hash": digest})
        prev = digest
    for start in range(0, len(entries), BATCH):
        bind.execute(sa.insert(ledger), entries[start : start + BATCH])
    return seq, prev


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "chain_heads",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_chain_heads")),
    )

    op.add_column("audit_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("entry_hash", sa.String(length=64), nullable=True))
    audit_head = _chain_audit(bind)
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
    op.create_index("uq_audit_log_seq", "audit_log", ["seq"], unique=True)

    op.add_column("consents", sa.Column("sections", sa.String(length=200), nullable=True))
    op.execute(sa.update(consents).values(sections=ALL_SECTIONS))
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("sections", existing_type=sa.String(length=200), nullable=False)

    ledger = op.create_table(
        "consent_ledger",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("bank_code", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("sections", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("application", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_consent_ledger_consent_id_consents")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_ledger")),
    )
    assert ledger is not None
    op.create_index(op.f("ix_consent_ledger_consent_id"), "consent_ledger", ["consent_id"])
    consent_head = _chain_consents(bind, ledger)

    op.bulk_insert(
        heads,
        [
            {"chain": "audit", "last_seq": audit_head[0], "last_hash": audit_head[1]},
            {"chain": "consent", "last_seq": consent_head[0], "last_hash": consent_head[1]},
        ],
    )
    if bind.dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        for statement in APPEND_ONLY_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS consent_ledger_no_truncate ON consent_ledger")
        op.execute("DROP TRIGGER IF EXISTS consent_ledger_no_change ON consent_ledger")
        op.execute("DROP FUNCTION IF EXISTS consent_ledger_append_only()")
    op.drop_table("consent_ledger")
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("sections")
    op.drop_index("uq_audit_log_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    op.drop_table("chain_heads")

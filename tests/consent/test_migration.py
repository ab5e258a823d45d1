"""Migration 0007 on a database that already has audit rows and consents: the audit rows are
chained in id order, the consents written to the ledger (actors from the audit log), and
the result verifies; the migration also goes back down."""

from __future__ import annotations

from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import inspect, select, text

from puhui.audit import verify_chains
from puhui.consent.models import ConsentLedgerEntry
from puhui.db import alembic_config, make_engine, session_factory, upgrade
from puhui.features.profile import PROFILE_SECTIONS
from tests.accounts.factories import USCCS

T0 = datetime(2026, 11, 1, 8, 0, 0, 123456)


def _legacy_rows(url: str) -> None:
    """What a database at 0006 holds: a bank, a user, consents and their audit rows."""
    engine = make_engine(url)
    audit = (
        "INSERT INTO audit_log (at, actor_kind, actor_id, actor_role, actor_bank, action,"
        " object_type, object_id, detail) VALUES (:at, :kind, :id, :role, NULL, :action,"
        " :type, :object, :detail)"
    )
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO banks (code, name, created_at) VALUES ('BANKA', '甲银行', :at)"),
            {"at": T0},
        )
        connection.execute(
            text(
                "INSERT INTO users (id, username, password_hash, role, bank_code, uscc, active,"
                " created_at) VALUES (7, 'shop', 'x', 'enterprise', NULL, :uscc, :yes, :at)"
            ),
            {"uscc": USCCS[0], "at": T0, "yes": True},
        )
        consent = (
            "INSERT INTO consents (id, uscc, bank_code, scope, granted_at, expires_at,"
            " revoked_at, granted_by, note) VALUES (:id, :uscc, 'BANKA', 'profile', :granted,"
            " :expires, :revoked, :by, :note)"
        )
        connection.execute(
            text(consent),
            [
                {"id": 1, "uscc": USCCS[0], "granted": T0 + timedelta(hours=2),
                 "expires": T0 + timedelta(days=90), "revoked": T0 + timedelta(hours=3),
                 "by": 7, "note": "贷款"},
                {"id": 2, "uscc": USCCS[1], "granted": T0 + timedelta(hours=1),
                 "expires": T0 + timedelta(days=30), "revoked": None, "by": None, "note": ""},
            ],
        )  # fmt: skip
        connection.execute(
            text(audit),
            [
                {"at": T0, "kind": "system", "id": "cli", "role": "operator",
                 "action": "bank.create", "type": "bank", "object": "BANKA",
                 "detail": '{"name": "甲银行"}'},
                {"at": T0 + timedelta(hours=1), "kind": "system", "id": "cli",
                 "role": "operator", "action": "consent.grant", "type": "consent",
                 "object": "2", "detail": '{"days": 30}'},
                {"at": T0 + timedelta(hours=2), "kind": "user", "id": "7",
                 "role": "enterprise", "action": "consent.grant", "type": "consent",
                 "object": "1", "detail": '{"days": 90}'},
                {"at": T0 + timedelta(hours=3), "kind": "user", "id": "7",
                 "role": "enterprise", "action": "consent.revoke", "type": "consent",
                 "object": "1", "detail": "{}"},
            ],
        )  # fmt: skip
    engine.dispose()


def test_existing_rows_are_chained_and_verify(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0006")
    _legacy_rows(empty_db_url)
    upgrade(empty_db_url, "0007")
    engine = make_engine(empty_db_url)
    try:
        with session_factory(engine)() as session:
            report = verify_chains(session)
            assert report.ok, report.breaks
            assert (report.audit.entries, report.consent.entries) == (4, 3)
            assert report.projection.consents == 2
            entries = list(session.scalars(select(ConsentLedgerEntry).order_by("seq")))
            assert [(e.consent_id, e.event) for e in entries] == [
                (2, "grant"), (1, "grant"), (1, "revoke")
            ]  # fmt: skip
            by_user = entries[1]
            assert (by_user.actor_kind, by_user.actor_id, by_user.user_id) == ("user", "7", 7)
            assert by_user.at == T0 + timedelta(hours=2)
            assert by_user.note == "贷款"
            assert entries[0].actor_id == "cli"  # taken from the audit row
            assert all(e.sections == ",".join(PROFILE_SECTIONS) for e in entries)
            seqs = session.execute(text("SELECT seq FROM audit_log ORDER BY id")).scalars()
            assert list(seqs) == [1, 2, 3, 4]
    finally:
        engine.dispose()
    command.downgrade(alembic_config(empty_db_url), "0006")
    engine = make_engine(empty_db_url)
    try:
        tables = inspect(engine).get_table_names()
        assert "consent_ledger" not in tables
        assert "chain_heads" not in tables
        assert "seq" not in {c["name"] for c in inspect(engine).get_columns("audit_log")}
    finally:
        engine.dispose()

"""Concurrent writers leave both chains intact: threads grant, revoke and audit at once, each
in its own session and transaction, on a freshly migrated database of its own (not the
rolled-back test session) — PostgreSQL, and SQLite for comparison."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from puhui.accounts.actor import Actor
from puhui.accounts.service import record
from puhui.audit import verify_chains
from puhui.consent.models import ConsentLedgerEntry
from puhui.consent.service import grant, revoke
from puhui.db import make_engine, session_factory, unit_of_work, upgrade
from tests.accounts.factories import make_bank
from tests.features.factories import uscc

THREADS = 10
ROUNDS = 3


@pytest.fixture
def fresh_engine(empty_db_url: str) -> Iterator[Engine]:
    """A database migrated for this test alone, written with real commits."""
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def test_concurrent_grants_leave_intact_chains(fresh_engine: Engine) -> None:
    platform = Actor.system("test")
    with unit_of_work(fresh_engine) as session:
        make_bank(session, "BANKA", "甲银行")
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def work(number: int) -> None:
        try:
            start.wait(timeout=60)
            for round_ in range(ROUNDS):
                with unit_of_work(fresh_engine) as session:
                    if number % 2:
                        # Audit first, then the ledger: the lock order must hold anyway.
                        record(session, platform, "test.touch", "thing", number)
                    consent = grant(session, platform, "BANKA", 30, uscc=uscc(number * 10 + round_))
                    if round_ == 1:
                        revoke(session, platform, consent.id)
        except BaseException as error:  # reported to the test below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)

    with session_factory(fresh_engine)() as session:
        report = verify_chains(session)
        assert report.ok, report.breaks
        grants = THREADS * ROUNDS
        revokes = THREADS  # one per thread
        assert report.consent.entries == report.consent.head_seq == grants + revokes
        assert report.projection.consents == grants
        touches = (THREADS // 2) * ROUNDS
        # bank.create, one row per grant and per revoke, and the touches
        assert report.audit.entries == 1 + grants + revokes + touches
        seqs = list(session.scalars(select(ConsentLedgerEntry.seq).order_by("seq")))
        assert seqs == list(range(1, grants + revokes + 1))
        events = dict(
            session.execute(
                select(ConsentLedgerEntry.event, func.count()).group_by(ConsentLedgerEntry.event)
            ).all()
        )
        assert events == {"grant": grants, "revoke": revokes}

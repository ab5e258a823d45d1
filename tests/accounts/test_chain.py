"""The audit log as a hash chain: the canonical form (a golden hash), every ``record()``
numbered and linked, and tampering found by verification with the right entry — on SQLite
and PostgreSQL."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.chain import (
    AUDIT,
    GENESIS,
    WROTE_WAITING,
    canonical,
    chain_waiting,
    defer_chain,
    entry_hash,
    head_of,
    verify_chain,
)
from puhui.accounts.chainer import AuditChainer
from puhui.accounts.models import AuditEntry
from puhui.accounts.service import audit_entries, record
from puhui.db import make_engine, session_factory, upgrade
from tests.accounts.factories import make_bank


def seq_of(entry: AuditEntry) -> int:
    assert entry.seq is not None, "not chained"
    return entry.seq


def test_the_canonical_form_is_sorted_compact_utf8_with_microseconds() -> None:
    values = {"b": 1, "a": "浙江", "t": datetime(2026, 1, 2, 3, 4, 5), "d": {"z": None, "y": [1]}}
    text = '{"a":"浙江","b":1,"d":{"y":[1],"z":null},"t":"2026-01-02T03:04:05.000000"}'
    assert canonical(values) == text.encode("utf-8")
    # The hash covers the fields plus prev_hash, in the same canonical form.
    with_prev = '{"a":"浙江","b":1,"d":{"y":[1],"z":null},"prev_hash":"' + GENESIS
    with_prev += '","t":"2026-01-02T03:04:05.000000"}'
    assert entry_hash(values, GENESIS) == hashlib.sha256(with_prev.encode()).hexdigest()
    # A golden value (docs/consent.md shows it), so that a change of the form cannot pass.
    golden = {"seq": 1, "at": datetime(2026, 11, 25, 3, 0), "note": "贷款"}
    assert entry_hash(golden, GENESIS) == (
        "5de25d2877dbf5ee532051e45707ea3dc3cc548d8ab02810c7defeaa50947cfe"
    )


def test_nan_has_no_canonical_form() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical({"x": float("nan")})


def test_records_are_numbered_and_linked(session: Session) -> None:
    before = head_of(session, "audit")
    assert before is not None
    make_bank(session, "BANKA", "甲银行")
    record(session, Actor.system("test"), "thing.do", "thing", 1, {"n": (1, 2), "k": "值"})
    entries = audit_entries(session)[-2:]
    assert [e.seq for e in entries] == [before[0] + 1, before[0] + 2]
    assert entries[0].prev_hash == before[1]
    assert entries[1].prev_hash == entries[0].entry_hash
    assert entries[1].detail == {"n": [1, 2], "k": "值"}  # stored as JSON, hashed as stored
    assert head_of(session, "audit") == (entries[1].seq, entries[1].entry_hash)
    report = verify_chain(session, AUDIT)
    assert report.ok, report.broken
    assert report.head_seq == entries[1].seq


def _three(session: Session) -> list[AuditEntry]:
    platform = Actor.system("test")
    for n in range(3):
        record(session, platform, "thing.do", "thing", n, {"n": n})
    return audit_entries(session, "thing")


def test_an_edited_detail_is_found_at_its_entry(session: Session) -> None:
    first, second, _third = _three(session)
    session.execute(update(AuditEntry).where(AuditEntry.id == second.id).values(detail={"n": 99}))
    report = verify_chain(session, AUDIT)
    assert report.broken is not None
    assert (report.broken.problem, report.broken.seq, report.broken.row_id) == (
        "entry_hash", second.seq, second.id
    )  # fmt: skip
    assert f"id {second.id}" in report.broken.message_en
    assert "changed" in report.broken.message_en
    assert "被改动" in report.broken.message_zh
    assert report.entries == first.seq  # every entry before it was intact


def test_a_rehashed_edit_breaks_the_next_link(session: Session) -> None:
    _first, second, third = _three(session)
    forged = {name: getattr(second, name) for name in AUDIT.fields if name != "prev_hash"}
    forged["detail"] = {"n": 99}
    session.execute(
        update(AuditEntry)
        .where(AuditEntry.id == second.id)
        .values(detail={"n": 99}, entry_hash=entry_hash(forged, str(second.prev_hash)))
    )
    broken = verify_chain(session, AUDIT).broken
    assert broken is not None
    assert (broken.problem, broken.row_id) == ("prev_hash", third.id)


def test_a_deleted_entry_is_found_by_its_seq(session: Session) -> None:
    _first, second, _third = _three(session)
    session.execute(delete(AuditEntry).where(AuditEntry.id == second.id))
    broken = verify_chain(session, AUDIT).broken
    assert broken is not None
    assert (broken.problem, broken.seq) == ("missing", second.seq)
    assert f"seq {second.seq} is missing" in broken.message_en


def test_entries_cut_off_the_end_are_found_by_the_head(session: Session) -> None:
    *_, third = _three(session)
    session.execute(delete(AuditEntry).where(AuditEntry.id == third.id))
    broken = verify_chain(session, AUDIT).broken
    assert broken is not None
    assert (broken.problem, broken.seq) == ("head", third.seq)
    assert f"ends at seq {seq_of(third) - 1}" in broken.message_en


def _sneak(session: Session) -> None:
    session.execute(
        insert(AuditEntry).values(
            at=datetime(2026, 1, 1),
            actor_kind="system",
            actor_id="x",
            actor_role="operator",
            action="sneak",
            object_type="thing",
            object_id="1",
            detail={},
        )
    )


def test_a_row_written_past_record_waits_and_is_then_chained(session: Session) -> None:
    """No row escapes the chain: one inserted without ``record()`` waits like a deferred
    row, is counted by verification, and the next chaining step links it."""
    _sneak(session)
    report = verify_chain(session, AUDIT)
    assert report.ok, report.broken
    assert report.waiting == 1
    assert report.oldest_waiting_at == datetime(2026, 1, 1)
    assert chain_waiting(session) == 1
    sneak = session.scalars(select(AuditEntry).where(AuditEntry.action == "sneak")).one()
    session.refresh(sneak)
    assert head_of(session, "audit") == (sneak.seq, sneak.entry_hash)
    report = verify_chain(session, AUDIT)
    assert report.ok, report.broken
    assert report.waiting == 0


def test_deferred_records_wait_then_link_in_id_order(session: Session) -> None:
    before = head_of(session, "audit")
    assert before is not None
    defer_chain(session)
    platform = Actor.system("test")
    first = record(session, platform, "thing.do", "thing", 1, {"n": 1})
    second = record(session, platform, "thing.do", "thing", 2, {"n": (2, 3)})
    session.flush()
    assert (first.seq, second.seq) == (None, None)
    assert first.id < second.id
    assert session.info[WROTE_WAITING]
    assert head_of(session, "audit") == before  # nothing locked or moved yet
    assert verify_chain(session, AUDIT).waiting == 2
    assert chain_waiting(session) == 2
    session.refresh(first)
    session.refresh(second)
    assert (first.seq, second.seq) == (before[0] + 1, before[0] + 2)
    assert first.prev_hash == before[1]
    assert second.prev_hash == first.entry_hash
    assert head_of(session, "audit") == (second.seq, second.entry_hash)
    assert chain_waiting(session) == 0
    report = verify_chain(session, AUDIT)
    assert report.ok, report.broken
    assert report.waiting == 0


def test_inline_and_deferred_rows_share_one_chain(session: Session) -> None:
    """An inline writer (a CLI command) while rows wait: it takes the head's next seq, and
    the waiting rows follow it when chained; the chain verifies."""
    platform = Actor.system("test")
    deferred = Session(bind=session.connection())
    defer_chain(deferred)
    waiting = record(deferred, platform, "thing.do", "thing", "w", {})
    deferred.flush()
    inline = record(session, platform, "thing.do", "thing", "i", {})
    assert chain_waiting(session) == 1
    deferred.refresh(waiting)
    assert waiting.seq == seq_of(inline) + 1
    assert waiting.prev_hash == inline.entry_hash
    assert verify_chain(session, AUDIT).ok


def test_an_edit_of_a_row_chained_late_is_found(session: Session) -> None:
    defer_chain(session)
    platform = Actor.system("test")
    rows = [record(session, platform, "thing.do", "thing", n, {"n": n}) for n in range(3)]
    session.flush()
    chain_waiting(session)
    session.execute(update(AuditEntry).where(AuditEntry.id == rows[1].id).values(detail={"n": 9}))
    broken = verify_chain(session, AUDIT).broken
    assert broken is not None
    assert (broken.problem, broken.row_id) == ("entry_hash", rows[1].id)


def test_the_chainer_links_committed_rows_in_its_own_transaction(tmp_path: Path) -> None:
    """The worker's chainer, woken after a commit, chains the rows; verification is clean."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    chainer = AuditChainer(sessions, interval=0.05, gap=0.0)
    try:
        with sessions() as writer:
            defer_chain(writer)
            for n in range(5):
                record(writer, Actor.system("test"), "thing.do", "thing", n, {"n": n})
            writer.commit()
        chainer.wake()
        deadline = time.monotonic() + 10
        while chainer.chained < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert chainer.chained == 5
        with sessions() as reader:
            report = verify_chain(reader, AUDIT)
            assert report.ok, report.broken
            assert (report.waiting, report.entries) == (0, 5)
    finally:
        chainer.stop()
        engine.dispose()

"""Two workers at once on PostgreSQL, each in its own thread with its own sessions, on a
migrated schema whose transactions really commit: no notice is sent twice, none is missed.

Worker A holds its first notice (and so its row lock) until worker B has sent one: B can
only do that by skipping the locked row (``FOR UPDATE SKIP LOCKED``). A worker that waited
on the lock instead, or that took the same row, fails the test."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from puhui.notices.models import Notice
from puhui.notices.worker import deliver_due
from tests.notices.factories import queue_committed

T0 = datetime(2030, 1, 1, 8, 0, 0)
NOTICES = 120


#: How long worker A holds its first notice waiting for B (B needs far less).
HOLD_SECONDS = 30


class SharedLog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[tuple[str, int]] = []
        self.a_holds_one = threading.Event()
        self.b_has_sent = threading.Event()


class WorkerSender:
    def __init__(self, name: str, log: SharedLog) -> None:
        self.name = name
        self.log = log
        self.waited_for_b: bool | None = None

    def send(self, notice: Notice) -> None:
        if self.name == "A" and self.waited_for_b is None:
            # Keep this notice locked until the other worker has delivered one.
            self.log.a_holds_one.set()
            self.waited_for_b = self.log.b_has_sent.wait(timeout=HOLD_SECONDS)
        with self.log.lock:
            self.log.sent.append((self.name, notice.id))
        if self.name == "B":
            self.log.b_has_sent.set()


@pytest.mark.postgres
def test_two_workers_never_send_the_same_notice(
    outbox_engine: Engine, outbox: sessionmaker[Session]
) -> None:
    if outbox_engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED claiming is PostgreSQL's; on SQLite one worker runs")
    ids = queue_committed(outbox, NOTICES)
    log = SharedLog()
    senders = {name: WorkerSender(name, log) for name in ("A", "B")}
    failures: list[BaseException] = []

    def work(name: str) -> None:
        factory = sessionmaker(bind=outbox_engine)  # each thread its own sessions
        try:
            if name == "B":  # B begins once A holds a notice, so the two really overlap
                assert log.a_holds_one.wait(timeout=HOLD_SECONDS)
            while deliver_due(factory, {"sms": senders[name]}, T0, batch=10).attempted:
                pass
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=4 * HOLD_SECONDS)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures
    assert senders["A"].waited_for_b is True, "B could not send while A held a notice"
    sent_ids = Counter(notice_id for _name, notice_id in log.sent)
    assert sorted(sent_ids) == ids  # none missed
    assert set(sent_ids.values()) == {1}  # none twice
    by_worker = Counter(name for name, _id in log.sent)
    assert by_worker["A"] >= 1
    assert by_worker["B"] >= 1
    with outbox() as session:
        stored = session.scalars(select(Notice)).all()
    assert {(n.status, n.attempts) for n in stored} == {("sent", 1)}

"""The worker on SQLite and PostgreSQL, on a database whose outcomes really commit: it sends,
retries with back-off, gives up, never loses a notice while a sender is down."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from puhui.notices.models import Notice
from puhui.notices.senders import SendError
from puhui.notices.worker import Backoff, deliver_due, run_worker
from tests.accounts.factories import make_user
from tests.notices.factories import (
    EMAIL,
    PHONE,
    FlakySender,
    RecordingSender,
    SwitchableSender,
    make_notice,
    queue_committed,
)

T0 = datetime(2030, 1, 1, 8, 0, 0)  # after every notice's created_at: all are due at T0


def rows(factory: sessionmaker[Session]) -> dict[int, Notice]:
    with factory() as session:
        return {n.id: n for n in session.scalars(select(Notice).order_by(Notice.id))}


def test_backoff_doubles_from_30_seconds_to_an_hour() -> None:
    backoff = Backoff()
    assert [backoff.nominal(n) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    rng = random.Random(7)
    for failures in range(1, 12):
        seconds = backoff.delay(failures, rng).total_seconds()
        assert 0.9 * backoff.nominal(failures) <= seconds <= 1.1 * backoff.nominal(failures)
        assert seconds <= 3600
    # Jitter: notices that failed together come back at different times.
    assert len({backoff.delay(1, rng) for _ in range(20)}) > 1


def test_sends_every_due_notice_and_marks_in_app_ones(outbox: sessionmaker[Session]) -> None:
    with outbox.begin() as session:
        user = make_user(session, "government")
        sms = [make_notice(session, "sms").id for _ in range(3)]
        mail = [make_notice(session, "email").id for _ in range(2)]
        inapp = make_notice(session, "inapp", user_id=user.id).id
    sms_sender, email_sender = RecordingSender(), RecordingSender()
    report = deliver_due(outbox, {"sms": sms_sender, "email": email_sender}, T0)
    assert (report.sent, report.retried, report.dead, report.inapp) == (5, 0, 0, 1)
    assert sms_sender.sent == sms
    assert email_sender.sent == mail
    stored = rows(outbox)
    assert {n.status for n in stored.values()} == {"sent"}
    assert {n.sent_at for n in stored.values()} == {T0}
    assert stored[inapp].attempts == 1
    # Nothing is sent twice.
    again = deliver_due(outbox, {"sms": sms_sender, "email": email_sender}, T0)
    assert (again.attempted, again.inapp) == (0, 0)
    assert len(sms_sender.sent) == 3


def test_a_notice_not_yet_due_waits(outbox: sessionmaker[Session]) -> None:
    queue_committed(outbox, 1)
    sender = RecordingSender()
    assert deliver_due(outbox, {"sms": sender}, datetime(2000, 1, 1)).attempted == 0
    assert sender.sent == []


def test_a_failing_sender_is_retried_with_back_off(outbox: sessionmaker[Session]) -> None:
    (notice_id,) = queue_committed(outbox, 1)
    sender = FlakySender(2)
    senders = {"sms": sender}
    rng = random.Random(1)
    first = deliver_due(outbox, senders, T0, rng=rng)
    assert (first.sent, first.retried, first.dead) == (0, 1, 0)
    stored = rows(outbox)[notice_id]
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 1, "HTTP 503")
    assert T0 + timedelta(seconds=27) <= stored.next_attempt_at <= T0 + timedelta(seconds=33)
    # Not due again before its back-off has passed.
    assert deliver_due(outbox, senders, T0 + timedelta(seconds=20), rng=rng).attempted == 0
    second_try = stored.next_attempt_at
    second = deliver_due(outbox, senders, second_try, rng=rng)
    assert second.retried == 1
    stored = rows(outbox)[notice_id]
    assert stored.attempts == 2
    wait = stored.next_attempt_at - second_try
    assert timedelta(seconds=54) <= wait <= timedelta(seconds=66)  # doubled
    third = deliver_due(outbox, senders, stored.next_attempt_at, rng=rng)
    assert third.sent == 1
    stored = rows(outbox)[notice_id]
    assert (stored.status, stored.attempts, stored.sent_at) == ("sent", 3, stored.next_attempt_at)
    assert sender.sent == [notice_id]


def test_gives_up_after_max_attempts(outbox: sessionmaker[Session]) -> None:
    (notice_id,) = queue_committed(outbox, 1)
    sender = FlakySender(100)
    now = T0
    outcomes = []
    for _ in range(4):
        report = deliver_due(outbox, {"sms": sender}, now, max_attempts=3)
        outcomes.append((report.retried, report.dead))
        now += timedelta(hours=2)  # past any back-off
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0)]  # dead after the third; then left alone
    stored = rows(outbox)[notice_id]
    assert (stored.status, stored.attempts, stored.sent_at) == ("dead", 3, None)
    assert sender.calls == 3


def test_a_permanent_error_is_dead_at_once(outbox: sessionmaker[Session]) -> None:
    ids = queue_committed(outbox, 2)
    sender = FlakySender(1, permanent=True, reason="SMS gateway refused the message: HTTP 400")
    report = deliver_due(outbox, {"sms": sender}, T0)
    assert (report.sent, report.retried, report.dead) == (1, 0, 1)
    stored = rows(outbox)
    assert (stored[ids[0]].status, stored[ids[0]].attempts) == ("dead", 1)
    assert stored[ids[0]].last_error == "SMS gateway refused the message: HTTP 400"
    assert stored[ids[1]].status == "sent"


def test_a_sender_that_is_down_loses_nothing(outbox: sessionmaker[Session]) -> None:
    sms_ids = queue_committed(outbox, 10, "sms")
    email_ids = queue_committed(outbox, 2, "email")
    gateway, smtp = SwitchableSender(), RecordingSender()
    senders = {"sms": gateway, "email": smtp}
    report = deliver_due(outbox, senders, T0)
    # One SMS tried and failed; the channel is left alone for the rest of the pass, email
    # goes on.
    assert (report.retried, report.sent, report.unavailable) == (1, 2, ["sms"])
    assert gateway.refused == 1
    assert smtp.sent == email_ids
    stored = rows(outbox)
    assert sum(stored[i].attempts for i in sms_ids) == 1
    assert {stored[i].status for i in sms_ids} == {"pending"}
    # Down for a few more passes: still nothing lost, each pass costs one attempt.
    now = T0
    for _ in range(3):
        now += timedelta(minutes=1)
        assert deliver_due(outbox, senders, now).unavailable == ["sms"]
    assert {n.status for n in rows(outbox).values() if n.channel == "sms"} == {"pending"}
    # Back up: every SMS is delivered, each exactly once.
    gateway.down = False
    now += timedelta(hours=2)
    while deliver_due(outbox, senders, now, batch=4).attempted:
        pass
    assert sorted(gateway.sent) == sms_ids
    assert {n.status for n in rows(outbox).values()} == {"sent"}


def test_errors_keep_no_personal_data(outbox: sessionmaker[Session]) -> None:
    ids = queue_committed(outbox, 2)

    class Leaky:
        calls = 0

        def send(self, notice: Notice) -> None:
            self.calls += 1
            if self.calls == 1:
                raise SendError(f"550 <{EMAIL}> unknown; tel {PHONE}; id 33260119900101123X")
            raise RuntimeError(f"gateway said: {PHONE} is blocked")  # a sender's bug

    report = deliver_due(outbox, {"sms": Leaky()}, T0)
    assert report.retried == 2  # a crash in a sender is an error to retry, not a dead worker
    stored = rows(outbox)
    errors = [stored[i].last_error or "" for i in ids]
    for error in errors:
        assert PHONE not in error
        assert EMAIL not in error
        assert "33260119900101123X" not in error
    assert "z***@example.com" in errors[0]
    assert "138****5678" in errors[0]
    assert errors[1].startswith("RuntimeError: ")


def test_batch_stop_and_channels_without_a_sender(outbox: sessionmaker[Session]) -> None:
    queue_committed(outbox, 5, "sms")
    queue_committed(outbox, 1, "email")
    sender = RecordingSender()
    assert deliver_due(outbox, {"sms": sender}, T0, batch=2).sent == 2
    stopped = deliver_due(outbox, {"sms": sender}, T0, stop=lambda: len(sender.sent) >= 3)
    assert stopped.sent == 1
    assert deliver_due(outbox, {"sms": sender}, T0).sent == 2
    # The email has no sender here: it waits, untouched.
    email = next(n for n in rows(outbox).values() if n.channel == "email")
    assert (email.status, email.attempts) == ("pending", 0)
    with pytest.raises(ValueError, match="batch"):
        deliver_due(outbox, {"sms": sender}, T0, batch=0)


def test_run_worker_runs_passes_until_stopped(outbox: sessionmaker[Session]) -> None:
    queue_committed(outbox, 3)
    stop = threading.Event()
    passes: list[int] = []
    sender = RecordingSender()

    def on_pass(report: object) -> None:
        passes.append(getattr(report, "attempted", 0))
        if len(passes) == 3:
            stop.set()

    totals = run_worker(
        outbox,
        {"sms": sender},
        stop=stop,
        interval=0.01,
        batch=2,
        on_pass=on_pass,
        clock=lambda: T0,
    )
    assert passes == [2, 1, 0]  # a full batch goes straight on; then it waits and polls
    assert totals.sent == 3
    once = run_worker(outbox, {"sms": sender}, stop=threading.Event(), once=True)
    assert once.attempted == 0

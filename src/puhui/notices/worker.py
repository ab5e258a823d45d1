"""The outbox worker: deliver due notices through the senders, with retries and back-off.

:func:`deliver_due` is one pass; :func:`run_worker` repeats it until told to stop (``puhui
worker``). Each notice is claimed, sent and its outcome committed in a transaction of its
own, so one bad notice or one slow sender never holds up the others' outcomes.

Claiming. On PostgreSQL the notice is selected ``FOR UPDATE SKIP LOCKED`` and the row lock
is held while it is sent, until its outcome commits: any number of workers run side by
side, each skipping the notices the others hold, and no live worker sends a notice another
is sending. On SQLite (the single-machine default) a plain select claims it and no
transaction is held while sending (a held SQLite write would block the web app): run one
worker there.

Delivery is at least once. A worker that dies after the sender accepted a notice but
before the outcome committed leaves it pending, and the next pass sends it again. A
sender that fails loses nothing: the notice stays pending, its attempts go up by one and
its next attempt waits ``backoff_seconds × 2^(attempts − 1)`` (capped, with ±10 % jitter);
after ``max_attempts`` attempts, or at once on a permanent error, it is ``dead`` and kept
for an operator (``puhui notices retry``). When a sender is *unavailable* (unreachable,
timed out) the pass stops using that channel, so an outage costs one attempt per pass, not
one per waiting notice.

In-app notices need no sender: each pass marks the due ones sent in one statement.
"""

from __future__ import annotations

import logging
import random
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from puhui.accounts.service import utcnow
from puhui.errors import PuhuiError
from puhui.notices.models import Notice
from puhui.notices.senders import Sender, SendError, mask_address, scrub

log = logging.getLogger("puhui.notices")

SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class Backoff:
    """How long a failed notice waits: ``base × 2^(failures − 1)``, at most ``cap`` seconds,
    times a random factor in ``[1 − jitter, 1 + jitter]`` (and still at most ``cap``), so
    notices that failed together do not all come back in the same second."""

    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    jitter: float = 0.1

    def nominal(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure (from 1), before jitter."""
        exponent = min(max(failures, 1) - 1, 60)
        return float(min(self.cap_seconds, self.base_seconds * 2.0**exponent))

    def delay(self, failures: int, rng: random.Random) -> timedelta:
        factor = rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return timedelta(seconds=min(self.cap_seconds, self.nominal(failures) * factor))


@dataclass
class DeliveryReport:
    """What one pass did. ``retried``: failed and due again later; ``dead``: given up;
    ``inapp``: in-app notices marked sent; ``unavailable``: channels whose sender was down."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    inapp: int = 0
    unavailable: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        """Notices handed to a sender in this pass."""
        return self.sent + self.retried + self.dead

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.inapp += other.inapp
        self.unavailable = sorted(set(self.unavailable) | set(other.unavailable))

    def summary(self) -> str:
        down = f"; unavailable: {', '.join(self.unavailable)}" if self.unavailable else ""
        return (
            f"sent {self.sent}, retry later {self.retried}, dead {self.dead}, "
            f"in-app {self.inapp}{down}"
        )


@dataclass(frozen=True)
class _Outcome:
    status: str  # sent | pending | dead
    error: SendError | None = None


def _attempt(sender: Sender, notice: Notice) -> _Outcome:
    """Hand the notice to its sender; a failure of any kind is an outcome, never a crash."""
    try:
        sender.send(notice)
    except SendError as error:
        return _Outcome("dead" if error.permanent else "pending", error)
    except Exception as error:  # a sender's bug must not stop the worker: retry, log it
        # Not log.exception: the message may hold an address. Where it failed, scrubbed.
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        failure = SendError(f"{type(error).__name__}: {error}")
        log.error(
            "notice %s: sender %s crashed%s: %s",
            notice.id,
            type(sender).__name__,
            where,
            failure.reason,
        )
        return _Outcome("pending", failure)
    return _Outcome("sent")


def _values(
    notice: Notice,
    outcome: _Outcome,
    now: datetime,
    max_attempts: int,
    backoff: Backoff,
    rng: random.Random,
) -> dict[str, Any]:
    if outcome.status == "sent":
        return {"status": "sent", "sent_at": now, "attempts": notice.attempts + 1}
    assert outcome.error is not None
    attempts = notice.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_error": outcome.error.reason}
    if outcome.status == "dead" or attempts >= max_attempts:
        values["status"] = "dead"
    else:
        values["status"] = "pending"
        values["next_attempt_at"] = now + backoff.delay(attempts, rng)
    return values


def _mark_inapp(session_factory: SessionFactory, now: datetime) -> int:
    """Mark every due in-app notice sent in one statement (safe beside other workers: a row
    another worker marked first no longer matches ``status = 'pending'``)."""
    with session_factory() as session:
        result = session.execute(
            update(Notice)
            .where(
                Notice.channel == "inapp",
                Notice.status == "pending",
                Notice.next_attempt_at <= now,
            )
            .values(status="sent", sent_at=now, attempts=Notice.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class _Delivered:
    """One notice's outcome, as committed."""

    notice_id: int
    channel: str
    status: str  # sent | pending | dead
    error: SendError | None


def _deliver_one(
    session_factory: SessionFactory,
    senders: Mapping[str, Sender],
    channels: list[str],
    now: datetime,
    max_attempts: int,
    backoff: Backoff,
    rng: random.Random,
) -> _Delivered | None:
    """Claim the next due notice of ``channels``, send it, commit its outcome; None when
    nothing is due."""
    with session_factory() as session:
        locking = session.get_bind().dialect.name == "postgresql"
        statement = (
            select(Notice)
            .where(
                Notice.status == "pending",
                Notice.next_attempt_at <= now,
                Notice.channel.in_(channels),
            )
            .order_by(Notice.next_attempt_at, Notice.id)
            .limit(1)
        )
        if locking:
            statement = statement.with_for_update(skip_locked=True)
        notice = session.scalars(statement).first()
        if notice is None:
            session.rollback()
            return None
        if not locking:
            # SQLite: end the read transaction, so that nothing is held while sending.
            session.expunge(notice)
            session.rollback()
        notice_id, channel = notice.id, notice.channel
        to = mask_address(channel, notice.address)
        outcome = _attempt(senders[channel], notice)
        values = _values(notice, outcome, now, max_attempts, backoff, rng)
        session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.status == "pending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    if outcome.error is None:
        log.info("notice %s %s → %s sent", notice_id, channel, to)
    else:
        log.warning(
            "notice %s %s → %s %s after attempt %s: %s",
            notice_id,
            channel,
            to,
            values["status"],
            values["attempts"],
            outcome.error.reason,
        )
    return _Delivered(notice_id, channel, str(values["status"]), outcome.error)


def deliver_due(
    session_factory: SessionFactory,
    senders: Mapping[str, Sender],
    now: datetime,
    batch: int = 100,
    *,
    max_attempts: int = 8,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
    stop: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """One pass: mark due in-app notices sent, then send up to ``batch`` due notices of the
    channels in ``senders`` (``sms``, ``email``), each in its own transaction.

    ``now`` is the pass's clock: a notice is due when its ``next_attempt_at`` is not after
    it, and outcomes are stamped with it. A channel without a sender is left pending.
    ``stop`` is asked between notices (a graceful shutdown finishes the notice in hand).
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    backoff = backoff or Backoff()
    rng = rng or random.Random()
    report = DeliveryReport(inapp=_mark_inapp(session_factory, now))
    down: set[str] = set()
    while report.attempted < batch and not (stop and stop()):
        channels = sorted(c for c in senders if c != "inapp" and c not in down)
        if not channels:
            break
        done = _deliver_one(session_factory, senders, channels, now, max_attempts, backoff, rng)
        if done is None:
            break
        if done.status == "sent":
            report.sent += 1
        elif done.status == "dead":
            report.dead += 1
        else:
            report.retried += 1
        if done.error is not None and done.error.unavailable:
            down.add(done.channel)
    report.unavailable = sorted(down)
    return report


def require_schema(session: Session) -> None:
    """Refuse clearly when the app database has no outbox yet."""
    if not inspect(session.connection()).has_table(Notice.__tablename__):
        raise PuhuiError(
            "应用数据库尚无通知表，请先运行 puhui db upgrade",
            "the app database has no notices table yet: run puhui db upgrade first",
        )


def run_worker(
    session_factory: SessionFactory,
    senders: Mapping[str, Sender],
    *,
    stop: threading.Event,
    once: bool = False,
    interval: float = 5.0,
    batch: int = 100,
    max_attempts: int = 8,
    backoff: Backoff | None = None,
    on_pass: Callable[[DeliveryReport], None] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> DeliveryReport:
    """Run passes until ``stop`` is set (or one pass when ``once``); returns the totals.

    A full batch is followed at once by the next pass; otherwise the worker waits
    ``interval`` seconds (waking at once when stopped). A database error in a loop is logged
    and the pass is tried again after the interval (the notices are safe in the outbox);
    with ``once`` it is raised.
    """
    totals = DeliveryReport()
    backoff = backoff or Backoff()
    rng = random.Random()
    while not stop.is_set():
        try:
            report = deliver_due(
                session_factory,
                senders,
                clock(),
                batch,
                max_attempts=max_attempts,
                backoff=backoff,
                rng=rng,
                stop=stop.is_set,
            )
        except SQLAlchemyError as error:
            if once:
                raise
            log.warning("notice worker: database error, retrying: %s", scrub(str(error)))
            stop.wait(interval)
            continue
        totals.add(report)
        if on_pass is not None:
            on_pass(report)
        if once:
            break
        if report.attempted < batch or report.unavailable:
            stop.wait(interval)
    return totals

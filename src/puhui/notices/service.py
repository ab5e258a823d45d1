"""Notices: queue a message in the caller's transaction (the outbox); the worker delivers it.

Services flush, never commit: :func:`queue_notice` is called by the service that makes the
change it announces, so both commit together. Who sees which notices is decided once, in
:func:`visible_notices`; an operator sends a dead notice again with :func:`retry_notice`.
Delivery is :mod:`puhui.notices.worker`'s (see docs/notices.md).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Select, false, func, select, update
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.service import record, utcnow
from puhui.errors import PuhuiError
from puhui.notices.models import Notice
from puhui.pagination import PageRequest, PageResult, paginate

Channel = Literal["sms", "email", "inapp"]
CHANNELS: tuple[str, ...] = ("sms", "email", "inapp")


class NoticeError(PuhuiError):
    """A notice that cannot be queued as asked (HTTP 400)."""

    http_status = 400


def queue_notice(
    session: Session,
    *,
    channel: Channel,
    kind: str,
    body: str,
    subject: str = "",
    user_id: int | None = None,
    address: str | None = None,
    application_id: int | None = None,
    params: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> Notice:
    """Queue one notice in the caller's transaction; the worker sends it after commit.

    ``body`` is the finished text (Chinese first). An ``sms`` or ``email`` notice needs an
    ``address``; an ``inapp`` one a ``user_id``. ``dedupe_key`` (unique) keeps a retried
    change from queueing the same notice twice.
    """
    if channel not in CHANNELS:
        raise NoticeError(f"通知渠道 {channel!r} 无效", f"notice channel {channel!r} is invalid")
    if channel in ("sms", "email") and not address:
        raise NoticeError("短信和邮件通知须有收件地址", "an sms or email notice needs an address")
    if channel == "inapp" and user_id is None:
        raise NoticeError("站内通知须有收件用户", "an in-app notice needs a user")
    if not body.strip():
        raise NoticeError("通知内容不能为空", "a notice needs a body")
    now = utcnow()
    notice = Notice(
        created_at=now,
        channel=channel,
        kind=kind,
        user_id=user_id,
        address=address,
        application_id=application_id,
        subject=subject,
        body=body,
        params=params or {},
        dedupe_key=dedupe_key,
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )
    session.add(notice)
    session.flush()
    return notice


STATUSES: tuple[str, ...] = ("pending", "sent", "dead")


class NoticeNotFoundError(NoticeError):
    """No such notice (HTTP 404)."""

    http_status = 404


class NoticeConflictError(NoticeError):
    """The notice is not in a state the change applies to (HTTP 409)."""

    http_status = 409


class NoticeForbiddenError(NoticeError):
    """The actor may not do this with notices (HTTP 403)."""

    http_status = 403


def visible_notices(actor: Actor) -> Select[Notice]:
    """The notices ``actor`` may see, decided once: a user their own (whatever their role),
    the platform itself (``puhui notices`` at the command line) all, a bank's system none."""
    statement = select(Notice)
    if actor.kind == "system":
        return statement
    if actor.user_id is not None:
        return statement.where(Notice.user_id == actor.user_id)
    return statement.where(false())


def list_notices(
    session: Session,
    actor: Actor,
    page: PageRequest,
    *,
    status: str | None = None,
    channel: str | None = None,
) -> PageResult[Notice]:
    """The notices ``actor`` may see, newest first, optionally of one status and channel."""
    if status is not None and status not in STATUSES:
        raise NoticeError(
            f"状态须为 {'、'.join(STATUSES)} 之一，收到 {status!r}",
            f"status must be one of {', '.join(STATUSES)}, got {status!r}",
        )
    if channel is not None and channel not in CHANNELS:
        raise NoticeError(
            f"渠道须为 {'、'.join(CHANNELS)} 之一，收到 {channel!r}",
            f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}",
        )
    statement = visible_notices(actor)
    if status is not None:
        statement = statement.where(Notice.status == status)
    if channel is not None:
        statement = statement.where(Notice.channel == channel)
    return paginate(session, statement.order_by(Notice.id.desc()), page)


def count_by_status(session: Session, actor: Actor) -> dict[str, int]:
    """How many notices ``actor`` may see are in each status (every status, zero included)."""
    visible = visible_notices(actor).subquery()
    rows = session.execute(select(visible.c.status, func.count()).group_by(visible.c.status)).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({str(status): int(count) for status, count in rows})
    return counts


def retry_notice(session: Session, actor: Actor, notice_id: int) -> Notice:
    """Give a dead notice a new round of attempts (an operator, after fixing a sender).

    The notice is due at once with its attempts set back to zero; the last error stays until
    the next attempt replaces it. Audited as ``notice.retry``.
    """
    if actor.kind != "system" and not actor.is_operator:
        raise NoticeForbiddenError("只有运营人员可以重发通知", "only an operator may retry notices")
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NoticeNotFoundError(f"没有编号为 {notice_id} 的通知", f"no notice {notice_id}")
    if notice.status != "dead":
        raise NoticeConflictError(
            f"通知 {notice_id} 的状态为 {notice.status}，只有已放弃 (dead) 的通知可以重发",
            f"notice {notice_id} is {notice.status}: only a dead notice can be retried",
        )
    attempts = notice.attempts
    notice.status = "pending"
    notice.attempts = 0
    notice.next_attempt_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "notice.retry",
        "notice",
        notice.id,
        {"channel": notice.channel, "kind": notice.kind, "attempts_before": attempts},
    )
    return notice


def retry_dead(session: Session, actor: Actor) -> int:
    """Every dead notice back to pending (after a sender was down too long): how many.

    One audit row (``notice.retry_all``) with the count, not one per notice."""
    if actor.kind != "system" and not actor.is_operator:
        raise NoticeForbiddenError("只有运营人员可以重发通知", "only an operator may retry notices")
    result = session.execute(
        update(Notice)
        .where(Notice.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=utcnow())
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    session.flush()
    record(session, actor, "notice.retry_all", "notice", "*", {"count": count})
    return count

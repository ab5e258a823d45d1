"""Notices: queue a message in the caller's transaction (the outbox); the worker delivers it.

Services flush, never commit: :func:`queue_notice` is called by the service that makes the
change it announces, so both commit together.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.orm import Session

from puhui.accounts.service import utcnow
from puhui.errors import PuhuiError
from puhui.notices.models import Notice

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

"""App-database tables of the notices domain. Times are naive UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class Notice(Base):
    """One message to one recipient, queued in the transaction of the change it announces.

    The outbox pattern: a stage change and its notice commit together or not at all, and
    ``puhui worker`` delivers pending notices later, with retries and back-off, so a sender
    that is down loses nothing. ``status`` is ``pending`` (waiting for its
    ``next_attempt_at``), ``sent``, or ``dead`` (gave up after the last retry; kept for an
    operator). ``address`` is the phone or email address a sender needs (None for in-app);
    it is never logged in clear.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    channel: Mapped[str] = mapped_column(String(16))  # sms | email | inapp
    kind: Mapped[str] = mapped_column(String(64))  # what it announces, e.g. application.stage
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id"), index=True, default=None
    )
    address: Mapped[str | None] = mapped_column(String(200), default=None)
    application_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)

"""Test data and test senders of the notices domain."""

from __future__ import annotations

import threading
from typing import Any, cast

from sqlalchemy.orm import Session, sessionmaker

from puhui.notices.models import Notice
from puhui.notices.senders import SendError
from puhui.notices.service import Channel, queue_notice

PHONE = "13812345678"
EMAIL = "zhang.san@example.com"


def make_notice(session: Session, channel: str = "sms", **values: Any) -> Notice:
    """A notice as a service queues it; an address or user to suit the channel."""
    if channel == "sms":
        values.setdefault("address", PHONE)
    elif channel == "email":
        values.setdefault("address", EMAIL)
    values.setdefault("kind", "application.stage")
    values.setdefault("body", "您的贷款申请已受理")
    return queue_notice(session, channel=cast(Channel, channel), **values)


def queue_committed(factory: sessionmaker[Session], count: int, channel: str = "sms") -> list[int]:
    """``count`` notices queued and committed; their ids."""
    with factory.begin() as session:
        return [make_notice(session, channel, body=f"通知 {i}").id for i in range(count)]


class RecordingSender:
    """Accepts every notice and remembers which (thread-safe)."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self._lock = threading.Lock()

    def send(self, notice: Notice) -> None:
        with self._lock:
            self.sent.append(notice.id)


class FlakySender(RecordingSender):
    """Fails the first ``failures`` sends (transient, or permanent), then accepts."""

    def __init__(self, failures: int, *, permanent: bool = False, reason: str = "HTTP 503"):
        super().__init__()
        self.failures = failures
        self.permanent = permanent
        self.reason = reason
        self.calls = 0

    def send(self, notice: Notice) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise SendError(self.reason, permanent=self.permanent)
        super().send(notice)


class SwitchableSender(RecordingSender):
    """Down (unreachable) while ``down`` is set; counts the calls it refused."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.refused = 0

    def send(self, notice: Notice) -> None:
        if self.down:
            self.refused += 1
            raise SendError("SMS gateway unreachable: ConnectionRefusedError", unavailable=True)
        super().send(notice)

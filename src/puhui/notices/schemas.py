"""What the notices API sends. Addresses are masked: the API never returns a clear phone
number or email address."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from puhui.notices.models import Notice
from puhui.notices.senders import mask_address


class NoticeOut(BaseModel):
    """One notice to the caller: an in-app message, or an SMS or email sent to them."""

    id: int
    created_at: datetime
    channel: str = Field(description="sms, email or inapp", examples=["inapp"])
    kind: str = Field(description="what it announces", examples=["application.stage"])
    subject: str
    body: str
    to: str = Field(description="the address, masked; empty for in-app", examples=["138****5678"])
    application_id: int | None
    status: str = Field(
        description="pending (waiting to be sent), sent, or dead (given up)", examples=["sent"]
    )
    sent_at: datetime | None

    @classmethod
    def of(cls, notice: Notice) -> NoticeOut:
        return cls(
            id=notice.id,
            created_at=notice.created_at,
            channel=notice.channel,
            kind=notice.kind,
            subject=notice.subject,
            body=notice.body,
            to=mask_address(notice.channel, notice.address),
            application_id=notice.application_id,
            status=notice.status,
            sent_at=notice.sent_at,
        )

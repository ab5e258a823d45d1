"""What the consent API takes and sends."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from puhui.consent.models import Consent
from puhui.consent.service import MAX_DAYS, MAX_NOTE, MIN_DAYS, SCOPE_PROFILE, status_of


class ConsentIn(BaseModel):
    """A business authorises a bank. An operator acting for a business names its ``uscc``."""

    bank_code: str = Field(min_length=1, max_length=32, examples=["ZJRCB"])
    days: int = Field(default=90, ge=MIN_DAYS, le=MAX_DAYS, description="how long it lasts")
    scope: str = Field(default=SCOPE_PROFILE, max_length=32, examples=[SCOPE_PROFILE])
    uscc: str | None = Field(
        default=None, max_length=18, description="operators only: the business granting"
    )
    note: str = Field(default="", max_length=MAX_NOTE)


class ConsentOut(BaseModel):
    id: int
    uscc: str
    bank_code: str
    scope: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    status: str = Field(description="live, expired or revoked", examples=["live"])
    note: str

    @classmethod
    def of(cls, consent: Consent) -> ConsentOut:
        return cls(
            id=consent.id,
            uscc=consent.uscc,
            bank_code=consent.bank_code,
            scope=consent.scope,
            granted_at=consent.granted_at,
            expires_at=consent.expires_at,
            revoked_at=consent.revoked_at,
            status=status_of(consent),
            note=consent.note,
        )

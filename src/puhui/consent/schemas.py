"""What the consent API takes and sends."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from puhui.consent.models import Consent, ConsentLedgerEntry
from puhui.consent.service import (
    MAX_APPLICATION,
    MAX_DAYS,
    MAX_NOTE,
    MIN_DAYS,
    SCOPE_PROFILE,
    status_of,
)
from puhui.features.profile import PROFILE_SECTIONS


class ConsentIn(BaseModel):
    """A business authorises a bank. An operator acting for a business names its ``uscc``."""

    bank_code: str = Field(min_length=1, max_length=32, examples=["ZJRCB"])
    days: int = Field(default=90, ge=MIN_DAYS, le=MAX_DAYS, description="how long it lasts")
    scope: str = Field(default=SCOPE_PROFILE, max_length=32, examples=[SCOPE_PROFILE])
    sections: list[str] | None = Field(
        default=None,
        max_length=len(PROFILE_SECTIONS),
        description="the profile sections the bank may read (default: all): "
        + ", ".join(PROFILE_SECTIONS),
        examples=[["registration", "operations", "risk"]],
    )
    uscc: str | None = Field(
        default=None, max_length=18, description="operators only: the business granting"
    )
    note: str = Field(default="", max_length=MAX_NOTE)
    application: str | None = Field(
        default=None,
        max_length=MAX_APPLICATION,
        description="the number of the application the consent is given for, if any",
    )


class ConsentOut(BaseModel):
    id: int
    uscc: str
    bank_code: str
    scope: str
    sections: list[str] = Field(
        description="the profile sections the bank may read", examples=[list(PROFILE_SECTIONS)]
    )
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
            sections=list(consent.section_list),
            granted_at=consent.granted_at,
            expires_at=consent.expires_at,
            revoked_at=consent.revoked_at,
            status=status_of(consent),
            note=consent.note,
        )


class LedgerEntryOut(BaseModel):
    """One entry of the consent ledger (docs/consent.md has the format and the hash)."""

    seq: int
    at: datetime
    event: str = Field(examples=["grant"])
    consent_id: int
    uscc: str
    bank_code: str
    scope: str
    sections: str = Field(description="comma-separated, as hashed")
    expires_at: datetime
    actor_kind: str
    actor_id: str
    actor_role: str
    user_id: int | None
    application: str | None
    note: str
    prev_hash: str
    entry_hash: str

    @classmethod
    def of(cls, entry: ConsentLedgerEntry) -> LedgerEntryOut:
        return cls.model_validate({name: getattr(entry, name) for name in cls.model_fields})


class ConsentDetailOut(ConsentOut):
    """A consent with its ledger entries, oldest first."""

    ledger: list[LedgerEntryOut]

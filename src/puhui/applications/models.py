"""App-database tables of the applications domain: loan applications and their stages.

Money is ``Numeric(18, 2)`` yuan, rates ``Numeric(6, 2)`` annual %; times naive UTC.

An application moves through the stages of :data:`puhui.applications.service.TRANSITIONS`
(submitted → accepted → under_review → approved | declined → contract_signed → disbursed,
or withdrawn / expired). ``applications.status`` is the stage it is in now;
``application_events`` keeps one row per stage reached, with who reached it, when, the SLA
deadline that applied (``due_at``) and whether it was missed (``breached``) — the raw
material of the bank service report (考核通报).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class Application(Base):
    """One business's loan application.

    ``number`` is the public, unguessable tracking number (``PH`` + yyyymmdd + 8 random
    characters). ``bank_code`` None means the application is in the open pool (抢单) until
    a bank claims it. ``consent_days`` and ``consent_sections`` are what the applicant
    authorised on the consent screen; ``consent_id`` is the consent granted to the bank
    (at submission when a product was chosen, at claim time for a pool application).
    ``stage_due_at`` is when the current stage's SLA ends (None in a final stage).
    ``contact_phone`` is kept for SMS notices and shown masked. ``decision_id`` is reserved
    for the decision engine (issue #8) and has no foreign key yet.
    """

    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_bank_status", "bank_code", "status"),
        Index("ix_applications_status_due", "status", "stage_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    applicant_user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("products.id"), index=True, default=None
    )
    bank_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("banks.code"), default=None
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    term_months: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(500), default="")
    contact_phone: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    consent_days: Mapped[int] = mapped_column(Integer)
    consent_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("consents.id"), default=None)
    approved_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), default=None)
    approved_rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), default=None)
    decision_id: Mapped[int | None] = mapped_column(Integer, default=None)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    stage_due_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class ApplicationEvent(Base):
    """One stage an application reached: when, by whom, and against which SLA.

    ``from_stage`` is the stage it left (None for ``submitted``). ``due_at`` is the SLA
    deadline of ``from_stage`` that applied to reaching this stage (None when no SLA
    applied, e.g. the applicant's own steps); ``breached`` is true when ``at`` was after
    it (always true for ``expired``). ``actor_*`` copy the :class:`~puhui.accounts.actor.Actor`
    as the audit log does.
    """

    __tablename__ = "application_events"
    __table_args__ = (Index("ix_application_events_stage_at", "stage", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(Integer, ForeignKey("applications.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    from_stage: Mapped[str | None] = mapped_column(String(32), default=None)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_bank: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    due_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)

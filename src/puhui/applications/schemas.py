"""What the applications API takes and gives (Pydantic). Money and rates are Decimal, sent
as strings ("150000.00")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from puhui.accounts.actor import Actor
from puhui.applications import service
from puhui.applications.models import Application, ApplicationEvent

Stage = Literal[
    "submitted",
    "accepted",
    "under_review",
    "approved",
    "declined",
    "contract_signed",
    "disbursed",
    "withdrawn",
    "expired",
]
Section = Literal["registration", "relations", "operations", "assets", "risk", "tags", "features"]
Money = Annotated[Decimal, Field(gt=0, le=service.MAX_AMOUNT, decimal_places=2)]
Rate = Annotated[Decimal, Field(gt=0, lt=100, decimal_places=2)]


class ApplicationIn(BaseModel):
    """A business applies: to a product's bank, or (``product_id`` null) to the open pool."""

    model_config = ConfigDict(extra="forbid")

    product_id: int | None = Field(
        default=None,
        ge=1,
        le=service.MAX_ID,
        description="the product; null sends it to the open pool (抢单)",
    )
    amount: Money = Field(description="yuan", examples=["150000.00"])
    term_months: int = Field(ge=service.MIN_TERM, le=service.MAX_TERM)
    purpose: str = Field(min_length=1, max_length=service.MAX_PURPOSE)
    contact_phone: str = Field(
        min_length=11, max_length=20, description="mobile for SMS notices; shown masked"
    )
    consent_days: int = Field(
        default=service.DEFAULT_CONSENT_DAYS,
        ge=1,
        le=365,
        description="how long the bank may read the profile",
    )
    sections: list[Section] | None = Field(
        default=None,
        min_length=1,
        max_length=7,
        description="profile sections the bank may read; default all",
    )


class TransitionIn(BaseModel):
    """Move an application to the next stage (see docs/applications.md for who may)."""

    model_config = ConfigDict(extra="forbid")

    to: Stage
    note: str = Field(default="", max_length=service.MAX_NOTE)
    approved_amount: Money | None = Field(
        default=None, description="approved only; default the amount asked for"
    )
    approved_rate: Rate | None = Field(default=None, description="approved only: annual %")


class OverrideIn(BaseModel):
    """An officer's override of the automatic decision (a referred application, or an
    automatic approval or decline before the contract); ``reason`` is required (the
    service answers a clear 400 when it is empty or longer than 500 characters)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["approve", "decline"]
    reason: str = Field(default="", max_length=10_000, description="why, 1 to 500 characters")
    approved_amount: Money | None = Field(
        default=None, description="approve only; default the decision's offer"
    )
    approved_rate: Rate | None = Field(
        default=None, description="approve only: annual %; default the decision's price"
    )


class EventOut(BaseModel):
    """A stage the application reached."""

    stage: Stage
    from_stage: Stage | None
    at: datetime
    actor_role: str
    actor_bank: str | None
    note: str
    due_at: datetime | None = Field(description="the SLA deadline that applied")
    breached: bool = Field(description="reached after due_at (always true for expired)")

    @classmethod
    def of(cls, event: ApplicationEvent) -> EventOut:
        return cls.model_validate({name: getattr(event, name) for name in cls.model_fields})


class ApplicationOut(BaseModel):
    """An application as the caller may see it. A bank looking at the open pool sees no
    ``uscc``, phone or consent: only what it needs to decide whether to claim."""

    id: int
    number: str
    status: Stage
    pool: bool = Field(description="in the open pool, waiting for a bank to claim it")
    uscc: str | None
    bank_code: str | None
    product_id: int | None
    amount: Decimal
    term_months: int
    purpose: str
    contact_phone: str | None = Field(description="masked, e.g. 138****5678")
    consent_days: int
    consent_sections: list[str]
    consent_id: int | None
    approved_amount: Decimal | None
    approved_rate: Decimal | None
    decision_id: int | None
    submitted_at: datetime
    updated_at: datetime
    stage_due_at: datetime | None = Field(description="when the current stage's SLA ends")
    next_steps: list[Stage] = Field(description="stages the caller may move it to now")

    @classmethod
    def of(cls, application: Application, actor: Actor) -> ApplicationOut:
        hidden = service.redacted_for(actor, application)
        return cls(
            id=application.id,
            number=application.number,
            status=application.status,
            pool=service.is_pool(application),
            uscc=None if hidden else application.uscc,
            bank_code=application.bank_code,
            product_id=application.product_id,
            amount=application.amount,
            term_months=application.term_months,
            purpose=application.purpose,
            contact_phone=None if hidden else service.mask_phone(application.contact_phone),
            consent_days=application.consent_days,
            consent_sections=list(application.consent_sections or []),
            consent_id=None if hidden else application.consent_id,
            approved_amount=application.approved_amount,
            approved_rate=application.approved_rate,
            decision_id=application.decision_id,
            submitted_at=application.submitted_at,
            updated_at=application.updated_at,
            stage_due_at=application.stage_due_at,
            next_steps=service.next_steps(actor, application),
        )


class ApplicationDetailOut(ApplicationOut):
    events: list[EventOut]


class TrackStageOut(BaseModel):
    stage: Stage
    label: str = Field(description="the stage's name in the caller's language")
    state: Literal["done", "current", "pending", "skipped"]
    reached_at: datetime | None
    due_at: datetime | None = Field(description="the SLA deadline it was due by")
    sla_hours: int | None = Field(description="hours the step to this stage may take")
    breached: bool

    @classmethod
    def of(cls, stage: service.TrackStage, locale: str) -> TrackStageOut:
        return cls(
            stage=stage.stage,
            label=service.stage_label(stage.stage, locale),
            state=stage.state,
            reached_at=stage.reached_at,
            due_at=stage.due_at,
            sla_hours=stage.sla_hours,
            breached=stage.breached,
        )


class TrackOut(BaseModel):
    """The public tracking of one application: no uscc, no names, no phone, no amount."""

    number: str
    status: Stage
    status_label: str
    bank_name: str | None
    product_name: str | None
    submitted_at: datetime
    stage_due_at: datetime | None
    stages: list[TrackStageOut] = Field(description="the six public stages, in order")
    ended: TrackStageOut | None = Field(description="withdrawn or expired, when it was")

    @classmethod
    def of(cls, view: service.TrackView, locale: str) -> TrackOut:
        return cls(
            number=view.number,
            status=view.status,
            status_label=service.stage_label(view.status, locale),
            bank_name=view.bank_name,
            product_name=view.product_name,
            submitted_at=view.submitted_at,
            stage_due_at=view.stage_due_at,
            stages=[TrackStageOut.of(s, locale) for s in view.stages],
            ended=TrackStageOut.of(view.ended, locale) if view.ended else None,
        )

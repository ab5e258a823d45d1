"""Test data for the service report and list tracking: applications with their stage events
at known times, written straight into the applications tables (the stage path and the SLA
deadlines are those of the applications domain)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from puhui.applications.models import Application, ApplicationEvent

_numbers = itertools.count(1)
#: Hours each stage may last before the next one is late (the applications domain's SLA).
SLA_HOURS = {
    "submitted": 24,
    "accepted": 48,
    "under_review": 72,
    "approved": 720,
    "contract_signed": 72,
}
#: Stages in the order an application reaches them.
ORDER = (
    "accepted",
    "under_review",
    "approved",
    "declined",
    "contract_signed",
    "disbursed",
    "withdrawn",
    "expired",
)


def make_application(
    session: Session,
    *,
    user_id: int,
    uscc: str,
    bank: str | None,
    submitted: datetime,
    stages: Mapping[str, float] | None = None,
    amount: str = "100000",
    approved_amount: str | None = None,
    product_id: int | None = None,
) -> Application:
    """An application submitted at ``submitted`` that reached each stage of ``stages``
    (stage → hours after submission), with one event per stage: ``from_stage`` the stage
    before, ``due_at`` that stage's SLA deadline, ``breached`` when it came later."""
    stages = dict(stages or {})
    reached = [s for s in ORDER if s in stages]
    status = reached[-1] if reached else "submitted"
    application = Application(
        number=f"PH{submitted:%Y%m%d}T{next(_numbers):07d}",
        uscc=uscc,
        applicant_user_id=user_id,
        product_id=product_id,
        bank_code=bank,
        amount=Decimal(amount),
        term_months=12,
        purpose="",
        contact_phone="13812345678",
        status=status,
        consent_days=90,
        consent_sections=["registration"],
        consent_id=None,
        approved_amount=Decimal(approved_amount) if approved_amount is not None else None,
        approved_rate=None,
        submitted_at=submitted,
        updated_at=submitted,
    )
    session.add(application)
    session.flush()
    events = [
        ApplicationEvent(
            application_id=application.id,
            stage="submitted",
            from_stage=None,
            at=submitted,
            actor_kind="user",
            actor_id=str(user_id),
            actor_role="enterprise",
            actor_bank=None,
            note="",
            due_at=None,
            breached=False,
        )
    ]
    previous, previous_at = "submitted", submitted
    for stage in reached:
        at = submitted + timedelta(hours=stages[stage])
        hours = SLA_HOURS.get(previous)
        due = previous_at + timedelta(hours=hours) if hours is not None else None
        events.append(
            ApplicationEvent(
                application_id=application.id,
                stage=stage,
                from_stage=previous,
                at=at,
                actor_kind="user",
                actor_id="1",
                actor_role="bank_officer",
                actor_bank=bank,
                note="",
                due_at=due,
                breached=stage == "expired" or (due is not None and at > due),
            )
        )
        previous, previous_at = stage, at
    session.add_all(events)
    session.flush()
    return application

"""The instant loan (秒批), the bank's refer queue and an officer's override, on the app
database (SQLite and PostgreSQL): the application flow joined to the decision engine."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.accounts.models import AuditEntry
from puhui.applications import service
from puhui.applications.models import Application, ApplicationEvent
from puhui.applications.vocab import (
    ACCEPTED,
    APPROVED,
    CONTRACT_SIGNED,
    DECLINED,
    DISBURSED,
    SUBMITTED,
    UNDER_REVIEW,
)
from puhui.decisions import service as decisions
from puhui.decisions.models import Decision
from puhui.decisions.runtime import DecisionRuntime
from puhui.pagination import PageRequest
from tests.accounts.factories import USCCS
from tests.applications.factories import PHONE, World, make_world, notices_of
from tests.decisions.factories import (
    DIAL,
    GREY,
    HIGH,
    LOW,
    clean_features,
    dial_spec,
    make_profile,
    register,
)
from tests.market.factories import make_product

SIX = [SUBMITTED, ACCEPTED, UNDER_REVIEW, APPROVED, CONTRACT_SIGNED, DISBURSED]


@dataclass(frozen=True)
class Instant:
    world: World
    product_id: int
    runtime: DecisionRuntime


def setup(session: Session, tmp_path: Path, dial: float) -> Instant:
    world = make_world(session)
    register(session, dial_spec(), "champion")
    make_profile(session, USCCS[0], clean_features(**{DIAL: dial}))
    product = make_product(session, "BANKA", name="秒批贷", instant=True)
    return Instant(world, product.id, DecisionRuntime(tmp_path / "policy.yaml", refresh_seconds=0))


def submit(session: Session, case: Instant, amount: str = "100000") -> Application:
    return service.submit(
        session,
        case.world.business,
        case.product_id,
        amount,
        12,
        "采购原材料",
        PHONE,
        runtime=case.runtime,
    )


def events(session: Session, application: Application) -> list[ApplicationEvent]:
    return service.events_of(session, application.id)


def audits(session: Session, action: str, **detail: Any) -> list[AuditEntry]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
    return [r for r in rows if all((r.detail or {}).get(k) == v for k, v in detail.items())]


# --- the instant loan ----------------------------------------------------------------------


def test_instant_loan_end_to_end(session: Session, tmp_path: Path) -> None:
    case = setup(session, tmp_path, LOW)
    application = submit(session, case)
    assert application.status == APPROVED
    decision = session.get(Decision, application.decision_id)
    assert decision is not None
    assert (decision.outcome, decision.application_id) == ("approve", application.id)
    assert decision.result["instant"] is True
    assert application.approved_amount == Decimal("100000.00")
    assert application.approved_rate == Decimal(decision.result["price"]["rate"])
    # no person moved it: every stage after submission is the platform's
    assert [(e.stage, e.actor_kind, e.actor_id) for e in events(session, application)[1:]] == [
        (ACCEPTED, "system", "decisions"),
        (UNDER_REVIEW, "system", "decisions"),
        (APPROVED, "system", "decisions"),
    ]
    # the applicant's acceptance is the only step; the platform disburses at once
    service.transition(session, case.world.business, application.id, CONTRACT_SIGNED)
    assert application.status == DISBURSED
    trail = events(session, application)
    assert [e.stage for e in trail] == SIX
    assert (trail[-2].actor_kind, trail[-1].actor_kind) == ("user", "system")
    assert [n.params["stage"] for n in notices_of(session, application.id)] == SIX
    moves = audits(session, "application.transition")
    assert sorted(r.detail["to"] for r in moves) == sorted(SIX[1:])
    assert [s.state for s in service.tracker(application, trail)] == ["done"] * 5 + ["current"]
    # the decision stays what it was, and replays equal
    assert decisions.replay(session, decision.public_id).same


def test_a_person_approved_loan_is_not_disbursed_automatically(
    session: Session, tmp_path: Path
) -> None:
    case = setup(session, tmp_path, LOW)
    plain = service.submit(
        session, case.world.business, case.world.product_id, "100000", 12, "采购", PHONE
    )
    assert (plain.status, plain.decision_id) == (SUBMITTED, None)
    for stage in (ACCEPTED, UNDER_REVIEW):
        service.transition(session, case.world.officer_a, plain.id, stage)
    service.transition(
        session, case.world.officer_a, plain.id, APPROVED, approved_rate=Decimal("4.35")
    )
    service.transition(session, case.world.business, plain.id, CONTRACT_SIGNED)
    assert plain.status == CONTRACT_SIGNED


def test_instant_decline_records_the_reasons(session: Session, tmp_path: Path) -> None:
    case = setup(session, tmp_path, HIGH)
    application = submit(session, case)
    assert application.status == DECLINED
    decision = session.get(Decision, application.decision_id)
    assert decision is not None
    assert decision.outcome == "decline"
    trail = events(session, application)
    assert [e.stage for e in trail] == [SUBMITTED, ACCEPTED, UNDER_REVIEW, DECLINED]
    assert decision.public_id in trail[-1].note
    for reason in decision.result["reasons"]:
        assert reason["zh"] in trail[-1].note
    assert len(notices_of(session, application.id)) == 4
    assert application.approved_amount is None


def test_instant_refer_waits_in_the_banks_queue(session: Session, tmp_path: Path) -> None:
    case = setup(session, tmp_path, GREY)
    application = submit(session, case)
    decision = session.get(Decision, application.decision_id)
    assert decision is not None
    assert decision.outcome == "refer"
    assert application.status == UNDER_REVIEW
    assert "pd_grey" in decision.reasons
    trail = events(session, application)
    assert [e.stage for e in trail] == [SUBMITTED, ACCEPTED, UNDER_REVIEW]
    assert decision.result["reasons"][0]["zh"] in trail[-1].note
    assert len(notices_of(session, application.id)) == 3
    # a second, ordinary application of bank A is not in the queue
    service.submit(session, case.world.business, case.world.product_id, "50000", 12, "x", PHONE)
    world = case.world
    queue = service.list_applications(session, world.officer_a, PageRequest(), referred=True)
    assert [a.id for a in queue.items] == [application.id]
    others = service.list_applications(session, world.officer_a, PageRequest(), referred=False)
    assert application.id not in [a.id for a in others.items]
    assert others.items
    assert service.list_applications(session, world.officer_b, referred=True).items == []
    assert service.decisions_for(session, queue.items)[application.id].id == decision.id


def test_without_a_profile_the_application_waits_for_the_bank(
    session: Session, tmp_path: Path
) -> None:
    case = setup(session, tmp_path, LOW)
    other = service.submit(
        session,
        case.world.other_business,
        case.product_id,
        "100000",
        12,
        "采购",
        PHONE,
        runtime=case.runtime,
    )
    assert (other.status, other.decision_id) == (SUBMITTED, None)
    assert audits(session, "application.instant_skipped", number=other.number)


# --- the officer's override ----------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "理" * 501])
def test_an_override_needs_a_written_reason(session: Session, tmp_path: Path, reason: str) -> None:
    case = setup(session, tmp_path, GREY)
    application = submit(session, case)
    with pytest.raises(service.ApplicationError) as caught:
        service.override(session, case.world.officer_a, application.id, "approve", reason)
    assert caught.value.http_status == 400
    assert "reason" in caught.value.message_en
    assert "理由" in caught.value.message_zh
    assert application.status == UNDER_REVIEW
    assert audits(session, "decision.override") == []


def test_an_officer_approves_a_referred_application(session: Session, tmp_path: Path) -> None:
    case = setup(session, tmp_path, GREY)
    application = submit(session, case)
    decision = session.get(Decision, application.decision_id)
    assert decision is not None
    stored = dict(decision.result)
    with pytest.raises(service.ApplicationNotFoundError):
        service.override(session, case.world.officer_b, application.id, "approve", "ok")
    with pytest.raises(service.ApplicationForbiddenError):
        service.override(session, case.world.business, application.id, "approve", "ok")
    with pytest.raises(service.ApplicationError):
        service.override(session, case.world.officer_a, application.id, "maybe", "ok")
    service.override(
        session, case.world.officer_a, application.id, "approve", "  经营流水稳定，实地核实  "
    )
    assert application.status == APPROVED
    assert application.approved_rate == Decimal(stored["price"]["rate"])
    (row,) = audits(session, "decision.override")
    assert row.object_id == decision.public_id
    assert row.detail == {
        "decision_id": decision.public_id,
        "application_id": application.id,
        "number": application.number,
        "decision_outcome": "refer",
        "old_outcome": "refer",
        "new_outcome": "approve",
        "reason": "经营流水稳定，实地核实",
    }
    last = events(session, application)[-1]
    assert (last.stage, last.actor_kind) == (APPROVED, "user")
    assert "经营流水稳定，实地核实" in last.note
    # immutable: the decision is as stored, and out of the queue
    session.expire_all()
    again = session.get(Decision, decision.id)
    assert again is not None
    assert (again.outcome, again.result) == ("refer", stored)
    assert service.list_applications(session, case.world.officer_a, referred=True).items == []
    # an officer's approval is not instant: signing does not disburse
    service.transition(session, case.world.business, application.id, CONTRACT_SIGNED)
    assert application.status == CONTRACT_SIGNED


def test_overriding_automatic_results(session: Session, tmp_path: Path) -> None:
    case = setup(session, tmp_path, HIGH)
    declined = submit(session, case)
    officer = case.world.officer_a
    service.override(
        session, officer, declined.id, "approve", "担保充足", approved_rate=Decimal("6.00")
    )
    assert (declined.status, declined.approved_rate) == (APPROVED, Decimal("6.00"))
    assert [s.stage for s in service.tracker(declined, events(session, declined))][3] == APPROVED
    # an officer's approval is no automatic result: it cannot be overridden again
    with pytest.raises(service.ApplicationConflictError):
        service.override(session, officer, declined.id, "decline", "改主意")
    (row,) = audits(session, "decision.override")
    assert (row.detail["old_outcome"], row.detail["new_outcome"]) == ("decline", "approve")


def test_overriding_an_automatic_approval_before_the_contract(
    session: Session, tmp_path: Path
) -> None:
    case = setup(session, tmp_path, LOW)
    approved = submit(session, case)
    service.override(session, case.world.officer_a, approved.id, "decline", "发现隐性负债")
    assert (approved.status, approved.approved_amount) == (DECLINED, None)
    (row,) = audits(session, "decision.override")
    assert (row.detail["old_outcome"], row.detail["new_outcome"]) == ("approve", "decline")
    # after the contract there is nothing to override
    signed = submit(session, case)
    service.transition(session, case.world.business, signed.id, CONTRACT_SIGNED)
    with pytest.raises(service.ApplicationConflictError):
        service.override(session, case.world.officer_a, signed.id, "decline", "太晚")


def test_the_ordinary_step_on_a_referred_application_needs_a_reason(
    session: Session, tmp_path: Path
) -> None:
    case = setup(session, tmp_path, GREY)
    application = submit(session, case)
    officer = case.world.officer_a
    with pytest.raises(service.ApplicationError) as caught:
        service.transition(session, officer, application.id, DECLINED)
    assert "reason" in caught.value.message_en
    assert application.status == UNDER_REVIEW
    service.transition(session, officer, application.id, DECLINED, note="流水不足")
    assert application.status == DECLINED
    (row,) = audits(session, "decision.override")
    assert (row.detail["old_outcome"], row.detail["new_outcome"]) == ("refer", "decline")

"""The application workflow through its service, on SQLite and PostgreSQL: submit with
consent, the open pool, every allowed and refused step, who sees what, the records of each
stage (event, audit, one notice), the sweep and the public tracking."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
from typing import get_args

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from puhui.accounts.models import AuditEntry
from puhui.applications import service
from puhui.applications.models import Application, ApplicationEvent
from puhui.applications.schemas import ApplicationOut, Stage
from puhui.applications.service import (
    APPLICANT,
    BANK,
    SLA,
    SYSTEM,
    TRANSITIONS,
    ApplicationConflictError,
    ApplicationError,
    ApplicationForbiddenError,
    ApplicationNotFoundError,
)
from puhui.applications.vocab import (
    ACCEPTED,
    APPROVED,
    CONTRACT_SIGNED,
    DECLINED,
    DISBURSED,
    EXPIRED,
    STAGES,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAWN,
)
from puhui.consent.models import Consent
from puhui.consent.service import has_consent
from puhui.pagination import PageRequest
from tests.accounts.factories import USCCS
from tests.applications.factories import (
    PATH,
    PHONE,
    RATE,
    World,
    apply,
    count,
    make_world,
    notices_of,
    walk,
)


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


# --------------------------------------------------------------------------- tables


def test_the_tables_agree() -> None:
    assert set(get_args(Stage)) == set(STAGES)
    for stage, sla in SLA.items():
        assert ((stage, EXPIRED) in TRANSITIONS) == sla.expires, stage
    for (_, to), who in TRANSITIONS.items():
        assert (SYSTEM in who) == (to == EXPIRED)


# --------------------------------------------------------------------------- submit


def test_applying_to_a_product_grants_the_consent_to_its_bank(
    session: Session, world: World
) -> None:
    application = apply(
        session, world.business, world.product_id, contact_phone="+86 138-1234-5678"
    )
    assert re.fullmatch(r"PH\d{8}[2-9A-HJKMNP-Z]{8}", application.number)
    assert application.status == SUBMITTED
    assert application.bank_code == "BANKA"
    assert application.uscc == USCCS[0]
    assert application.contact_phone == PHONE
    assert application.amount == Decimal("150000.00")
    assert application.consent_sections == [
        "registration", "relations", "operations", "assets", "risk", "tags", "features"
    ]  # fmt: skip
    consent = session.get(Consent, application.consent_id)
    assert consent is not None
    assert (consent.bank_code, consent.uscc) == ("BANKA", USCCS[0])
    assert consent.note == f"application {application.number}"
    assert (consent.expires_at - consent.granted_at).days == 90
    assert has_consent(session, "BANKA", USCCS[0])
    assert not has_consent(session, "BANKB", USCCS[0])
    assert application.stage_due_at == application.submitted_at + timedelta(hours=24)
    [event] = session.query(ApplicationEvent).filter_by(application_id=application.id).all()
    assert (event.stage, event.from_stage, event.breached) == (SUBMITTED, None, False)
    [notice] = notices_of(session, application.id)
    assert notice.address == PHONE
    assert notice.channel == "sms"
    assert notice.dedupe_key == f"application:{application.id}:submitted"
    assert application.number in notice.body
    audit = count(session, AuditEntry, AuditEntry.action == "application.submit")
    assert audit == 1


def test_applying_to_the_pool_grants_nothing_yet(session: Session, world: World) -> None:
    application = apply(session, world.business, None, consent_days=30, sections=["risk", "tags"])
    assert application.bank_code is None
    assert application.consent_id is None
    assert application.consent_days == 30
    assert application.consent_sections == ["risk", "tags"]
    assert count(session, Consent, Consent.uscc == USCCS[0]) == 0
    assert service.is_pool(application)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "5000"}, "amount"),  # below the product's 10,000
        ({"amount": "600000"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"term_months": 48}, "term_months"),
        ({"term_months": "twelve"}, "term_months"),
        ({"purpose": "  "}, "purpose"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"consent_days": 0}, "consent_days"),
        ({"sections": ["bank_statements"]}, "sections"),
        ({"sections": []}, "sections"),
    ],
)
def test_a_bad_application_names_its_field_and_writes_nothing(
    session: Session, world: World, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ApplicationError) as raised:
        apply(session, world.business, world.product_id, **overrides)
    assert raised.value.http_status == 400
    assert field in raised.value.message_en
    assert count(session, Application) == 0


def test_only_a_business_applies_and_only_to_a_published_product(
    session: Session, world: World
) -> None:
    for actor in (world.officer_a, world.operator, world.government):
        with pytest.raises(ApplicationForbiddenError):
            apply(session, actor, world.product_id)
    with pytest.raises(ApplicationNotFoundError):
        apply(session, world.business, 999_999)
    from tests.market.factories import make_product

    draft = make_product(session, "BANKA", publish=False)
    with pytest.raises(ApplicationNotFoundError):
        apply(session, world.business, draft.id)
    assert count(session, Application) == 0


# --------------------------------------------------------------------------- visibility


def test_who_sees_which_applications(session: Session, world: World) -> None:
    to_a = apply(session, world.business, world.product_id)
    to_b = apply(session, world.other_business, world.product_b_id)
    pooled = apply(session, world.other_business, None)

    def seen(actor: object) -> set[int]:
        result = service.list_applications(session, actor, PageRequest(1, 100))  # type: ignore[arg-type]
        return {a.id for a in result.items}

    assert seen(world.business) == {to_a.id}
    assert seen(world.other_business) == {to_b.id, pooled.id}
    assert seen(world.officer_a) == {to_a.id, pooled.id}
    assert seen(world.manager_a) == {to_a.id, pooled.id}
    assert seen(world.officer_b) == {to_b.id, pooled.id}
    assert seen(world.operator) == {to_a.id, to_b.id, pooled.id}
    assert seen(world.government) == set()
    with pytest.raises(ApplicationNotFoundError):
        service.get_application(session, world.officer_b, to_a.id)
    with pytest.raises(ApplicationNotFoundError):
        service.get_application(session, world.business, to_b.id)
    with pytest.raises(ApplicationNotFoundError):
        service.get_application(session, world.government, to_a.id)
    pool_only = service.list_applications(session, world.officer_a, pool=True)
    assert [a.id for a in pool_only.items] == [pooled.id]
    # A bank looking at the pool sees no identity; the applicant sees its own, masked.
    listed = ApplicationOut.of(pooled, world.officer_a)
    assert listed.uscc is None
    assert listed.contact_phone is None
    assert listed.pool
    own = ApplicationOut.of(pooled, world.other_business)
    assert own.uscc == USCCS[1]
    assert own.contact_phone == "138****5678"


# --------------------------------------------------------------------------- claim


def test_one_bank_claims_the_pool_application_and_the_other_gets_nothing(
    session: Session, world: World
) -> None:
    pooled = apply(session, world.business, None, consent_days=60, sections=["operations"])
    won = service.claim(session, world.officer_a, pooled.id)
    assert (won.status, won.bank_code) == (ACCEPTED, "BANKA")
    consent = session.get(Consent, won.consent_id)
    assert consent is not None
    assert consent.bank_code == "BANKA"
    assert consent.uscc == USCCS[0]
    assert (consent.expires_at - consent.granted_at).days == 60
    assert consent.sections == "operations"
    assert consent.note == f"application {won.number}"
    with pytest.raises(ApplicationConflictError):
        service.claim(session, world.officer_b, pooled.id)
    with pytest.raises(ApplicationConflictError):
        service.claim(session, world.officer_a, pooled.id)
    with pytest.raises(ApplicationNotFoundError):
        service.get_application(session, world.officer_b, pooled.id)
    assert not has_consent(session, "BANKB", USCCS[0])
    [claimed] = [e for e in service.events_of(session, pooled.id) if e.stage == ACCEPTED]
    assert claimed.actor_bank == "BANKA"
    assert claimed.due_at == pooled.submitted_at + timedelta(hours=24)
    assert count(session, AuditEntry, AuditEntry.action == "application.claim") == 1
    assert [n.params["stage"] for n in notices_of(session, pooled.id)] == [SUBMITTED, ACCEPTED]


def test_who_may_not_claim(session: Session, world: World) -> None:
    pooled = apply(session, world.business, None)
    directed_b = apply(session, world.other_business, world.product_b_id)
    directed_a = apply(session, world.other_business, world.product_id)
    with pytest.raises(ApplicationForbiddenError):
        service.claim(session, world.manager_a, pooled.id)
    with pytest.raises(ApplicationForbiddenError):
        service.claim(session, world.business, pooled.id)
    with pytest.raises(ApplicationNotFoundError):
        service.claim(session, world.government, pooled.id)
    with pytest.raises(ApplicationNotFoundError):
        service.claim(session, world.officer_a, directed_b.id)  # never visible to bank A
    with pytest.raises(ApplicationConflictError):
        service.claim(session, world.officer_a, directed_a.id)  # its own: accept it instead
    with pytest.raises(ApplicationNotFoundError):
        service.claim(session, world.officer_a, 999_999)
    service.transition(session, world.business, pooled.id, WITHDRAWN)
    with pytest.raises(ApplicationConflictError):
        service.claim(session, world.officer_a, pooled.id)


def test_accepting_a_pool_application_is_a_claim(session: Session, world: World) -> None:
    pooled = apply(session, world.business, None)
    moved = service.transition(session, world.officer_b, pooled.id, ACCEPTED)
    assert moved.bank_code == "BANKB"
    assert moved.consent_id is not None


# --------------------------------------------------------------------------- stages


def test_the_six_stages_each_leave_an_event_an_audit_row_and_one_notice(
    session: Session, world: World
) -> None:
    application = apply(session, world.business, world.product_id)
    walk(session, world, application, DISBURSED)
    assert application.approved_amount == Decimal("150000.00")
    assert application.approved_rate == RATE
    assert application.stage_due_at is None
    events = service.events_of(session, application.id)
    assert [e.stage for e in events] == [SUBMITTED, *PATH]
    assert [e.from_stage for e in events] == [None, SUBMITTED, *PATH[:-1]]
    assert not any(e.breached for e in events)
    assert events[4].actor_role == "enterprise"  # the business signed the contract
    notices = notices_of(session, application.id)
    assert [n.params["stage"] for n in notices] == [SUBMITTED, *PATH]
    assert len({n.dedupe_key for n in notices}) == 6
    assert all(application.number in n.body for n in notices)
    assert "甲银行" in notices[-1].body
    actions = [
        e.action
        for e in session.query(AuditEntry)
        .filter_by(object_type="application", object_id=str(application.id))
        .order_by(AuditEntry.id)
    ]
    assert actions == ["application.submit"] + ["application.transition"] * 5


def _party_actors(world: World) -> dict[str, object]:
    return {BANK: world.officer_a, APPLICANT: world.business}


@pytest.mark.parametrize(("step", "who"), sorted(TRANSITIONS.items()))
def test_every_allowed_step_and_who_is_refused_it(
    session: Session, world: World, step: tuple[str, str], who: frozenset[str]
) -> None:
    current, to = step
    application = apply(session, world.business, world.product_id)
    if current != SUBMITTED:
        walk(session, world, application, current)
    rate = RATE if to == APPROVED else None
    # The other bank never sees it; the customer manager, the operator, government and
    # another business may not move it.
    with pytest.raises(ApplicationNotFoundError):
        service.transition(session, world.officer_b, application.id, to, approved_rate=rate)
    with pytest.raises(ApplicationNotFoundError):
        service.transition(session, world.other_business, application.id, to)
    for outsider in (world.manager_a, world.operator):
        with pytest.raises(ApplicationForbiddenError):
            service.transition(session, outsider, application.id, to, approved_rate=rate)
    parties = _party_actors(world)
    for party, actor in parties.items():
        if party not in who:
            with pytest.raises(ApplicationForbiddenError):
                service.transition(session, actor, application.id, to, approved_rate=rate)  # type: ignore[arg-type]
    if who == {SYSTEM}:
        application.stage_due_at = service.utcnow() - timedelta(minutes=1)
        session.flush()
        assert service.expire_overdue(session) == [application]
    else:
        actor = parties[sorted(who)[0]]
        service.transition(session, actor, application.id, to, approved_rate=rate)  # type: ignore[arg-type]
    assert application.status == to
    assert service.events_of(session, application.id)[-1].stage == to
    assert notices_of(session, application.id)[-1].params["stage"] == to


@pytest.mark.parametrize(
    ("current", "to"),
    [
        (SUBMITTED, UNDER_REVIEW),
        (SUBMITTED, APPROVED),
        (ACCEPTED, DISBURSED),
        (UNDER_REVIEW, CONTRACT_SIGNED),
        (APPROVED, DECLINED),
        (DISBURSED, WITHDRAWN),
        (DISBURSED, ACCEPTED),
    ],
)
def test_a_step_the_table_does_not_allow_is_a_conflict(
    session: Session, world: World, current: str, to: str
) -> None:
    application = apply(session, world.business, world.product_id)
    walk(session, world, application, current) if current != SUBMITTED else None
    before = len(notices_of(session, application.id))
    for actor in (world.officer_a, world.business):
        with pytest.raises(ApplicationConflictError):
            service.transition(session, actor, application.id, to, approved_rate=RATE)
    assert application.status == current
    assert len(notices_of(session, application.id)) == before


def test_approving_checks_amount_and_rate(session: Session, world: World) -> None:
    application = apply(session, world.business, world.product_id)
    walk(session, world, application, UNDER_REVIEW)
    cases = [
        ({"approved_rate": None}, "approved_rate"),
        ({"approved_rate": "9.50"}, "approved_rate"),  # the product's range is 3.85–8.00
        ({"approved_rate": RATE, "approved_amount": "150000.01"}, "approved_amount"),
        ({"approved_rate": RATE, "approved_amount": "9999"}, "approved_amount"),
    ]
    for values, field in cases:
        with pytest.raises(ApplicationError) as raised:
            service.transition(session, world.officer_a, application.id, APPROVED, **values)  # type: ignore[arg-type]
        assert field in raised.value.message_en
    with pytest.raises(ApplicationError):
        service.transition(session, world.officer_a, application.id, DECLINED, approved_rate=RATE)
    with pytest.raises(ApplicationError):
        service.transition(session, world.officer_a, application.id, "paid")
    service.transition(
        session, world.admin_a, application.id, APPROVED, "ok", "120000", Decimal("5.2")
    )
    assert application.approved_amount == Decimal("120000.00")
    assert application.approved_rate == Decimal("5.20")
    assert application.stage_due_at is not None


def test_the_bank_may_record_the_signing_and_the_business_may_withdraw(
    session: Session, world: World
) -> None:
    application = apply(session, world.business, world.product_id)
    walk(session, world, application, APPROVED)
    service.transition(session, world.officer_a, application.id, CONTRACT_SIGNED)
    service.transition(session, world.business, application.id, WITHDRAWN, "不需要了")
    event = service.events_of(session, application.id)[-1]
    assert (event.stage, event.note, event.due_at, event.breached) == (
        WITHDRAWN, "不需要了", None, False
    )  # fmt: skip
    assert application.stage_due_at is None


# --------------------------------------------------------------------------- sweep


def test_the_sweep_expires_overdue_applications_only(session: Session, world: World) -> None:
    pooled = apply(session, world.business, None)
    fresh = apply(session, world.business, world.product_id)
    signed = walk(session, world, apply(session, world.business, world.product_id), CONTRACT_SIGNED)
    now = service.utcnow()
    assert service.expire_overdue(session, now) == []
    later = now + timedelta(hours=25)
    expired = service.expire_overdue(session, later)
    assert {a.id for a in expired} == {pooled.id, fresh.id}
    assert signed.status == CONTRACT_SIGNED  # a contract never expires
    event = service.events_of(session, pooled.id)[-1]
    assert (event.stage, event.breached, event.actor_id) == (EXPIRED, True, "applications")
    assert event.due_at == pooled.submitted_at + timedelta(hours=24)
    assert notices_of(session, pooled.id)[-1].params["stage"] == EXPIRED
    assert count(session, AuditEntry, AuditEntry.action == "application.expire") == 2
    assert service.expire_overdue(session, later) == []  # nothing twice
    with pytest.raises(ApplicationConflictError):
        service.claim(session, world.officer_a, pooled.id)


def test_a_late_step_is_recorded_as_a_breach(session: Session, world: World) -> None:
    application = apply(session, world.business, world.product_id)
    application.stage_due_at = service.utcnow() - timedelta(hours=1)
    session.flush()
    service.transition(session, world.officer_a, application.id, ACCEPTED)
    event = service.events_of(session, application.id)[-1]
    assert event.breached
    assert event.due_at is not None
    assert event.due_at < event.at


# --------------------------------------------------------------------------- tracking


def test_tracking_shows_the_stages_and_nothing_personal(session: Session, world: World) -> None:
    application = apply(session, world.business, world.product_id)
    walk(session, world, application, UNDER_REVIEW)
    view = service.track(session, application.number.lower())
    assert view.status == UNDER_REVIEW
    assert (view.bank_name, view.product_name) == ("甲银行", "小微快贷")
    assert [s.stage for s in view.stages] == [
        SUBMITTED, ACCEPTED, UNDER_REVIEW, APPROVED, CONTRACT_SIGNED, DISBURSED
    ]  # fmt: skip
    assert [s.state for s in view.stages] == [
        "done", "done", "current", "pending", "pending", "pending"
    ]  # fmt: skip
    assert [s.sla_hours for s in view.stages] == [None, 24, 48, 72, 720, 72]
    text = repr(asdict(view))
    for secret in (USCCS[0], PHONE, "150000", "采购原材料"):
        assert secret not in text
    with pytest.raises(ApplicationNotFoundError):
        service.track(session, "PH20260101ABCDEFGH")
    with pytest.raises(ApplicationNotFoundError):
        service.track(session, "' OR 1=1 --")


def test_a_declined_application_ends_in_the_fourth_place(session: Session, world: World) -> None:
    application = apply(session, world.business, world.product_id)
    walk(session, world, application, UNDER_REVIEW)
    service.transition(session, world.officer_a, application.id, DECLINED, "经营期限不足")
    view = service.track(session, application.number)
    assert [s.stage for s in view.stages][3] == DECLINED
    assert [s.state for s in view.stages][3:] == ["current", "skipped", "skipped"]
    assert view.stage_due_at is None


def test_the_migration_matches_the_models(db_engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from puhui.db import Base
    from puhui.models import import_all_models

    import_all_models()
    with db_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    mine = [d for d in differences if "application" in repr(d)]
    assert mine == []

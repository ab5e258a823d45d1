"""The decision service on the app database (SQLite and PostgreSQL): who may decide and
read, what is stored, immutability, replay, the feature cache, the application hook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.chain import AUDIT, WROTE_WAITING, chain_waiting, defer_chain, verify_chain
from puhui.accounts.models import AuditEntry
from puhui.accounts.service import actor_for_client, actor_for_user
from puhui.decisions import service
from puhui.decisions.engine import DecisionEngine, decode_features
from puhui.decisions.models import Decision, PolicyVersion
from puhui.decisions.runtime import DecisionRuntime, DecisionUnavailableError
from puhui.features.models import Profile
from puhui.scoring.models import ModelVersion
from puhui.scoring.policy import parse_policy_text, read_policy_text
from tests.accounts.factories import USCCS, make_bank, make_client, make_user
from tests.consent.factories import make_consent
from tests.decisions.factories import DIAL, GREY, clean_features, dial_spec, make_profile, register
from tests.market.factories import make_product

BUSINESS, OTHER = USCCS


@dataclass(frozen=True)
class World:
    officer: Actor
    system: Actor
    other_bank: Actor
    operator: Actor
    business: Actor
    manager: Actor
    champion_id: int
    runtime: DecisionRuntime


@pytest.fixture
def world(session: Session, tmp_path: Path) -> World:
    make_bank(session, "BANKA", "甲银行")
    make_bank(session, "BANKB", "乙银行")
    champion = register(session, dial_spec(), "champion")
    make_profile(session, BUSINESS, clean_features())
    make_consent(session, BUSINESS, "BANKA")
    return World(
        officer=actor_for_user(make_user(session, "bank_officer", bank="BANKA")),
        system=actor_for_client(make_client(session, "BANKA").client),
        other_bank=actor_for_user(make_user(session, "bank_officer", bank="BANKB")),
        operator=actor_for_user(make_user(session, "operator")),
        business=actor_for_user(make_user(session, "enterprise", uscc=BUSINESS)),
        manager=actor_for_user(make_user(session, "customer_manager", bank="BANKA")),
        champion_id=champion.id,
        runtime=DecisionRuntime(tmp_path / "policy.yaml", refresh_seconds=0),
    )


def audits(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# --- deciding ---------------------------------------------------------------------------


def test_a_bank_decides_and_everything_is_kept(session: Session, world: World) -> None:
    row = service.decide(session, world.officer, world.runtime, BUSINESS.lower(), "100000")
    assert row.public_id.startswith("DC")
    assert len(row.public_id) == 20
    assert (row.uscc, row.bank_code, row.outcome, row.reasons) == (
        BUSINESS,
        "BANKA",
        "approve",
        [],
    )
    assert row.amount == Decimal("100000.00")
    assert row.features[DIAL] == 2.0
    assert row.features["entity_type"] == "enterprise"
    assert row.champion_model_id == world.champion_id
    assert row.challenger_model_ids == []
    assert row.policy_version == "2026.11-2"
    assert len(row.policy_fingerprint) == 64
    assert row.result["limit"]["pre_credit_limit"] == "240000.00"
    assert row.request == {"amount": "100000.00", "term_months": None, "product": None}
    stored = session.get(PolicyVersion, row.policy_fingerprint)
    assert stored is not None
    assert stored.text == read_policy_text()[0]
    assert parse_policy_text(stored.text).fingerprint == row.policy_fingerprint
    (entry,) = audits(session, "decision.create")
    assert (entry.object_id, entry.actor_bank, entry.detail["outcome"]) == (
        row.public_id,
        "BANKA",
        "approve",
    )
    # The bank's system decides too; the second decision reuses the stored policy text.
    again = service.decide(session, world.system, world.runtime, BUSINESS, "400000")
    assert again.outcome == "decline"
    assert again.reasons == ["over_limit_far"]
    assert session.scalar(select(PolicyVersion.fingerprint).limit(2).offset(1)) is None


def test_with_the_audit_chain_deferred_the_decision_and_its_audit_row_wait_together(
    session: Session, world: World
) -> None:
    """A web request on PostgreSQL: the decision and its unchained audit row are written in
    one statement; the chaining step links the row and the chain verifies. On SQLite the
    same session inserts them one after the other."""
    defer_chain(session)
    row = service.decide(session, world.system, world.runtime, BUSINESS, "100000")
    assert session.info[WROTE_WAITING]
    stored = session.scalars(select(Decision).where(Decision.public_id == row.public_id)).one()
    assert stored is row  # the row returned is the session's
    assert (stored.id, stored.outcome, stored.features[DIAL]) == (row.id, "approve", 2.0)
    session.expire(stored)
    assert stored.result["limit"]["pre_credit_limit"] == "240000.00"  # read back as stored
    (entry,) = audits(session, "decision.create")
    assert entry.seq is None  # waiting
    assert (entry.object_id, entry.actor_id, entry.detail["outcome"]) == (
        row.public_id,
        world.system.id,
        "approve",
    )
    assert chain_waiting(session) >= 1
    session.refresh(entry)
    assert entry.seq is not None
    report = verify_chain(session, AUDIT)
    assert report.ok, report.broken
    assert report.waiting == 0
    assert service.replay(session, row.public_id).same


def test_no_consent_no_decision_and_the_refusal_is_audited(session: Session, world: World) -> None:
    make_profile(session, OTHER, clean_features())
    with pytest.raises(service.DecisionForbiddenError, match="consent") as caught:
        service.decide(session, world.officer, world.runtime, OTHER, "100000")
    assert caught.value.http_status == 403
    (entry,) = audits(session, "decision.refused")
    assert (entry.object_id, entry.detail["reason"]) == (OTHER, "no_consent")
    # Another bank's consent opens nothing; an expired or revoked one neither.
    with pytest.raises(service.DecisionForbiddenError):
        service.decide(session, world.other_bank, world.runtime, BUSINESS, "100000")
    make_consent(session, OTHER, "BANKA", expired=True)
    make_consent(session, OTHER, "BANKA", revoked=True)
    with pytest.raises(service.DecisionForbiddenError):
        service.decide(session, world.officer, world.runtime, OTHER, "100000")
    assert session.scalar(select(Decision.id)) is None


@pytest.mark.parametrize("who", ["operator", "business", "manager"])
def test_only_banks_decide(session: Session, world: World, who: str) -> None:
    with pytest.raises(service.DecisionForbiddenError, match="bank"):
        service.decide(session, getattr(world, who), world.runtime, BUSINESS, "100000")


@pytest.mark.parametrize(
    ("uscc", "amount", "term", "field"),
    [
        ("91110000600037341X", "100", None, "uscc"),
        (BUSINESS, "0", None, "amount"),
        (BUSINESS, "-5", None, "amount"),
        (BUSINESS, "100.001", None, "amount"),
        (BUSINESS, "abc", None, "amount"),
        (BUSINESS, "100", 0, "term_months"),
        (BUSINESS, "100", 999, "term_months"),
    ],
)
def test_bad_requests_name_the_field(
    session: Session, world: World, uscc: str, amount: str, term: int | None, field: str
) -> None:
    with pytest.raises(service.DecisionError) as caught:
        service.decide(session, world.officer, world.runtime, uscc, amount, term_months=term)
    assert caught.value.http_status == 400
    assert caught.value.message_en.startswith(f"{field}:")
    assert field in caught.value.message_zh


def test_a_business_without_a_profile_is_not_found(session: Session, world: World) -> None:
    make_consent(session, OTHER, "BANKA")
    with pytest.raises(service.DecisionNotFoundError, match="no published profile"):
        service.decide(session, world.officer, world.runtime, OTHER, "100000")


def test_products_of_the_bank_only(session: Session, world: World) -> None:
    instant = make_product(session, "BANKA", instant=True, amount_max=Decimal("300000"))
    draft = make_product(session, "BANKA", publish=False)
    theirs = make_product(session, "BANKB")
    row = service.decide(
        session,
        world.officer,
        world.runtime,
        BUSINESS,
        "150000",
        product_id=instant.id,
        term_months=12,
    )
    assert (row.outcome, row.result["instant"], row.product_id) == ("approve", True, instant.id)
    assert row.request["product"]["id"] == instant.id
    assert row.request["product"]["amount_max"] == "300000.00"
    with pytest.raises(service.DecisionNotFoundError):
        service.decide(
            session, world.officer, world.runtime, BUSINESS, "1000", product_id=theirs.id
        )
    with pytest.raises(service.DecisionError, match="not published"):
        service.decide(session, world.officer, world.runtime, BUSINESS, "1000", product_id=draft.id)


def test_no_champion_means_no_decision(session: Session, world: World) -> None:
    session.execute(text("UPDATE model_versions SET status = 'retired'"))
    world.runtime.invalidate()
    with pytest.raises(DecisionUnavailableError, match="champion") as caught:
        service.decide(session, world.officer, world.runtime, BUSINESS, "100000")
    assert caught.value.http_status == 503


def test_a_bank_with_its_own_champion_decides_with_it(session: Session, world: World) -> None:
    own = register(session, dial_spec(), "champion", owner="BANKA")
    row = service.decide(session, world.officer, world.runtime, BUSINESS, "100000")
    assert (row.owner, row.champion_model_id) == ("BANKA", own.id)
    make_consent(session, BUSINESS, "BANKB")
    theirs = service.decide(session, world.other_bank, world.runtime, BUSINESS, "100000")
    assert (theirs.owner, theirs.champion_model_id) == ("platform", world.champion_id)


# --- reading ----------------------------------------------------------------------------


def test_who_reads_a_decision(session: Session, world: World) -> None:
    row = service.decide(session, world.officer, world.runtime, BUSINESS, "100000")
    assert service.get_decision(session, world.system, row.public_id).id == row.id
    assert service.get_decision(session, world.operator, row.public_id.lower()).id == row.id
    assert service.get_decision(session, world.operator, str(row.id)).id == row.id
    for outsider in (world.other_bank, world.business, world.manager):
        with pytest.raises(service.DecisionNotFoundError):
            service.get_decision(session, outsider, row.public_id)
    assert [e.actor_id for e in audits(session, "decision.read")] == [world.system.id]


# --- immutability -----------------------------------------------------------------------


def test_decisions_and_policy_texts_cannot_change(session: Session, world: World) -> None:
    row = service.decide(session, world.officer, world.runtime, BUSINESS, "100000")
    attempts = [
        update(Decision).where(Decision.id == row.id).values(outcome="approve"),
        update(Decision).where(Decision.id == row.id).values(application_id=1),
        delete(Decision).where(Decision.id == row.id),
        update(PolicyVersion).values(text="version: tampered"),
        delete(PolicyVersion),
    ]
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(statement)
    if session.bind is not None and session.get_bind().dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text("TRUNCATE decisions"))
    session.expire_all()
    assert session.get(Decision, row.id) is not None
    assert session.get(Decision, row.id).outcome == "approve"  # type: ignore[union-attr]


# --- replay ------------------------------------------------------------------------------


def test_replay_is_the_same_and_survives_a_policy_change(session: Session, world: World) -> None:
    policy_file = world.runtime.policy_file
    assert policy_file is not None
    original = read_policy_text()[0]
    policy_file.write_text(original.replace("cost_bp: 60", "cost_bp: 90"), encoding="utf-8")
    world.runtime.invalidate()
    row = service.decide(session, world.officer, world.runtime, BUSINESS, "300000")
    assert row.outcome == "refer"
    assert row.result["price"]["rate"] == "5.28"
    # The operator changes the policy again and promotes nothing: the replay still uses
    # the policy text the decision was made with.
    policy_file.write_text(original, encoding="utf-8")
    world.runtime.invalidate()
    later = service.decide(session, world.officer, world.runtime, BUSINESS, "300000")
    assert later.policy_fingerprint != row.policy_fingerprint
    assert later.result["price"]["rate"] == "4.98"
    replayed = service.replay(session, row.public_id)
    assert replayed.same, replayed.differences
    paths = {check.path for check in replayed.fields}
    assert {"outcome", "rating.score", "price.rate", "reasons[0].code", "(column) outcome"} <= paths
    assert service.replay(session, str(later.id)).same


def test_a_tampered_feature_or_policy_shows_a_difference(session: Session, world: World) -> None:
    row = service.decide(session, world.officer, world.runtime, BUSINESS, "100000")
    loaded = service.stored_policy(session, row.policy_fingerprint)
    assert loaded is not None
    spec = dial_spec(world.champion_id)
    engine = DecisionEngine(loaded.policy, spec)

    features = decode_features(row.features)
    features[DIAL] = GREY  # the business looks riskier
    checks = service.compare(row.result, service.recompute(row, engine, features=features))
    changed = {c.path for c in checks if not c.same}
    assert {"outcome", "rating.score", "rating.pd", "rating.credit_points"} <= changed

    tampered = parse_policy_text(loaded.text.replace("margin_bp: 50", "margin_bp: 80"))
    checks = service.compare(row.result, service.recompute(row, DecisionEngine(tampered, spec)))
    changed = {c.path for c in checks if not c.same}
    assert changed == {"price.rate", "price.policy_rate_bp", "policy.fingerprint"}

    assert not [
        c for c in service.compare(row.result, service.recompute(row, engine)) if not c.same
    ]


def test_replay_of_an_unknown_decision(session: Session, world: World) -> None:
    with pytest.raises(service.DecisionNotFoundError):
        service.replay(session, "DC20260101AAAAAAAAAA")


# --- the feature cache -------------------------------------------------------------------


def test_features_are_cached_until_the_next_publish(session: Session, world: World) -> None:
    runtime = world.runtime
    service.decide(session, world.officer, runtime, BUSINESS, "100000")
    service.decide(session, world.officer, runtime, BUSINESS, "100000")
    assert runtime.feature_reads == 1
    # A new publish (every profile restamped) empties the cache at the next refresh.
    profile = session.get(Profile, BUSINESS)
    assert profile is not None
    profile.published_at = profile.published_at + timedelta(days=1)
    profile.document = profile.document.replace(
        '"electricity_trend_3m": 2.0', '"electricity_trend_3m": 0.5'
    )
    session.flush()
    row = service.decide(session, world.officer, runtime, BUSINESS, "100000")
    assert runtime.feature_reads == 2
    assert row.outcome == "refer"
    assert row.reasons == ["pd_grey"]


def test_a_promotion_rebuilds_the_engine(session: Session, world: World) -> None:
    first = service.decide(session, world.officer, world.runtime, BUSINESS, "100000")
    session.execute(update(ModelVersion).values(status="retired"))
    newer = register(session, dial_spec(), "champion")
    shadow = register(session, dial_spec(), "challenger")
    second = service.decide(session, world.officer, world.runtime, BUSINESS, "100000")
    assert first.champion_model_id == world.champion_id
    assert (second.champion_model_id, second.challenger_model_ids) == (newer.id, [shadow.id])
    assert second.result["shadow"][0]["model_id"] == shadow.id


def test_a_slow_refresh_keeps_serving_from_the_cache(session: Session, world: World) -> None:
    runtime = DecisionRuntime(None, refresh_seconds=3600)
    service.decide(session, world.officer, runtime, BUSINESS, "100000")
    session.execute(update(Profile).values(published_at=datetime(2030, 1, 1)))
    service.decide(session, world.officer, runtime, BUSINESS, "100000")
    assert runtime.feature_reads == 1  # within refresh_seconds: the cached vector
    runtime.invalidate()
    service.decide(session, world.officer, runtime, BUSINESS, "100000")
    assert runtime.feature_reads == 2


# --- the application flow's hook ---------------------------------------------------------


def test_decide_for_application(session: Session, world: World) -> None:
    from puhui.applications import service as applications

    product = make_product(session, "BANKA", instant=True)
    application = applications.submit(
        session,
        world.business,
        product.id,
        "120000",
        12,
        "采购",
        "13812345678",
        runtime=world.runtime,
    )
    assert application.decision_id is not None  # the instant loan decided it already
    row = service.decide_for_application(
        session, Actor.system("instant"), application, world.runtime
    )
    assert (row.application_id, row.bank_code, row.product_id) == (
        application.id,
        "BANKA",
        product.id,
    )
    assert (row.outcome, row.result["instant"]) == ("approve", True)
    assert row.amount == Decimal("120000.00")
    assert row.term_months == 12
    with pytest.raises(service.DecisionForbiddenError):
        service.decide_for_application(session, world.other_bank, application, world.runtime)


# --- survey hint -------------------------------------------------------------------------


def test_hint_for_the_business_and_its_customer_manager(session: Session, world: World) -> None:
    from puhui.decisions.engine import SurveyFigures

    figures = SurveyFigures(revenue=Decimal("100000"), profit=Decimal("5000"))
    result, as_of = service.hint(session, world.business, world.runtime, BUSINESS, figures)
    assert result.risk == "low"
    assert result.to_json()["suggested_amount"] == "60000.00"  # 12 × 5,000
    assert as_of.isoformat() == "2026-06-30"
    service.hint(session, world.manager, world.runtime, BUSINESS, figures)
    assert [e.actor_role for e in audits(session, "decision.hint")] == [
        "enterprise",
        "customer_manager",
    ]
    for outsider in (world.officer, world.system):
        with pytest.raises(service.DecisionForbiddenError):
            service.hint(session, outsider, world.runtime, BUSINESS, figures)
    other = actor_for_user(make_user(session, "enterprise", uscc=OTHER))
    with pytest.raises(service.DecisionForbiddenError):
        service.hint(session, other, world.runtime, BUSINESS, figures)
    with pytest.raises(service.DecisionNotFoundError):
        service.hint(session, world.operator, world.runtime, OTHER, figures)
    assert session.scalar(select(Decision.id)) is None  # a hint is not a decision

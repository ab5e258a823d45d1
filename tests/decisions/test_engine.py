"""The engine on hand-made businesses: every knock-out, approve / refer / decline, products,
the shadow, the survey hint — golden numbers from the default policy."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from puhui.decisions.engine import (
    DecisionEngine,
    DecisionEngineError,
    DecisionRequest,
    ProductTerms,
    SurveyFigures,
    decode_features,
    encode_features,
)
from puhui.scoring.policy import Policy, load_policy, read_policy_text
from tests.decisions.factories import (
    DIAL,
    GREY,
    HIGH,
    PD_GREY,
    PD_HIGH,
    PD_LOW,
    clean_features,
    dial_spec,
)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="module")
def engine(policy: Policy) -> DecisionEngine:
    return DecisionEngine(policy, dial_spec(1), [dial_spec(2)])


def decide(engine: DecisionEngine, amount: str = "100000", **features: Any) -> dict[str, Any]:
    return engine.decide(clean_features(**features), DecisionRequest(Decimal(amount))).to_json()


def codes(result: dict[str, Any]) -> list[str]:
    return [r["code"] for r in result["reasons"]]


def product(**overrides: Any) -> ProductTerms:
    values: dict[str, Any] = {
        "id": 7,
        "bank_code": "BANKA",
        "name": "小微快贷",
        "amount_min": Decimal("10000.00"),
        "amount_max": Decimal("200000.00"),
        "term_min": 3,
        "term_max": 24,
        "rate_min": Decimal("3.85"),
        "rate_max": Decimal("8.00"),
    }
    values.update(overrides)
    return ProductTerms(**values)


# --- a clean business: golden numbers ---------------------------------------------------


def test_clean_business_is_approved_with_golden_numbers(engine: DecisionEngine) -> None:
    result = decide(engine)
    assert result["outcome"] == "approve"
    assert result["reasons"] == []
    rating = result["rating"]
    assert rating["score"] == 600.0
    assert rating["pd"] == pytest.approx(PD_LOW, abs=1e-15)
    assert (rating["tier"], rating["credit_points"]) == ("survival", 600)  # odds 50 exactly
    # 200,000 a month × 12 × 10 % (survival), PD under pd_full: the whole share.
    assert result["limit"]["pre_credit_limit"] == "240000.00"
    # 300 + 60 + PD·0.45·10000 (88.2) + 50 = 498.2 → 498 bp; no discount applies.
    assert result["price"] == {"rate": "4.98", "policy_rate_bp": 498, "discounts": []}
    assert result["approved_amount"] == "100000.00"
    assert result["instant"] is False  # no product
    assert result["admission"] == {"admitted": True, "knockouts": []}
    assert result["policy"]["version"] == "2026.11-2"
    json.dumps(result)  # plain JSON all through


# --- admission: every knock-out rule -----------------------------------------------------


@pytest.mark.parametrize(
    ("code", "override", "zh"),
    [
        ("dishonest", {"dishonest_active": 1}, "失信被执行人"),
        ("serious_penalty", {"penalties_serious_12m": 1}, "严重"),
        ("abnormal", {"abnormal_active": 1}, "经营异常"),
        ("tax_grade_d", {"taxpayer_grade_latest": "D"}, "D级"),
        ("loan_default", {"defaults_prior": 2}, "违约"),
        ("not_active", {"is_cancelled": 1}, "注销"),
        ("not_active", {"entity_type": None}, "无登记"),
    ],
)
def test_each_knockout_declines_with_its_reason(
    engine: DecisionEngine, code: str, override: dict[str, Any], zh: str
) -> None:
    result = decide(engine, **override)
    assert result["outcome"] == "decline"
    assert codes(result) == [code]
    reason = result["reasons"][0]
    assert reason["kind"] == "knockout"
    assert zh in reason["zh"]
    assert reason["en"]
    assert reason["en"] != reason["zh"]
    assert result["admission"]["admitted"] is False
    assert result["limit"]["pre_credit_limit"] == "0.00"
    assert result["approved_amount"] is None


def test_every_knockout_at_once_lists_all_reasons_in_policy_order(
    engine: DecisionEngine, policy: Policy
) -> None:
    result = decide(
        engine,
        dishonest_active=1,
        penalties_serious_12m=1,
        abnormal_active=1,
        taxpayer_grade_latest="D",
        defaults_prior=1,
        is_cancelled=1,
    )
    assert codes(result) == list(policy.knockout_codes)


def test_missing_risk_data_is_not_a_knockout(engine: DecisionEngine) -> None:
    result = decide(engine, dishonest_active=None, abnormal_active=None, taxpayer_grade_latest=None)
    assert result["outcome"] == "approve"


# --- refer and decline ---------------------------------------------------------------


def test_amount_above_the_limit_within_the_band_is_referred(engine: DecisionEngine) -> None:
    result = decide(engine, amount="360000")  # 240,000 × 1.5 exactly
    assert (result["outcome"], codes(result)) == ("refer", ["over_limit"])
    assert result["reasons"][0]["kind"] == "refer"
    assert result["approved_amount"] is None


def test_amount_far_above_the_limit_is_declined(engine: DecisionEngine) -> None:
    result = decide(engine, amount="360000.01")
    assert (result["outcome"], codes(result)) == ("decline", ["over_limit_far"])


def test_amount_equal_to_the_limit_is_approved(engine: DecisionEngine) -> None:
    assert decide(engine, amount="240000")["outcome"] == "approve"


def test_pd_in_the_grey_zone_is_referred(engine: DecisionEngine) -> None:
    result = decide(engine, amount="50000", **{DIAL: GREY})
    assert result["rating"]["pd"] == pytest.approx(PD_GREY, abs=1e-15)
    assert 0.05 <= PD_GREY < 0.15
    assert (result["outcome"], codes(result)) == ("refer", ["pd_grey"])


def test_pd_above_the_decline_line_is_declined(engine: DecisionEngine) -> None:
    result = decide(engine, amount="10000", **{DIAL: HIGH})
    assert PD_HIGH >= 0.15
    assert (result["outcome"], codes(result)) == ("decline", ["pd_high"])


def test_no_limit_is_declined(engine: DecisionEngine) -> None:
    result = decide(engine, amount="10000", revenue_avg_12m=None)
    assert result["limit"]["pre_credit_limit"] == "0.00"
    assert (result["outcome"], codes(result)) == ("decline", ["no_limit"])


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"tax_months_reported_12m": 3}, "thin_tax_history"),
        ({"age_years": 0.5}, "young_business"),
    ],
)
def test_thin_data_is_referred(engine: DecisionEngine, override: dict[str, Any], code: str) -> None:
    result = decide(engine, **override)
    assert (result["outcome"], codes(result)) == ("refer", [code])


def test_a_decline_outranks_refer_reasons_and_keeps_them(engine: DecisionEngine) -> None:
    result = decide(engine, amount="300000", abnormal_active=1, tax_months_reported_12m=2)
    assert result["outcome"] == "decline"
    assert codes(result) == ["abnormal", "thin_tax_history"]


def test_several_refer_reasons(engine: DecisionEngine) -> None:
    result = decide(engine, amount="100000", tax_months_reported_12m=2, **{DIAL: GREY})
    # limit at PD_GREY: 240,000 × (0.15 − PD) / 0.13, rounded down to the 1,000
    assert result["outcome"] == "refer"
    assert codes(result) == ["pd_grey", "thin_tax_history"]


# --- products ----------------------------------------------------------------------------


def test_instant_product_within_its_range_is_approved_instantly(engine: DecisionEngine) -> None:
    request = DecisionRequest(Decimal("150000"), 12, product(instant=True))
    result = engine.decide(clean_features(), request).to_json()
    assert result["outcome"] == "approve"
    assert result["instant"] is True
    assert result["product"] == {"id": 7, "eligible": True, "fails": []}
    assert result["limit"]["offered_limit"] == "200000.00"  # the product's maximum
    assert result["request"] == {"amount": "150000.00", "term_months": 12, "product_id": 7}


@pytest.mark.parametrize(
    ("amount", "term", "overrides", "expected"),
    [
        ("230000", 12, {}, ["product_amount"]),
        ("5000", 12, {}, ["product_amount"]),
        ("50000", 36, {}, ["product_term"]),
        ("50000", 12, {"tiers": ("development",)}, ["product.tier"]),
        ("50000", 12, {"min_credit_points": 700}, ["product.min_credit_points"]),
        ("50000", 12, {"entity_types": ("individual",)}, ["product.entity_type"]),
    ],
)
def test_product_rules_decline(
    engine: DecisionEngine,
    amount: str,
    term: int,
    overrides: dict[str, Any],
    expected: list[str],
) -> None:
    request = DecisionRequest(Decimal(amount), term, product(**overrides))
    result = engine.decide(clean_features(), request).to_json()
    assert result["outcome"] == "decline"
    assert codes(result) == expected
    assert all(r["kind"] == "product" for r in result["reasons"])
    assert result["product"]["eligible"] is False
    assert result["instant"] is False


def test_product_rate_range_clips_the_price(engine: DecisionEngine) -> None:
    request = DecisionRequest(Decimal("50000"), 12, product(rate_min=Decimal("5.50")))
    result = engine.decide(clean_features(), request).to_json()
    assert result["price"]["rate"] == "5.50"
    assert result["price"]["policy_rate_bp"] == 498


def test_product_snapshot_round_trips() -> None:
    terms = product(instant=True, tiers=("growth",), max_pd=0.05)
    request = DecisionRequest(Decimal("1234.5"), 6, terms)
    again = DecisionRequest.from_json(json.loads(json.dumps(request.to_json())))
    assert again.product == terms
    assert again.amount == Decimal("1234.50")


# --- shadow ---------------------------------------------------------------------------


def test_challengers_score_in_the_shadow(policy: Policy) -> None:
    engine = DecisionEngine(policy, dial_spec(1), [dial_spec(5)])
    result = engine.decide(clean_features(**{DIAL: GREY}), DecisionRequest(Decimal("50000")))
    (shadow,) = result.to_json()["shadow"]
    assert shadow["model_id"] == 5
    assert shadow["pd"] == result.to_json()["rating"]["pd"]
    assert shadow["outcome"] == "refer"
    assert engine.model_ids == [1, 5]


# --- the engine refuses what it cannot do -----------------------------------------------


def test_a_policy_without_a_decision_section_cannot_decide(tmp_path: Path) -> None:
    text, _ = read_policy_text()
    path = tmp_path / "policy.yaml"
    path.write_text(text[: text.index("# --- Decision")], encoding="utf-8")
    with pytest.raises(DecisionEngineError, match="no decision section"):
        DecisionEngine(load_policy(path), dial_spec(1))


def test_an_edited_artefact_is_refused(policy: Policy) -> None:
    spec = dial_spec(1)
    edited = spec.artefact.replace('"points": 450.0', '"points": 650.0')
    assert edited != spec.artefact
    with pytest.raises(Exception, match="fingerprint"):
        DecisionEngine(policy, type(spec)(1, "scorecard", edited))


def test_feature_encoding_keeps_infinity_and_drops_nan() -> None:
    raw = {
        "revenue_trend_3m": float("inf"),
        "revenue_trend_6m": float("-inf"),
        "age_years": float("nan"),
    }
    stored = json.loads(json.dumps(encode_features(raw), allow_nan=False))
    assert stored == {
        "revenue_trend_3m": "Infinity",
        "revenue_trend_6m": "-Infinity",
        "age_years": None,
    }
    back = decode_features(stored)
    assert back["revenue_trend_3m"] == float("inf")
    assert back["revenue_trend_6m"] == float("-inf")
    assert back["age_years"] is None


# --- survey hint ------------------------------------------------------------------------


def hint(engine: DecisionEngine, features: dict[str, Any], **figures: Any) -> dict[str, Any]:
    values = {k: (Decimal(v) if isinstance(v, str) else v) for k, v in figures.items()}
    return engine.hint(features, SurveyFigures(**values)).to_json()


def test_hint_on_the_profile_alone(engine: DecisionEngine) -> None:
    result = hint(engine, clean_features())
    assert result["risk"] == "low"
    assert result["suggested_amount"] == "240000.00"
    assert result["rate"] == "4.98"
    assert result["adjustments"] == []
    assert result["repayment_capacity"] is None


def test_reported_revenue_can_only_lower_the_recorded_one(engine: DecisionEngine) -> None:
    higher = hint(engine, clean_features(), revenue="900000")
    assert higher["pre_credit_limit"] == "240000.00"
    lower = hint(engine, clean_features(), revenue="100000")
    assert lower["pre_credit_limit"] == "120000.00"  # 100,000 × 12 × 10 %
    adjustment = lower["adjustments"][0]
    assert adjustment == {
        "feature": "revenue_avg_12m",
        "recorded": 200000.0,
        "used": 100000.0,
        "source": "reported",
    }


def test_reported_revenue_without_a_record_counts_at_half(engine: DecisionEngine) -> None:
    result = hint(
        engine, clean_features(revenue_avg_12m=None, revenue_avg_3m=None), revenue="100000"
    )
    assert result["pre_credit_limit"] == "60000.00"  # 100,000 × 0.5 × 12 × 10 %
    assert {a["source"] for a in result["adjustments"]} == {"reported"}


def test_reported_employees_fill_only_a_missing_headcount(engine: DecisionEngine) -> None:
    kept = hint(engine, clean_features(), employees=50)
    assert kept["adjustments"] == [
        {"feature": "insured_latest", "recorded": 8.0, "used": 8.0, "source": "recorded"}
    ]
    filled = hint(engine, clean_features(insured_latest=0), employees=9)
    assert filled["adjustments"][0]["used"] == 4.0  # 9 × 0.5, rounded down


def test_profit_bounds_the_suggested_amount(engine: DecisionEngine) -> None:
    result = hint(engine, clean_features(), profit="15000")
    assert result["repayment_capacity"] == "180000.00"  # 12 months × 15,000
    assert result["suggested_amount"] == "180000.00"
    worked_out = hint(engine, clean_features(), revenue="200000", costs="185000", rent="5000")
    assert worked_out["repayment_capacity"] == "120000.00"  # (200k − 185k − 5k) × 12
    assert worked_out["suggested_amount"] == "120000.00"
    losing = hint(engine, clean_features(), profit="-3000")
    assert (losing["repayment_capacity"], losing["suggested_amount"]) == ("0.00", "0.00")


@pytest.mark.parametrize(
    ("features", "risk"),
    [
        ({DIAL: GREY}, "medium"),
        ({DIAL: HIGH}, "high"),
        ({"abnormal_active": 1}, "ineligible"),
    ],
)
def test_hint_risk_levels(engine: DecisionEngine, features: dict[str, Any], risk: str) -> None:
    result = hint(engine, clean_features(**features))
    assert result["risk"] == risk
    assert result["risk_zh"]
    assert result["risk_en"]
    if risk == "ineligible":
        assert [r["code"] for r in result["reasons"]] == ["abnormal"]
        assert result["suggested_amount"] == "0.00"


def test_negative_figures_are_refused() -> None:
    with pytest.raises(DecisionEngineError, match="rent must not be negative"):
        SurveyFigures(rent=Decimal("-1"))

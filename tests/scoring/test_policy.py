"""The credit policy: golden numbers, each rule on its own, loading errors, and properties."""

from __future__ import annotations

import math
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.features.registry import feature_names
from puhui.scoring.policy import (
    Policy,
    PolicyError,
    credit_points,
    evaluate_policy,
    load_policy,
    rate_percent,
    tier_label,
)

NAN = float("nan")
DEFAULT_TEXT = resources.files("puhui.scoring").joinpath("data/policy.yaml").read_text("utf-8")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def clean(**overrides: Any) -> dict[str, Any]:
    """One business that passes every knock-out and gets no discount: an established
    enterprise with one prior loan, no honours, carbon grade 3."""
    row: dict[str, Any] = {
        "entity_type": "enterprise",
        "is_cancelled": 0,
        "revenue_avg_12m": 400_000.0,
        "insured_latest": 25,
        "revenue_trend_12m": 0.05,
        "revenue_volatility_12m": 0.3,
        "age_years": 6.0,
        "loan_balance_outstanding": 500_000.0,
        "loans_prior": 2,
        "defaults_prior": 0,
        "dishonest_active": 0,
        "abnormal_active": 0,
        "penalties_serious_12m": 0,
        "taxpayer_grade_latest": "A",
        "honor_tech_sme": 0,
        "honor_high_tech": 0,
        "honor_specialized": 0,
        "carbon_grade_latest": 3,
    }
    row.update(overrides)
    return row


def columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Rows to feature arrays: text features as object arrays (None = missing)."""
    out: dict[str, np.ndarray] = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        text = name in {"entity_type", "taxpayer_grade_latest"}
        out[name] = np.array(values, dtype=object if text else np.float64)
    return out


def run(policy: Policy, pd: float, **overrides: Any) -> dict[str, Any]:
    """The outcome for one business, as plain values."""
    outcome = evaluate_policy(policy, np.array([pd]), columns([clean(**overrides)]))
    return {
        "admitted": bool(outcome.admitted[0]),
        "knockouts": outcome.knockouts_of(0),
        "tier": str(outcome.tier[0]),
        "points": int(outcome.credit_points[0]),
        "limit": int(outcome.pre_credit_limit[0]),
        "rate_bp": int(outcome.rate_bp[0]),
        "discounts": outcome.discounts_of(0),
    }


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert old in DEFAULT_TEXT, old
    return DEFAULT_TEXT.replace(old, new, 1)


# --- the default policy ---------------------------------------------------------------


def test_default_policy_loads(policy: Policy) -> None:
    assert policy.version == "2026.11-2"
    assert len(policy.fingerprint) == 64
    assert policy.knockout_codes == (
        "dishonest",
        "serious_penalty",
        "abnormal",
        "tax_grade_d",
        "loan_default",
        "not_active",
    )
    assert [rule.tier for rule in policy.tiers] == ["development", "growth", "survival"]
    assert policy.tiers[-1].when is None
    assert policy.features_used <= set(feature_names())
    assert {"revenue_avg_12m", "loan_balance_outstanding", "entity_type"} <= policy.features_used
    assert policy.pricing.floor_bp <= policy.pricing.cap_bp
    assert policy.knockout_reason("tax_grade_d", "zh") == "纳税信用等级为D级"
    assert policy.discount_label("first_loan", "en") == "first bank loan"


def test_golden_development_enterprise(policy: Policy) -> None:
    # tier: 400 000 a month ≥ 300 000, trend +5 % ≥ −5 %, volatility 0.3 ≤ 0.5, 6 years.
    # points: 600 + 50/ln2 · ln(99/50) = 649.27 → 649.
    # limit: 400 000 · 12 · 0.20 · 1 (PD ≤ 2 %) − 500 000 · 1.0 = 460 000.
    # rate: 300 + 60 + 0.01 · 0.45 · 10 000 + 50 = 455 bp, no discount.
    assert run(policy, 0.01) == {
        "admitted": True,
        "knockouts": (),
        "tier": "development",
        "points": 649,
        "limit": 460_000,
        "rate_bp": 455,
        "discounts": (),
    }


def test_golden_growth_enterprise_with_every_discount(policy: Policy) -> None:
    # tier: 80 000 a month (< 300 000, 8 staff < 20: not development), ≥ 50 000 and
    # trend +25 %, volatility 0.6 ≤ 1, 2 years: growth.
    # points: 600 + 50/ln2 · ln(19/50) = 530.20 → 530.
    # limit: 80 000 · 12 · 0.15 · (0.15 − 0.05)/(0.15 − 0.02) = 110 769.2 → 110 000.
    # rate: 300 + 60 + 0.05 · 0.45 · 10 000 + 50 = 635; discounts 30 + 20 + 20 + 10 = 80,
    # capped at 60 → 575 bp.
    result = run(
        policy,
        0.05,
        revenue_avg_12m=80_000.0,
        insured_latest=8,
        revenue_trend_12m=0.25,
        revenue_volatility_12m=0.6,
        age_years=2.0,
        loan_balance_outstanding=0.0,
        loans_prior=0,
        honor_tech_sme=1,
        honor_specialized=1,
        carbon_grade_latest=2,
    )
    assert result == {
        "admitted": True,
        "knockouts": (),
        "tier": "growth",
        "points": 530,
        "limit": 110_000,
        "rate_bp": 575,
        "discounts": ("first_loan", "tech", "specialized", "carbon"),
    }


def test_golden_survival_individual(policy: Policy) -> None:
    # tier: 30 000 a month and 1 insured: too small for growth → survival.
    # points: 600 + 50/ln2 · ln(11.5/50) = 493.98 → 494.
    # limit: 30 000 · 12 · 0.10 · (0.15 − 0.08)/0.13 = 19 384.6 → 19 000.
    # rate: 300 + 60 + 0.08 · 0.45 · 10 000 + 50 = 770 bp.
    overrides: dict[str, Any] = {
        "entity_type": "individual",
        "revenue_avg_12m": 30_000.0,
        "insured_latest": 1,
        "revenue_trend_12m": 0.0,
        "revenue_volatility_12m": 0.8,
        "age_years": 4.0,
        "loan_balance_outstanding": 0.0,
        "loans_prior": 1,
    }
    result = run(policy, 0.08, **overrides)
    assert (result["tier"], result["points"], result["limit"], result["rate_bp"]) == (
        "survival",
        494,
        19_000,
        770,
    )
    # 10 000 of debt leaves 9 384.6 → 9 000, under the 10 000 minimum → no limit.
    overrides["loan_balance_outstanding"] = 10_000.0
    assert run(policy, 0.08, **overrides)["limit"] == 0


def test_high_pd_gets_no_limit_and_the_rate_cap(policy: Policy) -> None:
    # PD 30 % > pd_zero 15 %; rate 300 + 60 + 1350 + 50 = 1760 → cap 1200.
    result = run(policy, 0.3)
    assert result["admitted"]
    assert result["limit"] == 0
    assert result["rate_bp"] == 1200


@pytest.mark.parametrize(
    ("entity_type", "cap"),
    [("enterprise", 3_000_000), ("individual", 1_000_000), ("coop", 2_000_000)],
)
def test_caps_by_entity_type(policy: Policy, entity_type: str, cap: int) -> None:
    result = run(
        policy, 0.001, entity_type=entity_type, revenue_avg_12m=1e9, loan_balance_outstanding=0
    )
    assert result["limit"] == cap


def test_unknown_entity_type_takes_the_other_cap(policy: Policy) -> None:
    result = run(policy, 0.001, entity_type="farm_household", revenue_avg_12m=1e9)
    assert result["admitted"]
    assert result["limit"] == policy.limit.caps["other"] == 0


def test_credit_points_scale(policy: Policy) -> None:
    points = credit_points(policy.credit_points, [0.0, 0.001, 1 / 51, 0.5, 1.0])
    # PD 1/51 is odds 50: the base points exactly; PD 0.5 is odds 1: 600 − 50 · log2(50).
    assert points.tolist() == [1000, 816, 600, round(600 - 50 * math.log2(50)), 0]
    assert points.dtype == np.int64


# --- admission --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "override"),
    [
        ("dishonest", {"dishonest_active": 1}),
        ("serious_penalty", {"penalties_serious_12m": 2}),
        ("abnormal", {"abnormal_active": 1}),
        ("tax_grade_d", {"taxpayer_grade_latest": "D"}),
        ("loan_default", {"defaults_prior": 1}),
        ("not_active", {"is_cancelled": 1}),
        ("not_active", {"entity_type": None}),
    ],
)
def test_each_knockout_alone(policy: Policy, code: str, override: dict[str, Any]) -> None:
    result = run(policy, 0.01, **override)
    assert not result["admitted"]
    assert result["knockouts"] == (code,)
    assert result["limit"] == 0
    # The rest is still computed, for the record.
    assert 0 <= result["points"] <= 1000
    assert policy.pricing.floor_bp <= result["rate_bp"] <= policy.pricing.cap_bp


def test_knockout_reasons_in_both_languages(policy: Policy) -> None:
    rows = [clean(), clean(dishonest_active=1, taxpayer_grade_latest="D")]
    outcome = evaluate_policy(policy, np.array([0.01, 0.01]), columns(rows))
    assert outcome.knockout_reasons(0) == ()
    assert outcome.knockout_reasons(1, "zh") == ("主体为失信被执行人", "纳税信用等级为D级")
    assert outcome.knockout_reasons(1, "en") == (
        "listed as a dishonest judgment debtor",
        "taxpayer credit grade D",
    )
    assert outcome.knockouts.shape == (2, len(policy.admission))
    assert outcome.admitted.tolist() == [True, False]


@pytest.mark.parametrize("grade", ["A", "B", "M", "C"])
def test_other_tax_grades_pass(policy: Policy, grade: str) -> None:
    assert run(policy, 0.01, taxpayer_grade_latest=grade)["admitted"]


# --- missing values ---------------------------------------------------------------------


def test_missing_values_never_satisfy_a_comparison(policy: Policy) -> None:
    # Missing risk flags do not knock out; missing tier inputs fall to survival; a missing
    # revenue gives no limit; missing loan history gives no first-loan discount.
    result = run(
        policy,
        0.01,
        dishonest_active=NAN,
        defaults_prior=NAN,
        taxpayer_grade_latest=None,
        revenue_trend_12m=NAN,
        revenue_avg_12m=NAN,
        loans_prior=NAN,
        carbon_grade_latest=NAN,
    )
    assert result["admitted"]
    assert result["tier"] == "survival"
    assert result["limit"] == 0
    assert result["discounts"] == ()
    assert result["rate_bp"] == 455


def test_missing_debt_counts_as_no_debt(policy: Policy) -> None:
    # loan_balance_outstanding is NULL when every prior loan is closed.
    assert run(policy, 0.01, loan_balance_outstanding=NAN)["limit"] == 960_000


def test_every_feature_missing(policy: Policy) -> None:
    row = dict.fromkeys(clean(), NAN) | {"entity_type": None, "taxpayer_grade_latest": NAN}
    outcome = evaluate_policy(policy, np.array([0.02]), columns([row]))
    assert outcome.knockouts_of(0) == ("not_active",)
    assert outcome.tier.tolist() == ["survival"]
    assert outcome.pre_credit_limit.tolist() == [0]
    assert outcome.discounts_of(0) == ()


def test_text_arrays_and_python_lists_are_accepted(policy: Policy) -> None:
    features: dict[str, Any] = {name: [value] for name, value in clean().items()}
    features["entity_type"] = np.array(["coop"])
    outcome = evaluate_policy(policy, [0.01], features)
    assert outcome.pre_credit_limit.tolist() == [460_000]


def test_bad_inputs_are_refused(policy: Policy) -> None:
    features = columns([clean()])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluate_policy(policy, np.array([NAN]), features)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluate_policy(policy, np.array([1.5]), features)
    with pytest.raises(ValueError, match="missing for the policy: abnormal_active"):
        evaluate_policy(
            policy, np.array([0.1]), {k: v for k, v in features.items() if k != "abnormal_active"}
        )
    with pytest.raises(ValueError, match="age_years"):
        evaluate_policy(policy, np.array([0.1]), features | {"age_years": np.array([1.0, 2.0])})


def test_empty_batch(policy: Policy) -> None:
    features = {name: np.array([], dtype=np.float64) for name in policy.features_used}
    outcome = evaluate_policy(policy, np.array([]), features)
    assert len(outcome) == 0
    assert outcome.knockouts.shape == (0, len(policy.admission))


# --- pricing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "override", "bp"),
    [
        ("first_loan", {"loans_prior": 0}, 30),
        ("tech", {"honor_tech_sme": 1}, 20),
        ("tech", {"honor_high_tech": 1}, 20),
        ("specialized", {"honor_specialized": 1}, 20),
        ("carbon", {"carbon_grade_latest": 1}, 10),
        ("carbon", {"carbon_grade_latest": 2}, 10),
    ],
)
def test_each_discount_alone(policy: Policy, code: str, override: dict[str, Any], bp: int) -> None:
    result = run(policy, 0.01, **override)
    assert result["discounts"] == (code,)
    assert result["rate_bp"] == 455 - bp


def test_no_discount_for_carbon_grade_3_to_5(policy: Policy) -> None:
    for grade in (3, 4, 5):
        assert run(policy, 0.01, carbon_grade_latest=grade)["discounts"] == ()


def test_rate_floor(tmp_path: Path) -> None:
    generous = load_policy(
        write(
            tmp_path,
            edited("      bp: 30\n", "      bp: 500\n").replace(
                "max_discount_bp: 60", "max_discount_bp: 500"
            ),
        )
    )
    # 300 + 60 + 0 + 50 − 500 = −90 → floor 300.
    assert run(generous, 0.0, loans_prior=0)["rate_bp"] == 300


def test_rate_percent() -> None:
    assert rate_percent(435) == Decimal("4.35")
    assert rate_percent(np.int64(1200)) == Decimal("12.00")
    assert str(rate_percent(300)) == "3.00"


def test_tier_labels() -> None:
    assert [tier_label(code) for code in ("survival", "growth", "development")] == [
        "生存型",
        "成长型",
        "发展型",
    ]
    assert tier_label("development", "en") == "development"


# --- loading ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('op: ">", value: 0}', 'op: "=>", value: 0}', "admission[0].when.op", "operator"),
        ("feature: dishonest_active", "feature: dishonest", "admission[0].when.feature", "feature"),
        ("floor_bp: 300", "floor_bp: 1300", "pricing.floor_bp", "above"),
        ("individual: 1_000_000", 'individual: "abc"', "limit.caps.individual", '"abc"'),
        ("individual: 1_000_000", "individual: -5", "limit.caps.individual", "≥ 0"),
        ("individual: 1_000_000", "individual: 1_000_500", "limit.caps.individual", "multiple"),
        ("pd_zero: 0.15", "pd_zero: 0.01", "limit.pd_zero", "above limit.pd_full"),
        ("lgd: 0.45", "lgd: 1.5", "pricing.risk_premium.lgd", "[0, 1]"),
        ("max_discount_bp: 60", "max_discounts_bp: 60", "pricing.max_discounts_bp", "unknown key"),
        ("base_odds: 50", "base_odds: 0", "credit_points.base_odds", "> 0"),
        ('version: "2026.11-2"', "version: 2026.11", "version", "quotes"),
        ("minimum: 10_000", "minimum: 1e4", "limit.minimum", "1e6"),
        (
            'op: "==", value: "D"',
            'op: ">", value: "C"',
            "admission[3].when.op",
            "category",
        ),
        (
            'op: "==", value: "D"',
            'op: "==", value: 5',
            "admission[3].when.value",
            "quoted text",
        ),
        ("value: [1, 2]", "value: 2", "pricing.discounts[3].when.value", "list"),
        ("code: abnormal", "code: dishonest", "admission[2].code", "duplicate"),
        ("  - tier: growth ", "  - tier: development ", "tiers[1].tier", "twice"),
        ("  - tier: survival ", "  - tier: special ", "tiers[2].tier", "unknown tier"),
        (
            '{feature: is_cancelled, op: "==", value: 1}',
            "{feature: is_cancelled, op: is_null, value: 1}",
            "admission[5].when.any[0].value",
            "unknown key",
        ),
        ("pd_decline: 0.15 ", "pd_decline: 0.01 ", "decision.pd_decline", "at least"),
        ("pd_refer: 0.05 ", "pd_refer: 1.5 ", "decision.pd_refer", "[0, 1]"),
        ("over_limit_band: 0.5 ", "over_limit_band: -1 ", "decision.over_limit_band", "[0"),
        ("code: young_business", "code: thin_tax_history", "decision.refer[1].code", "duplicate"),
        (
            "feature: tax_months_reported_12m",
            "feature: tax_months",
            "decision.refer[0].when.feature",
            "unknown feature",
        ),
        ("unverified_share: 0.5 ", "unverified_share: 2 ", "decision.hint.unverified_share", "1]"),
        ("capacity_months: 12 ", "capacity_months: 0 ", "decision.hint.capacity_months", "(0"),
    ],
)
def test_loading_errors_name_the_key(
    tmp_path: Path, old: str, new: str, key: str, words: str
) -> None:
    path = write(tmp_path, edited(old, new))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    error = caught.value
    assert error.key == key
    assert str(path) in error.message_en
    assert f"{key}: " in error.message_en
    assert words in error.message_en
    assert key in error.message_zh
    assert "信用政策" in str(error)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULT_TEXT + "\nextra: [unclosed\n")
    with pytest.raises(PolicyError, match=r"line \d+: not valid YAML"):
        load_policy(path)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, edited("  step: 1_000\n", "  step: 1_000\n  step: 500\n"))
    with pytest.raises(PolicyError, match="duplicate key 'step'"):
        load_policy(path)


def test_missing_key_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"limit\.step: missing"):
        load_policy(write(tmp_path, edited("  step: 1_000\n", "")))
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nowhere.yaml")
    with pytest.raises(PolicyError, match="expected a mapping"):
        load_policy(write(tmp_path, "- just a list\n"))


def test_the_last_tier_is_the_unconditional_default(tmp_path: Path) -> None:
    text = edited(
        "  - tier: survival             # 生存型: everyone else\n",
        '  - tier: survival\n    when: {feature: age_years, op: ">=", value: 0}\n',
    )
    with pytest.raises(PolicyError, match=r"tiers\[2\]\.when: the last tier is the default"):
        load_policy(write(tmp_path, text))


# --- decision section -------------------------------------------------------------------


def test_default_decision_section(policy: Policy) -> None:
    rules = policy.decision
    assert rules is not None
    assert (rules.pd_refer, rules.pd_decline, rules.over_limit_band) == (0.05, 0.15, 0.5)
    assert [r.code for r in rules.refer] == ["thin_tax_history", "young_business"]
    assert all(r.zh and r.en for r in rules.refer)
    assert rules.features_used == {"tax_months_reported_12m", "age_years"}
    assert (rules.hint.unverified_share, rules.hint.capacity_months) == (0.5, 12.0)


def test_decision_section_is_optional_and_fingerprinted(tmp_path: Path, policy: Policy) -> None:
    head = DEFAULT_TEXT[: DEFAULT_TEXT.index("# --- Decision")]
    without = load_policy(write(tmp_path, head))
    assert without.decision is None
    assert without.knockout_codes == policy.knockout_codes
    assert without.fingerprint != policy.fingerprint
    changed = load_policy(write(tmp_path, edited("over_limit_band: 0.5 ", "over_limit_band: 0.4 ")))
    assert changed.fingerprint != policy.fingerprint


def test_policy_text_round_trip(policy: Policy) -> None:
    from puhui.scoring.policy import parse_policy_text, read_policy_text

    text, source = read_policy_text()
    assert text == DEFAULT_TEXT
    assert source.endswith("policy.yaml")
    assert parse_policy_text(text, "stored").fingerprint == policy.fingerprint


# --- fingerprint ------------------------------------------------------------------------


def test_fingerprint_ignores_comments_and_layout(tmp_path: Path, policy: Policy) -> None:
    lines = [line.split(" #")[0].rstrip() for line in DEFAULT_TEXT.splitlines()]
    bare = "\n".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))
    stripped = load_policy(write(tmp_path, "# a new comment\n\n" + bare + "\n"))
    assert stripped.fingerprint == policy.fingerprint
    assert stripped.features_used == policy.features_used


def test_fingerprint_changes_with_any_value(tmp_path: Path, policy: Policy) -> None:
    changed = load_policy(write(tmp_path, edited("cost_bp: 60", "cost_bp: 61")))
    assert changed.fingerprint != policy.fingerprint
    assert changed.version == policy.version  # the operator forgot to raise it: still told apart


def test_outcome_records_the_policy(policy: Policy) -> None:
    outcome = evaluate_policy(policy, np.array([0.01]), columns([clean()]))
    assert outcome.policy_version == "2026.11-2"
    assert outcome.policy_fingerprint == policy.fingerprint


# --- properties -------------------------------------------------------------------------

NUMERIC = [name for name in clean() if name not in {"entity_type", "taxpayer_grade_latest"}]

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, 2.0, -1.0, NAN, 1e300, -1e300]),
    st.floats(min_value=-1e7, max_value=1e7),
)
entity_types = st.sampled_from(["enterprise", "individual", "coop", "other", None])
grades = st.sampled_from(["A", "B", "M", "C", "D", None, NAN])
# Anything at all: NaN, ±inf, huge, negative, zero.
wild_rows = st.fixed_dictionaries(
    {
        **dict.fromkeys(NUMERIC, numbers),
        "entity_type": entity_types,
        "taxpayer_grade_latest": grades,
    }
)
# Admitted businesses with sizeable revenue, so that limits are often above zero.
plausible_rows = st.fixed_dictionaries(
    {
        **dict.fromkeys(NUMERIC, st.sampled_from([0.0, NAN])),
        "revenue_avg_12m": st.one_of(st.floats(0, 1e8), st.just(NAN)),
        "loan_balance_outstanding": st.one_of(st.floats(0, 1e7), st.just(NAN)),
        "insured_latest": st.integers(0, 100).map(float),
        "revenue_trend_12m": st.floats(-1, 2),
        "revenue_volatility_12m": st.floats(0, 2),
        "age_years": st.floats(0, 30),
        "loans_prior": st.integers(0, 5).map(float),
        "carbon_grade_latest": st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, NAN]),
        "entity_type": entity_types,
        "taxpayer_grade_latest": st.sampled_from(["A", "B", "M", "C", None]),
    }
)
rows = st.one_of(wild_rows, plausible_rows)
probabilities = st.floats(min_value=0.0, max_value=1.0)


@settings(max_examples=200, deadline=None)
@given(batch=st.lists(st.tuples(probabilities, rows), min_size=1, max_size=25))
def test_caps_and_floors_hold_for_every_entity(batch: list[tuple[float, dict[str, Any]]]) -> None:
    policy = load_policy()
    pds = np.array([pd for pd, _ in batch])
    outcome = evaluate_policy(policy, pds, columns([row for _, row in batch]))
    caps = np.array(
        [
            policy.limit.caps.get(str(row["entity_type"]), policy.limit.caps["other"])
            for _, row in batch
        ]
    )
    limits = outcome.pre_credit_limit
    assert limits.dtype == np.int64
    assert np.all(limits >= 0)
    assert np.all(limits <= caps)
    assert np.all(limits % policy.limit.step == 0)
    assert np.all((limits == 0) | (limits >= policy.limit.minimum))
    assert np.all(limits[~outcome.admitted] == 0)
    assert np.all(outcome.rate_bp >= policy.pricing.floor_bp)
    assert np.all(outcome.rate_bp <= policy.pricing.cap_bp)
    assert np.all((outcome.credit_points >= 0) & (outcome.credit_points <= 1000))
    assert set(outcome.tier.tolist()) <= {"survival", "growth", "development"}
    assert np.array_equal(outcome.admitted, ~outcome.knockouts.any(axis=1))
    # The batch gives each row what it would get alone.
    for i, (pd, row) in enumerate(batch[:3]):
        alone = evaluate_policy(policy, np.array([pd]), columns([row]))
        assert alone.pre_credit_limit[0] == limits[i]
        assert alone.rate_bp[0] == outcome.rate_bp[i]
        assert alone.tier[0] == outcome.tier[i]


@settings(max_examples=100, deadline=None)
@given(row=rows, pds=st.lists(probabilities, min_size=2, max_size=20))
def test_more_risk_never_earns_more(row: dict[str, Any], pds: list[float]) -> None:
    policy = load_policy()
    ordered = np.sort(np.array(pds))
    outcome = evaluate_policy(policy, ordered, columns([row] * len(pds)))
    assert np.all(np.diff(outcome.credit_points) <= 0)
    assert np.all(np.diff(outcome.pre_credit_limit) <= 0)
    assert np.all(np.diff(outcome.rate_bp) >= 0)

"""The matching core: each rule failing alone, limits, rates, fit and ranking; a property."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.market import matching
from puhui.market.matching import RULE_BITS, RULES, Businesses, Products, match

CODES = ("specialized", "high_tech")


def business(**overrides: Any) -> dict[str, Any]:
    """One business that passes every rule of :func:`product`."""
    values: dict[str, Any] = {
        "uscc": "91330000000000001X",
        "entity_type": "enterprise",
        "industry_division": "13",
        "district": "330102",
        "tier": "growth",
        "score": 650.0,
        "credit_points": 650.0,
        "pd": 0.03,
        "age_years": 5.0,
        "dishonest_active": False,
        "abnormal_active": False,
        "lists": (True, False),
        "pre_credit_limit": 500_000.0,
        "rate": 5.5,
    }
    values.update(overrides)
    return values


def businesses(*rows: dict[str, Any]) -> Businesses:
    def strings(name: str) -> np.ndarray:
        return np.asarray([r[name] for r in rows], dtype=str)

    def floats(name: str) -> np.ndarray:
        return np.asarray([r[name] for r in rows], dtype=np.float64)

    return Businesses(
        uscc=strings("uscc"),
        entity_type=strings("entity_type"),
        industry_division=strings("industry_division"),
        district=strings("district"),
        tier=strings("tier"),
        score=floats("score"),
        credit_points=floats("credit_points"),
        pd=floats("pd"),
        age_years=floats("age_years"),
        dishonest_active=np.asarray([r["dishonest_active"] for r in rows], dtype=bool),
        abnormal_active=np.asarray([r["abnormal_active"] for r in rows], dtype=bool),
        policy_lists=np.asarray([r["lists"] for r in rows], dtype=bool).reshape(len(rows), 2),
        policy_list_codes=CODES,
        pre_credit_limit=floats("pre_credit_limit"),
        rate=floats("rate"),
    )


def product(**overrides: Any) -> dict[str, Any]:
    """A product that sets every rule."""
    values: dict[str, Any] = {
        "amount_min": 100_000.0,
        "amount_max": 300_000.0,
        "rate_min": 4.0,
        "rate_max": 8.0,
        "popularity": 10,
        "min_score": 600.0,
        "min_credit_points": 600,
        "max_pd": 0.05,
        "min_age_years": 2.0,
        "exclude_dishonest": True,
        "exclude_abnormal": True,
        "entity_types": ["enterprise", "coop"],
        "industries": ["13", "14"],
        "districts": ["330102"],
        "tiers": ["growth", "development"],
        "policy_lists": ["specialized"],
    }
    values.update(overrides)
    return values


#: For each rule: a change to the business that makes it (and only it) fail.
FAILING_ALONE: dict[str, dict[str, Any]] = {
    "entity_type": {"entity_type": "individual"},
    "industry": {"industry_division": "52"},
    "district": {"district": "330203"},
    "tier": {"tier": "survival"},
    "policy_list": {"lists": (False, True)},
    "min_score": {"score": 599.9},
    "min_credit_points": {"credit_points": 599.0},
    "max_pd": {"pd": 0.0501},
    "min_age": {"age_years": 1.99},
    "dishonest": {"dishonest_active": True},
    "abnormal": {"abnormal_active": True},
    "limit": {"pre_credit_limit": 99_999.0},
}


def test_every_rule_has_a_golden_case_and_texts() -> None:
    assert set(FAILING_ALONE) == {rule.code for rule in RULES}
    assert len(RULE_BITS) == len(RULES) <= 16  # uint16 flags
    for rule in RULES:
        assert rule.zh
        assert rule.en
        assert rule.text("zh_CN") == rule.zh
        assert rule.text("en") == rule.en


def test_a_business_passing_every_rule_is_eligible() -> None:
    found = match(Products.of([product()]), businesses(business()))
    assert found.eligible.tolist() == [[True]]
    assert found.failures.tolist() == [[0]]
    assert found.limit.tolist() == [[300_000.0]]  # capped at amount_max
    assert found.rate.tolist() == [[5.5]]


@pytest.mark.parametrize("code", list(FAILING_ALONE))
def test_each_rule_failing_alone(code: str) -> None:
    found = match(Products.of([product()]), businesses(business(**FAILING_ALONE[code])))
    assert not found.eligible[0, 0]
    assert matching.failed_codes(int(found.failures[0, 0])) == [code]
    assert found.failures[0, 0] == RULE_BITS[code]


@pytest.mark.parametrize("code", list(FAILING_ALONE))
def test_an_unset_rule_never_fails(code: str) -> None:
    unsets: dict[str, dict[str, Any]] = {
        "entity_type": {"entity_types": []},
        "industry": {"industries": []},
        "district": {"districts": []},
        "tier": {"tiers": []},
        "policy_list": {"policy_lists": []},
        "min_score": {"min_score": None},
        "min_credit_points": {"min_credit_points": None},
        "max_pd": {"max_pd": None},
        "min_age": {"min_age_years": None},
        "dishonest": {"exclude_dishonest": False},
        "abnormal": {"exclude_abnormal": False},
        "limit": {"amount_min": 0.0},
    }
    found = match(
        Products.of([product(**unsets[code])]), businesses(business(**FAILING_ALONE[code]))
    )
    assert found.eligible[0, 0], matching.failed_codes(int(found.failures[0, 0]))


def test_missing_values_fail_the_rules_that_need_them() -> None:
    missing = business(
        score=np.nan, pd=np.nan, age_years=np.nan, entity_type="", tier="", pre_credit_limit=np.nan
    )
    found = match(Products.of([product(), product(**EVERYTHING_UNSET)]), businesses(missing))
    assert matching.failed_codes(int(found.failures[0, 0])) == [
        "entity_type",
        "tier",
        "min_score",
        "max_pd",
        "min_age",
        "limit",
    ]
    assert matching.failed_codes(int(found.failures[0, 1])) == ["limit"]  # no limit, no offer
    assert found.rate[0, 0] == 5.5


EVERYTHING_UNSET: dict[str, Any] = {
    "amount_min": 0.0,
    "min_score": None,
    "min_credit_points": None,
    "max_pd": None,
    "min_age_years": None,
    "exclude_dishonest": False,
    "exclude_abnormal": False,
    "entity_types": [],
    "industries": [],
    "districts": [],
    "tiers": [],
    "policy_lists": [],
}


def test_several_failures_are_all_reported() -> None:
    found = match(
        Products.of([product()]),
        businesses(business(tier="survival", dishonest_active=True, score=100.0)),
    )
    assert matching.failed_codes(int(found.failures[0, 0])) == ["tier", "min_score", "dishonest"]
    assert not matching.near_miss(found.failures)[0, 0]


def test_limits_are_capped_and_floored() -> None:
    rows = businesses(
        business(pre_credit_limit=1_000_000.0),
        business(pre_credit_limit=150_000.0),
        business(pre_credit_limit=100_000.0),
        business(pre_credit_limit=99_000.0),
        business(pre_credit_limit=0.0),
    )
    found = match(Products.of([product()]), rows)
    assert found.limit[:, 0].tolist() == [300_000.0, 150_000.0, 100_000.0, 0.0, 0.0]
    assert found.eligible[:, 0].tolist() == [True, True, True, False, False]


def test_rates_are_clipped_to_the_product() -> None:
    rows = businesses(
        business(rate=3.2), business(rate=6.1), business(rate=12.0), business(rate=np.nan)
    )
    found = match(Products.of([product()]), rows)
    assert found.rate[:, 0].tolist() == [4.0, 6.1, 8.0, 8.0]


def test_fit_follows_the_documented_formula() -> None:
    products = Products.of([product(popularity=0), product(popularity=99, max_pd=None)])
    found = match(products, businesses(business(pd=0.03, rate=5.5)))
    price = (15 - 5.5) / 12
    assert found.fit[0, 0] == pytest.approx(0.5 * (1 - 0.03 / 0.05) + 0.3 * price + 0.0)
    assert found.fit[0, 1] == pytest.approx(0.5 * (1 - 0.03 / 0.15) + 0.3 * price + 0.2)


def test_ranking_puts_eligible_first_then_fit_then_id() -> None:
    eligible = np.array([False, True, True, True])
    fit = np.array([0.99, 0.5, 0.7, 0.5])
    ids = np.array([1, 9, 3, 2])
    assert matching.rank(eligible, fit, ids).tolist() == [2, 3, 1, 0]


def test_ranking_a_business_products_end_to_end() -> None:
    products = Products.of(
        [
            product(rate_min=7.0, rate_max=9.0, popularity=0),  # dear
            product(rate_min=3.5, rate_max=4.0, popularity=50),  # cheap and popular
            product(min_score=900.0),  # not eligible
        ]
    )
    found = match(products, businesses(business()))
    order = matching.rank(found.eligible[0], found.fit[0], np.array([10, 11, 12]))
    assert order.tolist() == [1, 0, 2]


def test_near_misses_fail_one_non_targeting_rule() -> None:
    flags = np.array(
        [0, RULE_BITS["min_score"], RULE_BITS["district"], RULE_BITS["tier"] | RULE_BITS["limit"]],
        dtype=np.uint16,
    )
    assert matching.near_miss(flags).tolist() == [False, True, False, False]


def test_policy_lists_are_any_of_and_unknown_lists_match_no_one() -> None:
    rows = businesses(business(lists=(False, True)), business(lists=(False, False)))
    products = Products.of(
        [product(policy_lists=["specialized", "high_tech"]), product(policy_lists=["nobody"])]
    )
    found = match(products, rows)
    assert found.eligible.tolist() == [[True, False], [False, False]]


def test_chunks_give_the_same_answer_as_one_pass() -> None:
    rng = np.random.default_rng(7)
    rows = [
        business(
            uscc=f"U{i}",
            score=float(rng.uniform(400, 800)),
            pd=float(rng.uniform(0, 0.2)),
            pre_credit_limit=float(rng.integers(0, 60)) * 10_000,
            tier=str(rng.choice(["survival", "growth", "development"])),
        )
        for i in range(257)
    ]
    region = businesses(*rows)
    products = Products.of([product(), product(**EVERYTHING_UNSET), product(tiers=["survival"])])
    whole = match(products, region)
    parts = list(matching.match_chunks(products, region, rows=50))
    assert [start for start, _ in parts] == [0, 50, 100, 150, 200, 250]
    assert np.array_equal(np.vstack([m.failures for _, m in parts]), whole.failures)
    assert np.array_equal(np.vstack([m.limit for _, m in parts]), whole.limit)
    assert np.allclose(np.vstack([m.fit for _, m in parts]), whole.fit)


@st.composite
def regions(draw: st.DrawFn) -> tuple[Products, Businesses]:
    n = draw(st.integers(1, 12))
    p = draw(st.integers(1, 5))
    maybe = st.one_of(st.none(), st.floats(0, 1000))
    product_rows = []
    for _ in range(p):
        low = draw(st.integers(0, 500)) * 1000.0
        high = low + draw(st.integers(0, 500)) * 1000.0
        rate_low = draw(st.integers(300, 1000)) / 100
        product_rows.append(
            product(
                amount_min=low,
                amount_max=high,
                rate_min=rate_low,
                rate_max=rate_low + draw(st.integers(0, 500)) / 100,
                popularity=draw(st.integers(0, 1000)),
                min_score=draw(maybe),
                min_credit_points=draw(maybe),
                max_pd=draw(st.one_of(st.none(), st.floats(0.001, 1))),
                min_age_years=draw(st.one_of(st.none(), st.floats(0, 10))),
                exclude_dishonest=draw(st.booleans()),
                exclude_abnormal=draw(st.booleans()),
                entity_types=draw(st.lists(st.sampled_from(["enterprise", "individual"]))),
                tiers=draw(st.lists(st.sampled_from(["survival", "growth"]))),
                industries=[],
                districts=[],
                policy_lists=draw(st.lists(st.sampled_from(CODES))),
            )
        )
    business_rows = [
        business(
            entity_type=draw(st.sampled_from(["enterprise", "individual", ""])),
            tier=draw(st.sampled_from(["survival", "growth", "development"])),
            score=draw(st.one_of(st.just(np.nan), st.floats(0, 1000))),
            credit_points=draw(st.floats(0, 1000)),
            pd=draw(st.floats(0, 1)),
            age_years=draw(st.floats(0, 20)),
            dishonest_active=draw(st.booleans()),
            abnormal_active=draw(st.booleans()),
            lists=(draw(st.booleans()), draw(st.booleans())),
            pre_credit_limit=draw(st.integers(0, 1200)) * 1000.0,
            rate=draw(st.floats(2, 20)),
        )
        for _ in range(n)
    ]
    return Products.of(product_rows), businesses(*business_rows)


def _passes_by_hand(p: dict[str, Any], b: dict[str, Any]) -> bool:
    """Every rule, written out one pair at a time, as a reader would check it."""
    limit = min(b["pre_credit_limit"], p["amount_max"])
    checks = [
        not p["entity_types"] or b["entity_type"] in p["entity_types"],
        not p["tiers"] or b["tier"] in p["tiers"],
        not p["policy_lists"]
        or any(
            on and code in p["policy_lists"] for code, on in zip(CODES, b["lists"], strict=True)
        ),
        p["min_score"] is None or b["score"] >= p["min_score"],
        p["min_credit_points"] is None or b["credit_points"] >= p["min_credit_points"],
        p["max_pd"] is None or b["pd"] <= p["max_pd"],
        p["min_age_years"] is None or b["age_years"] >= p["min_age_years"],
        not (p["exclude_dishonest"] and b["dishonest_active"]),
        not (p["exclude_abnormal"] and b["abnormal_active"]),
        b["pre_credit_limit"] > 0 and b["pre_credit_limit"] >= p["amount_min"] and limit > 0,
    ]
    return all(checks)


@settings(max_examples=150, deadline=None)
@given(regions())
def test_eligible_means_every_rule_passes_and_limits_stay_in_range(
    region: tuple[Products, Businesses],
) -> None:
    products, rows = region
    found = match(products, rows)
    assert found.failures.shape == (len(rows), len(products))
    assert np.array_equal(found.eligible, found.failures == 0)
    low, high = products.amount_min[None, :], products.amount_max[None, :]
    inside = (found.limit >= low) & (found.limit <= high) & (found.limit > 0)
    assert np.all(inside | (found.limit == 0))
    assert np.all((found.rate >= products.rate_min) & (found.rate <= products.rate_max))
    assert np.all((found.fit >= 0) & (found.fit <= 1))
    # Each failing bit is a rule that fails on its own terms: recheck pair by pair.
    for i in range(len(rows)):
        for j in range(len(products)):
            p = {
                "amount_min": products.amount_min[j],
                "amount_max": products.amount_max[j],
                "entity_types": products.entity_types[j],
                "tiers": products.tiers[j],
                "policy_lists": products.policy_lists[j],
                "min_score": None if np.isnan(products.min_score[j]) else products.min_score[j],
                "min_credit_points": None
                if np.isnan(products.min_credit_points[j])
                else products.min_credit_points[j],
                "max_pd": None if np.isnan(products.max_pd[j]) else products.max_pd[j],
                "min_age_years": None
                if np.isnan(products.min_age_years[j])
                else products.min_age_years[j],
                "exclude_dishonest": bool(products.exclude_dishonest[j]),
                "exclude_abnormal": bool(products.exclude_abnormal[j]),
            }
            b = {
                "entity_type": str(rows.entity_type[i]),
                "tier": str(rows.tier[i]),
                "lists": tuple(bool(v) for v in rows.policy_lists[i]),
                "score": rows.score[i],
                "credit_points": rows.credit_points[i],
                "pd": rows.pd[i],
                "age_years": rows.age_years[i],
                "dishonest_active": bool(rows.dishonest_active[i]),
                "abnormal_active": bool(rows.abnormal_active[i]),
                "pre_credit_limit": rows.pre_credit_limit[i],
            }
            assert bool(found.eligible[i, j]) == _passes_by_hand(p, b), (p, b)


def test_one_product_or_one_business_alone_matches_as_in_the_whole() -> None:
    """The two on-demand directions are slices of the full pass: coded categories, a
    subset of products (fit keeps the market's popularity scale) and a subset of rows."""
    rng = np.random.default_rng(11)
    rows = [
        business(
            uscc=f"U{i:03d}",
            tier=str(rng.choice(["survival", "growth", "development", ""])),
            district=str(rng.choice(["330102", "330203", ""])),
            score=float(rng.uniform(500, 750)),
            pre_credit_limit=float(rng.integers(0, 60)) * 10_000,
        )
        for i in range(120)
    ]
    region = businesses(*rows)
    products = Products.of(
        [product(popularity=5), product(**EVERYTHING_UNSET, popularity=90), product(tiers=[])]
    )
    whole = match(products, region)

    coded = matching.Businesses(
        **{
            **{f: getattr(region, f) for f in region.__dataclass_fields__},
            "tier": matching.Coded.of(region.tier),
            "district": matching.Coded.of(region.district),
        }
    )
    np.testing.assert_array_equal(match(products, coded).failures, whole.failures)

    alone = match(products.take([1]), region)
    np.testing.assert_array_equal(alone.failures[:, 0], whole.failures[:, 1])
    np.testing.assert_allclose(alone.fit[:, 0], whole.fit[:, 1])
    failures, limit = matching.failures_and_limits(products.take([2]), coded)
    np.testing.assert_array_equal(failures[:, 0], whole.failures[:, 2])
    np.testing.assert_array_equal(limit[:, 0], whole.limit[:, 2])

    some = np.asarray([7, 3, 99])
    one_by_one = match(products, coded.take(some))
    np.testing.assert_array_equal(one_by_one.failures, whole.failures[some])
    np.testing.assert_allclose(one_by_one.fit, whole.fit[some])

    eligible, near = matching.count_matches(products, coded, rows=17)
    assert eligible.tolist() == whole.eligible.sum(axis=0).tolist()
    assert near.tolist() == matching.near_miss(whole.failures).sum(axis=0).tolist()

"""Matching businesses and products, both ways, in one vectorised pass. Pure numpy, no I/O.

Given ``P`` products (their eligibility rules as arrays, :class:`Products`) and ``N``
businesses (their scores and features as arrays, :class:`Businesses`), :func:`match`
computes the ``N × P`` matrices

* ``failures`` — ``uint16`` bit flags: bit ``k`` set when rule ``RULES[k]`` fails for the
  pair; ``eligible = failures == 0`` (every rule passes);
* ``limit`` — the amount offered (yuan): ``min(pre_credit_limit, amount_max)``, or 0 when the
  business's pre-credit limit is below the product's ``amount_min`` (or missing);
* ``rate`` — the rate offered (annual %): the business's risk price clipped to the product's
  ``[rate_min, rate_max]`` (``rate_max`` when the business has no price);
* ``fit`` — how well the product suits the business, in 0..1, for ranking (see :func:`fit`).

Money and rates are only *selected* (minimum, clip), never computed, so the offered limit
and rate are exactly one of the inputs: the caller turns them into decimals to the fen.

The rules (``RULES``, in bit order) and when they pass:

======================  ===================================================================
``entity_type``         product targets no entity type, or the business's is one of them
``industry``            no industry division targeted, or the business's division is one
``district``            no district targeted, or the business's county-level code is one
``tier``                no tier targeted, or the business's tier is one
``policy_list``         no policy list targeted, or the business is on at least one of them
``min_score``           no minimum, or score ≥ minimum
``min_credit_points``   no minimum, or credit points ≥ minimum
``max_pd``              no maximum, or PD ≤ maximum
``min_age``             no minimum, or years in business ≥ minimum
``dishonest``           the product does not exclude, or the business is not a dishonest
                        judgment debtor on the date
``abnormal``            the product does not exclude, or the business is not on the abnormal
                        operation list on the date
``limit``               the offered limit is above 0 (the business has a pre-credit limit of
                        at least ``amount_min``; a business the policy refused has none)
======================  ===================================================================

A missing value (NaN number, empty category) fails any rule that needs it and passes a
rule the product does not set. Large regions are matched chunk by chunk of businesses
(:func:`match_chunks`), so memory stays ``O(chunk × P)``; nothing loops over rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Rule:
    code: str
    zh: str
    en: str

    def text(self, locale: str) -> str:
        return self.zh if locale == "zh_CN" else self.en


#: Every rule, in bit order (bit k of a failure flag is ``RULES[k]``).
RULES: tuple[Rule, ...] = (
    Rule("entity_type", "主体类型不在产品支持范围内", "entity type not served by the product"),
    Rule("industry", "所属行业不在产品支持范围内", "industry not served by the product"),
    Rule("district", "所在县区不在产品支持范围内", "district not served by the product"),
    Rule("tier", "主体层级不在产品支持范围内", "tier not served by the product"),
    Rule("policy_list", "未列入产品要求的政策名单", "not on a policy list the product requires"),
    Rule("min_score", "评分低于产品要求", "score below the product's minimum"),
    Rule("min_credit_points", "信用分低于产品要求", "credit points below the product's minimum"),
    Rule("max_pd", "违约概率高于产品上限", "probability of default above the product's maximum"),
    Rule("min_age", "经营年限不足", "too few years in business"),
    Rule("dishonest", "主体为失信被执行人", "listed as a dishonest judgment debtor"),
    Rule("abnormal", "列入经营异常名录", "on the abnormal-operation list"),
    Rule("limit", "预授信额度不足产品起贷金额", "pre-credit limit below the product's minimum"),
)
RULE_BITS: dict[str, int] = {rule.code: 1 << k for k, rule in enumerate(RULES)}
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
#: Rules about whom a product is for, not how good a borrower is: a business failing one of
#: these is not a near miss (see :func:`near_miss`).
TARGETING: frozenset[str] = frozenset({"entity_type", "industry", "district"})

#: Fit weights: likely approval, price, popularity (they sum to 1).
W_APPROVAL, W_PRICE, W_POPULARITY = 0.5, 0.3, 0.2
#: PD at which likely approval is 0 when the product sets no ``max_pd`` (the policy's
#: ``pd_zero``: no pre-credit limit above it).
DEFAULT_PD_CAP = 0.15
#: The price scale (annual %): a rate at the floor scores 1, at the ceiling 0.
RATE_FLOOR, RATE_CEILING = 3.0, 15.0
#: Cells (businesses × products) matched at once by :func:`match_chunks`.
CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class Products:
    """``P`` products' rules. Number arrays have shape ``(P,)``; NaN in an optional
    threshold means the product does not set it. Each target list is a sequence of ``P``
    sequences of codes; an empty one means any."""

    amount_min: np.ndarray
    amount_max: np.ndarray
    rate_min: np.ndarray
    rate_max: np.ndarray
    popularity: np.ndarray
    min_score: np.ndarray
    min_credit_points: np.ndarray
    max_pd: np.ndarray
    min_age_years: np.ndarray
    exclude_dishonest: np.ndarray
    exclude_abnormal: np.ndarray
    entity_types: Sequence[Sequence[str]]
    industries: Sequence[Sequence[str]]
    districts: Sequence[Sequence[str]]
    tiers: Sequence[Sequence[str]]
    policy_lists: Sequence[Sequence[str]]

    def __len__(self) -> int:
        return len(self.amount_min)

    @classmethod
    def of(cls, rules: Sequence[dict[str, Any]]) -> Products:
        """From one dict of rules per product (the :class:`Products` field names; ``None``
        for an unset threshold)."""

        def numbers(name: str, dtype: Any = np.float64) -> np.ndarray:
            values = [np.nan if r.get(name) is None else r[name] for r in rules]
            return np.asarray(values, dtype=np.float64).astype(dtype)

        def flags(name: str) -> np.ndarray:
            return np.asarray([bool(r.get(name, True)) for r in rules], dtype=bool)

        def lists(name: str) -> list[list[str]]:
            return [[str(v) for v in (r.get(name) or [])] for r in rules]

        return cls(
            amount_min=numbers("amount_min"),
            amount_max=numbers("amount_max"),
            rate_min=numbers("rate_min"),
            rate_max=numbers("rate_max"),
            popularity=np.nan_to_num(numbers("popularity")),
            min_score=numbers("min_score"),
            min_credit_points=numbers("min_credit_points"),
            max_pd=numbers("max_pd"),
            min_age_years=numbers("min_age_years"),
            exclude_dishonest=flags("exclude_dishonest"),
            exclude_abnormal=flags("exclude_abnormal"),
            entity_types=lists("entity_types"),
            industries=lists("industries"),
            districts=lists("districts"),
            tiers=lists("tiers"),
            policy_lists=lists("policy_lists"),
        )


@dataclass(frozen=True)
class Businesses:
    """``N`` businesses as of one date. Categories are ``str`` arrays (``""`` when missing);
    numbers are float arrays (NaN when missing); flags are bool arrays. ``policy_lists`` is
    an ``(N, L)`` bool matrix whose columns are ``policy_list_codes``. ``pre_credit_limit``
    is in yuan, ``rate`` in annual %."""

    uscc: np.ndarray
    entity_type: np.ndarray
    industry_division: np.ndarray
    district: np.ndarray
    tier: np.ndarray
    score: np.ndarray
    credit_points: np.ndarray
    pd: np.ndarray
    age_years: np.ndarray
    dishonest_active: np.ndarray
    abnormal_active: np.ndarray
    policy_lists: np.ndarray
    policy_list_codes: tuple[str, ...]
    pre_credit_limit: np.ndarray
    rate: np.ndarray

    def __len__(self) -> int:
        return len(self.uscc)

    def rows(self, start: int, stop: int) -> Businesses:
        """Businesses ``start:stop`` (views, no copy)."""
        values = {
            f.name: getattr(self, f.name)
            if f.name == "policy_list_codes"
            else getattr(self, f.name)[start:stop]
            for f in fields(self)
        }
        return Businesses(**values)


@dataclass(frozen=True)
class Matches:
    """The ``(N, P)`` result of :func:`match` (see the module's docstring)."""

    failures: np.ndarray
    limit: np.ndarray
    rate: np.ndarray
    fit: np.ndarray

    @property
    def eligible(self) -> np.ndarray:
        result: np.ndarray = self.failures == 0
        return result


def targets(values: np.ndarray, wanted: Sequence[Sequence[str]]) -> np.ndarray:
    """``(N, P)`` bool: business ``i``'s category is among product ``j``'s ``wanted`` codes,
    or product ``j`` wants any (empty). A missing category (``""``) matches only "any"."""
    values = np.asarray(values, dtype=str)
    vocabulary = np.unique(
        np.concatenate([values, np.asarray([c for w in wanted for c in w], dtype=str), [""]])
    )
    table = np.zeros((len(vocabulary), len(wanted)), dtype=bool)
    for j, codes in enumerate(wanted):  # one step per product, never per business
        if codes:
            table[np.searchsorted(vocabulary, np.asarray(codes, dtype=str)), j] = True
            table[np.searchsorted(vocabulary, ""), j] = False
        else:
            table[:, j] = True
    result: np.ndarray = table[np.searchsorted(vocabulary, values)]
    return result


def on_lists(
    membership: np.ndarray, codes: Sequence[str], wanted: Sequence[Sequence[str]]
) -> np.ndarray:
    """``(N, P)`` bool: the business is on at least one of product ``j``'s lists (``any``
    semantics), or product ``j`` requires none. A list code no business column names is on
    no one's list."""
    index = {code: k for k, code in enumerate(codes)}
    required = np.zeros((len(codes), len(wanted)), dtype=np.int32)
    for j, names in enumerate(wanted):
        for name in names:
            if name in index:
                required[index[name], j] = 1
    hits = np.asarray(membership, dtype=np.int32).reshape(-1, len(codes)) @ required > 0
    requires_none = np.asarray([not names for names in wanted], dtype=bool)
    result: np.ndarray = hits | requires_none[None, :]
    return result


def _at_least(values: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    unset = np.isnan(minimum)[None, :]
    with np.errstate(invalid="ignore"):
        result: np.ndarray = unset | (values[:, None] >= minimum[None, :])
    return result


def _at_most(values: np.ndarray, maximum: np.ndarray) -> np.ndarray:
    unset = np.isnan(maximum)[None, :]
    with np.errstate(invalid="ignore"):
        result: np.ndarray = unset | (values[:, None] <= maximum[None, :])
    return result


def offered_limit(
    pre_credit_limit: np.ndarray, amount_min: np.ndarray, amount_max: np.ndarray
) -> np.ndarray:
    """``(N, P)`` yuan: ``min(pre_credit_limit, amount_max)``, 0 when the pre-credit limit is
    missing or below ``amount_min``. The result is within ``[amount_min, amount_max]`` or 0."""
    limit = np.nan_to_num(np.asarray(pre_credit_limit, dtype=np.float64), nan=0.0)[:, None]
    capped = np.minimum(limit, amount_max[None, :])
    result: np.ndarray = np.where(
        (limit >= amount_min[None, :]) & (limit > 0) & (capped >= amount_min[None, :]),
        capped,
        0.0,
    )
    return result


def offered_rate(rate: np.ndarray, rate_min: np.ndarray, rate_max: np.ndarray) -> np.ndarray:
    """``(N, P)`` annual %: the business's risk price clipped to the product's range
    (``rate_max`` when the business has none)."""
    own = np.asarray(rate, dtype=np.float64)[:, None]
    clipped = np.clip(own, rate_min[None, :], rate_max[None, :])
    result: np.ndarray = np.where(np.isnan(own), rate_max[None, :], clipped)
    return result


def popularity_score(popularity: np.ndarray) -> np.ndarray:
    """``(P,)`` in 0..1: ``log1p(popularity) / log1p(max popularity)``; 0 when all are 0."""
    logged = np.log1p(np.clip(np.asarray(popularity, dtype=np.float64), 0, None))
    top = logged.max(initial=0.0)
    result: np.ndarray = logged / top if top > 0 else np.zeros_like(logged)
    return result


def fit(pd: np.ndarray, max_pd: np.ndarray, rate: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """``(N, P)`` fit in 0..1, higher is better::

        approval   = clip(1 − PD / cap, 0, 1)    cap = the product's max_pd, else 0.15
        price      = clip((15 − rate) / (15 − 3), 0, 1)   rate = the offered rate, %
        popularity = log1p(popularity) / log1p(max popularity over the products)
        fit        = 0.5 · approval + 0.3 · price + 0.2 · popularity

    ``approval`` is how far the business is inside the product's risk appetite (likely
    approval); a missing PD gives 0. A business's products are ranked eligible first, then
    by fit, then by product id (:func:`rank`).
    """
    cap = np.where(np.isnan(max_pd) | (max_pd <= 0), DEFAULT_PD_CAP, max_pd)[None, :]
    pd_ = np.asarray(pd, dtype=np.float64)[:, None]
    approval = np.nan_to_num(np.clip(1.0 - pd_ / cap, 0.0, 1.0), nan=0.0)
    price = np.clip((RATE_CEILING - rate) / (RATE_CEILING - RATE_FLOOR), 0.0, 1.0)
    result: np.ndarray = (
        W_APPROVAL * approval
        + W_PRICE * price
        + W_POPULARITY * popularity_score(popularity)[None, :]
    )
    return result


def match(products: Products, businesses: Businesses) -> Matches:
    """Every (business, product) pair at once: failures, offered limit and rate, and fit."""
    n, p = len(businesses), len(products)
    limit = offered_limit(businesses.pre_credit_limit, products.amount_min, products.amount_max)
    passes = {
        "entity_type": targets(businesses.entity_type, products.entity_types),
        "industry": targets(businesses.industry_division, products.industries),
        "district": targets(businesses.district, products.districts),
        "tier": targets(businesses.tier, products.tiers),
        "policy_list": on_lists(
            businesses.policy_lists, businesses.policy_list_codes, products.policy_lists
        ),
        "min_score": _at_least(businesses.score, products.min_score),
        "min_credit_points": _at_least(businesses.credit_points, products.min_credit_points),
        "max_pd": _at_most(businesses.pd, products.max_pd),
        "min_age": _at_least(businesses.age_years, products.min_age_years),
        "dishonest": ~(
            products.exclude_dishonest[None, :]
            & np.asarray(businesses.dishonest_active, bool)[:, None]
        ),
        "abnormal": ~(
            products.exclude_abnormal[None, :]
            & np.asarray(businesses.abnormal_active, bool)[:, None]
        ),
        "limit": limit > 0,
    }
    failures = np.zeros((n, p), dtype=np.uint16)
    for code, ok in passes.items():
        failures |= np.where(ok, 0, RULE_BITS[code]).astype(np.uint16)
    rate = offered_rate(businesses.rate, products.rate_min, products.rate_max)
    return Matches(
        failures=failures,
        limit=limit,
        rate=rate,
        fit=fit(businesses.pd, products.max_pd, rate, products.popularity),
    )


def match_chunks(
    products: Products, businesses: Businesses, rows: int | None = None
) -> Iterator[tuple[int, Matches]]:
    """:func:`match` on ``rows`` businesses at a time (default: ``CHUNK_CELLS`` cells per
    chunk); yields ``(first business's index, matches of the chunk)``."""
    step = rows or max(1, CHUNK_CELLS // max(1, len(products)))
    for start in range(0, len(businesses), step):
        yield start, match(products, businesses.rows(start, start + step))


def failed_codes(flags: int) -> list[str]:
    """The codes of the rules whose bits are set in ``flags``, in rule order."""
    return [rule.code for k, rule in enumerate(RULES) if flags >> k & 1]


def near_miss(failures: np.ndarray) -> np.ndarray:
    """Pairs that fail exactly one rule, and not a targeting rule (entity type, industry,
    district): the business could become eligible (a better score, an older business, a
    list, a larger limit). Kept beside the eligible pairs so a business sees why not."""
    targeting = np.uint16(sum(RULE_BITS[c] for c in TARGETING))
    single = (failures != 0) & ((failures & (failures - np.uint16(1))) == 0)
    result: np.ndarray = single & ((failures & targeting) == 0)
    return result


def rank(eligible: np.ndarray, fit_: np.ndarray, product_ids: np.ndarray) -> np.ndarray:
    """Order (indices) of one business's products: eligible first, higher fit, lower id."""
    order: np.ndarray = np.lexsort((product_ids, -fit_, ~np.asarray(eligible, bool)))
    return order

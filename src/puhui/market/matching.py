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

The same core serves both directions (the service chooses): one business against every
product (``N = 1``), one product against the whole region (``P = 1``, with
:func:`failures_and_limits` only — rate and fit are computed for the page shown), and
the whole region against every product for the per-product counts of a refresh.
Categories may come as strings or already coded (:class:`Coded`, as the memory-mapped
region file holds them), so a pass over a million businesses never sorts strings.
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
    #: The largest popularity of the market the products are ranked in (NaN: the largest
    #: of these products). A subset keeps its market's, so a product's fit is the same
    #: whether it is matched alone or with all the others.
    popularity_top: float = np.nan

    def __len__(self) -> int:
        return len(self.amount_min)

    def take(self, index: np.ndarray | Sequence[int]) -> Products:
        """The products at ``index`` (in that order), ranked in the same market."""
        picked = np.asarray(index, dtype=np.intp)
        values: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "popularity_top":
                values[f.name] = self.top_popularity()
            elif isinstance(value, np.ndarray):
                values[f.name] = value[picked]
            else:
                values[f.name] = [value[k] for k in picked.tolist()]
        return Products(**values)

    def top_popularity(self) -> float:
        if not np.isnan(self.popularity_top):
            return float(self.popularity_top)
        return float(np.clip(self.popularity, 0, None).max(initial=0.0))

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
class Coded:
    """A category column as integer ``codes`` into ``labels`` (``""`` is missing), as a
    dictionary-encoded Arrow column holds it: rules look the few labels up once and index
    the result by code."""

    codes: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: Any) -> Coded:
        return Coded(self.codes[index], self.labels)

    @classmethod
    def of(cls, values: np.ndarray | Coded) -> Coded:
        if isinstance(values, Coded):
            return values
        labels, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
        return cls(codes.reshape(-1), labels)

    def decoded(self) -> np.ndarray:
        result: np.ndarray = np.asarray(self.labels, dtype=str)[self.codes]
        return result


#: A category column: strings (``""`` when missing) or :class:`Coded`.
Category = np.ndarray | Coded


@dataclass(frozen=True)
class Businesses:
    """``N`` businesses as of one date. ``uscc`` is a ``str`` (or ASCII ``bytes``) array;
    categories are :data:`Category` columns; numbers are float arrays (NaN when missing);
    flags are bool arrays. ``policy_lists`` is an ``(N, L)`` bool matrix whose columns are
    ``policy_list_codes``. ``pre_credit_limit`` is in yuan, ``rate`` in annual %."""

    uscc: np.ndarray
    entity_type: Category
    industry_division: Category
    district: Category
    tier: Category
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
        return self.take(slice(start, stop))

    def take(self, index: slice | np.ndarray) -> Businesses:
        """The businesses at ``index``: a slice (views, no copy) or an index array."""
        values = {
            f.name: getattr(self, f.name)
            if f.name == "policy_list_codes"
            else getattr(self, f.name)[index]
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


def targets(values: Category, wanted: Sequence[Sequence[str]]) -> np.ndarray:
    """``(N, P)`` bool: business ``i``'s category is among product ``j``'s ``wanted`` codes,
    or product ``j`` wants any (empty). A missing category (``""``) matches only "any"."""
    coded = Coded.of(values)
    labels = np.asarray(coded.labels, dtype=str).reshape(-1)
    # A (labels × products) table, filled from every product's codes at once (one step per
    # code a product names, never per business), then indexed by each business's code.
    sizes = np.asarray([len(codes) for codes in wanted], dtype=np.intp)
    named = np.asarray([code for codes in wanted for code in codes], dtype=str)
    table = np.zeros((len(labels), len(wanted)), dtype=bool)
    if len(named) and len(labels):
        order = np.argsort(labels)
        at = np.minimum(np.searchsorted(labels[order], named), len(labels) - 1)
        hit = (labels[order][at] == named) & (named != "")
        table[order[at[hit]], np.repeat(np.arange(len(wanted)), sizes)[hit]] = True
    table[:, sizes == 0] = True
    result: np.ndarray = table[coded.codes]
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
    membership = np.asarray(membership).reshape(-1, len(codes))
    requires_none = np.asarray([not names for names in wanted], dtype=bool)
    # Only the lists some product requires are read: one product against a million
    # businesses touches one or two columns, not all of them.
    needed = np.flatnonzero(required.any(axis=1))
    hits = membership[:, needed].astype(np.int32) @ required[needed] > 0
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
    # NaN (no limit) compares false everywhere, so it needs no cleaning pass.
    limit = np.asarray(pre_credit_limit, dtype=np.float64)[:, None]
    capped = np.minimum(limit, amount_max[None, :])
    with np.errstate(invalid="ignore"):
        offered = (limit >= amount_min[None, :]) & (limit > 0) & (capped >= amount_min[None, :])
    result: np.ndarray = np.where(offered, capped, 0.0)
    return result


def offered_rate(rate: np.ndarray, rate_min: np.ndarray, rate_max: np.ndarray) -> np.ndarray:
    """``(N, P)`` annual %: the business's risk price clipped to the product's range
    (``rate_max`` when the business has none)."""
    own = np.asarray(rate, dtype=np.float64)[:, None]
    clipped = np.clip(own, rate_min[None, :], rate_max[None, :])
    result: np.ndarray = np.where(np.isnan(own), rate_max[None, :], clipped)
    return result


def popularity_score(popularity: np.ndarray, top: float | None = None) -> np.ndarray:
    """``(P,)`` in 0..1: ``log1p(popularity) / log1p(top)``, ``top`` the largest popularity
    of the market (default: of ``popularity``); 0 when it is 0."""
    clipped = np.clip(np.asarray(popularity, dtype=np.float64), 0, None)
    logged = np.log1p(clipped)
    most = np.log1p(clipped.max(initial=0.0) if top is None or np.isnan(top) else top)
    result: np.ndarray = logged / most if most > 0 else np.zeros_like(logged)
    return result


def fit(
    pd: np.ndarray,
    max_pd: np.ndarray,
    rate: np.ndarray,
    popularity: np.ndarray,
    popularity_top: float | None = None,
) -> np.ndarray:
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
        + W_POPULARITY * popularity_score(popularity, popularity_top)[None, :]
    )
    return result


def failures_and_limits(
    products: Products, businesses: Businesses
) -> tuple[np.ndarray, np.ndarray]:
    """Every (business, product) pair's failure flags and offered limit: what eligibility,
    near misses and a white list's order need (:func:`match` adds rate and fit).

    A rule none of the products sets passes everywhere and is not computed: one product
    against a million businesses usually reads four or five of the columns, not all."""
    n, p = len(businesses), len(products)
    limit = offered_limit(businesses.pre_credit_limit, products.amount_min, products.amount_max)
    failures = np.zeros((n, p), dtype=np.uint16)

    def fails(code: str, ok: np.ndarray) -> None:
        # bool → 0/1 bytes times the rule's bit: adds the bit where the rule fails (bits are
        # distinct, so adding is or-ing); several times faster than a masked ``where``.
        np.bitwise_or(
            failures, np.logical_not(ok).view(np.uint8) * np.uint16(RULE_BITS[code]), out=failures
        )

    def any_set(thresholds: np.ndarray) -> bool:
        return bool((~np.isnan(thresholds)).any())

    for code, column, wanted in (
        ("entity_type", businesses.entity_type, products.entity_types),
        ("industry", businesses.industry_division, products.industries),
        ("district", businesses.district, products.districts),
        ("tier", businesses.tier, products.tiers),
    ):
        if any(wanted):
            fails(code, targets(column, wanted))
    if any(products.policy_lists):
        fails(
            "policy_list",
            on_lists(businesses.policy_lists, businesses.policy_list_codes, products.policy_lists),
        )
    for code, values, minimum in (
        ("min_score", businesses.score, products.min_score),
        ("min_credit_points", businesses.credit_points, products.min_credit_points),
        ("min_age", businesses.age_years, products.min_age_years),
    ):
        if any_set(minimum):
            fails(code, _at_least(values, minimum))
    if any_set(products.max_pd):
        fails("max_pd", _at_most(businesses.pd, products.max_pd))
    for code, flags, excluded in (
        ("dishonest", businesses.dishonest_active, products.exclude_dishonest),
        ("abnormal", businesses.abnormal_active, products.exclude_abnormal),
    ):
        if bool(np.asarray(excluded).any()):
            fails(code, ~(excluded[None, :] & np.asarray(flags, bool)[:, None]))
    fails("limit", limit > 0)
    return failures, limit


def match(products: Products, businesses: Businesses) -> Matches:
    """Every (business, product) pair at once: failures, offered limit and rate, and fit."""
    failures, limit = failures_and_limits(products, businesses)
    rate = offered_rate(businesses.rate, products.rate_min, products.rate_max)
    return Matches(
        failures=failures,
        limit=limit,
        rate=rate,
        fit=fit(
            businesses.pd, products.max_pd, rate, products.popularity, products.top_popularity()
        ),
    )


def match_chunks(
    products: Products, businesses: Businesses, rows: int | None = None
) -> Iterator[tuple[int, Matches]]:
    """:func:`match` on ``rows`` businesses at a time (default: ``CHUNK_CELLS`` cells per
    chunk); yields ``(first business's index, matches of the chunk)``."""
    step = rows or max(1, CHUNK_CELLS // max(1, len(products)))
    for start in range(0, len(businesses), step):
        yield start, match(products, businesses.rows(start, start + step))


def count_matches(
    products: Products, businesses: Businesses, rows: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per product, how many businesses are eligible and how many are near misses
    (:func:`near_miss`): two ``(P,)`` int64 arrays, from one pass over the businesses
    ``rows`` at a time (default: ``CHUNK_CELLS`` cells per chunk)."""
    eligible = np.zeros(len(products), dtype=np.int64)
    near = np.zeros(len(products), dtype=np.int64)
    if len(products) == 0:
        return eligible, near
    step = rows or max(1, CHUNK_CELLS // len(products))
    for start in range(0, len(businesses), step):
        failures, _limit = failures_and_limits(products, businesses.rows(start, start + step))
        eligible += np.count_nonzero(failures == 0, axis=0)
        near += np.count_nonzero(near_miss(failures), axis=0)
    return eligible, near


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

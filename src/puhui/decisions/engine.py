"""The real-time decision engine: admission, rating, limit, price and the outcome of one
loan request, with its reasons in Chinese and English. Pure: no I/O, no model library.

A :class:`DecisionEngine` is built once from the champion model (and its challengers) and
the credit policy, then answers :meth:`DecisionEngine.decide` for one business's feature
vector and one request:

1. **rating** — the champion's score, PD and three reasons. A scorecard is applied bin by
   bin (:class:`ScorecardScorer`, the same bins and points as the warehouse SQL of
   ``puhui score``); a LightGBM model by walking its trees in numpy
   (:mod:`puhui.decisions.trees`). Each challenger scores the same row in the shadow.
2. **admission, tier, credit points, limit, price** — :func:`puhui.scoring.policy.evaluate_policy`
   on one row per model (the champion's first): the very code batch scoring runs.
3. **product** — when the request names a product, its rules (:mod:`puhui.market.matching`),
   its amount and term ranges; its rate range clips the price.
4. **outcome** — from the policy's ``decision`` section (see :func:`outcome_of`):
   *decline* when a knock-out rule holds, PD ≥ ``pd_decline``, there is no pre-credit
   limit, the amount is above ``limit · (1 + over_limit_band)``, or a product rule fails;
   else *refer* (to a person) when the amount is above the limit (within the band),
   ``pd_refer ≤ PD``, or a ``refer`` rule holds (thin data); else *approve*.

:meth:`DecisionEngine.hint` answers the survey hint (惠富码) the same way from a profile
adjusted by a few self-reported figures (see :func:`adjust_for_survey`).

Results are plain JSON (:meth:`DecisionResult.to_json`): decimals as strings, floats as
JSON numbers (which read back exactly), so a stored decision can be recomputed and
compared field by field (``puhui decision replay``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal, Protocol

import numpy as np

from puhui.decisions.trees import TreeTable, parse_booster
from puhui.errors import PuhuiError
from puhui.features.registry import features as registry_features
from puhui.market import matching
from puhui.market.vocab import POLICY_LISTS
from puhui.scoring.challenger import Challenger, top_reasons
from puhui.scoring.policy import (
    DecisionPolicy,
    Policy,
    PolicyOutcome,
    conditions_hold,
    evaluate_policy,
    rate_percent,
    tier_label,
)
from puhui.scoring.scorecard import CATEGORICAL, INTERVAL, MISSING, OTHER, Scorecard
from puhui.scoring.service import score_from_pd

#: Version of the result's layout; a replay refuses a result of another version.
ENGINE_VERSION = "1"

Outcome = Literal["approve", "refer", "decline"]
APPROVE: Outcome = "approve"
REFER: Outcome = "refer"
DECLINE: Outcome = "decline"
OUTCOMES: dict[str, tuple[str, str]] = {
    APPROVE: ("批准", "approve"),
    REFER: ("转人工审批", "refer to a person"),
    DECLINE: ("拒绝", "decline"),
}

SCORECARD = "scorecard"
LIGHTGBM = "lightgbm"
FEN = Decimal("0.01")

#: The engine's own reasons (the policy's knock-out and refer rules bring theirs).
REASONS: dict[str, tuple[str, str]] = {
    "pd_high": ("违约概率高于政策拒绝线", "probability of default above the policy's decline line"),
    "no_limit": ("无预授信额度", "no pre-credit limit"),
    "over_limit_far": (
        "申请金额远超预授信额度",
        "amount requested far above the pre-credit limit",
    ),
    "over_limit": ("申请金额超过预授信额度", "amount requested above the pre-credit limit"),
    "pd_grey": ("违约概率处于人工审批区间", "probability of default in the grey zone"),
    "product_amount": ("申请金额不在产品额度范围内", "amount outside the product's range"),
    "product_term": ("申请期限不在产品期限范围内", "term outside the product's range"),
}


class DecisionEngineError(PuhuiError):
    """The engine cannot be built or asked as given (HTTP 400)."""

    http_status = 400


# --------------------------------------------------------------------------- features


def _feature_kinds() -> dict[str, str]:
    return {feature.name: feature.kind for _, feature in registry_features()}


def _labels() -> dict[str, tuple[str, str]]:
    return {feature.name: (feature.zh, feature.en) for _, feature in registry_features()}


def _number(value: Any) -> float:
    """A feature value as float64; None, NaN, text that is no number: NaN."""
    if value is None or isinstance(value, bool):
        return math.nan if value is None else float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def clean_features(features: Mapping[str, Any]) -> dict[str, Any]:
    """Feature values as the engine reads them: NaN becomes None (missing), everything else
    as given. NaN and NULL are both "missing" to every model and rule."""
    return {
        name: None if isinstance(value, float) and math.isnan(value) else value
        for name, value in features.items()
    }


def encode_features(features: Mapping[str, Any]) -> dict[str, Any]:
    """Features as storable JSON: ±inf as the strings ``"Infinity"`` / ``"-Infinity"``
    (JSON has no infinity), NaN as null. :func:`decode_features` undoes it."""
    out: dict[str, Any] = {}
    for name, value in clean_features(features).items():
        if isinstance(value, float) and math.isinf(value):
            out[name] = "Infinity" if value > 0 else "-Infinity"
        else:
            out[name] = value
    return out


def decode_features(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The features as they were decided on, from :func:`encode_features`' JSON."""
    kinds = _feature_kinds()
    out: dict[str, Any] = {}
    for name, value in stored.items():
        if kinds.get(name, "number") != "category" and value in ("Infinity", "-Infinity"):
            out[name] = math.inf if value == "Infinity" else -math.inf
        else:
            out[name] = value
    return out


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelSpec:
    """One registered model as the engine needs it: id, kind and artefact JSON."""

    id: int
    kind: str
    artefact: str
    fingerprint: str = ""


class Scorer(Protocol):
    inputs: tuple[str, ...]

    def rate(self, features: Mapping[str, Any], explain: bool) -> tuple[float, float, list[str]]:
        """(score, PD, up to three reason feature names) of one business."""
        ...


@dataclass(frozen=True)
class _Variable:
    name: str
    categorical: bool
    splits: list[float]  # lower bounds of every interval but the first
    interval_points: list[float]
    missing_points: float
    lookup: dict[str, float]
    other_points: float
    best_points: float


class ScorecardScorer:
    """A scorecard applied to one row: the same bins as :meth:`Scorecard.score_sql`.

    Numerical values fall in ``[lower, upper)`` (``bisect_right`` on the splits, as
    ``np.searchsorted(side="right")`` and the SQL's ``value < upper`` chain); None and NaN
    in the Missing bin. Categories are compared as text (``str(value)``, as the SQL's
    ``CAST(... AS VARCHAR)``); an unseen one takes the Other bin. The score is the points
    summed left to right in variable order, as the SQL adds them; PD and reasons come
    from the scorecard's own numpy methods on a one-row array.
    """

    def __init__(self, card: Scorecard) -> None:
        self.card = card
        self.inputs = tuple(card.names)
        self._variables: list[_Variable] = []
        for v in card.variables:
            by_kind = {b.kind: b for b in v.bins}
            intervals = [b for b in v.bins if b.kind == INTERVAL]
            self._variables.append(
                _Variable(
                    name=v.name,
                    categorical=v.dtype == CATEGORICAL,
                    splits=[float(b.lower) for b in intervals[1:] if b.lower is not None],
                    interval_points=[float(b.points) for b in intervals],
                    missing_points=float(by_kind[MISSING].points),
                    lookup={c: float(b.points) for b in v.bins for c in b.categories},
                    other_points=float(by_kind[OTHER].points) if OTHER in by_kind else 0.0,
                    best_points=float(v.best_points),
                )
            )

    def points(self, features: Mapping[str, Any]) -> list[float]:
        out: list[float] = []
        for v in self._variables:
            value = features.get(v.name)
            if v.categorical:
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    out.append(v.missing_points)
                else:
                    out.append(v.lookup.get(str(value), v.other_points))
                continue
            x = _number(value)
            if math.isnan(x):
                out.append(v.missing_points)
            else:
                out.append(v.interval_points[bisect.bisect_right(v.splits, x)])
        return out

    def rate(self, features: Mapping[str, Any], explain: bool) -> tuple[float, float, list[str]]:
        points = self.points(features)
        score = 0.0
        for value in points:
            score = score + value
        pd_ = float(self.card.pd(np.asarray([score], dtype=np.float64))[0])
        reasons: list[str] = []
        if explain:
            # Scorecard.reasons for one row: the largest shortfalls against each variable's
            # best bin, ties in variable order, only those above 0, at most three.
            shortfall = [
                (-(v.best_points - p), j)
                for j, (v, p) in enumerate(zip(self._variables, points, strict=True))
            ]
            reasons = [self._variables[j].name for gap, j in sorted(shortfall)[:3] if gap < 0]
        return score, pd_, reasons


class BoosterScorer:
    """A LightGBM challenger (or champion) applied to one row with our own tree walk.

    Inputs are built as :meth:`Challenger.matrix` builds them: numbers as float64 (NaN
    when missing), categories as their position among the training levels (NaN when
    missing or unseen). PD is the Platt-calibrated margin; the score is that PD on the
    scorecard's points scale (:func:`puhui.scoring.service.score_from_pd`); reasons are
    LightGBM's contributions (TreeSHAP), the three that raise the PD most.
    """

    def __init__(self, challenger: Challenger) -> None:
        self.challenger = challenger
        self.inputs = tuple(challenger.features)
        self.table: TreeTable = parse_booster(challenger.booster)
        self._levels = {
            name: {level: float(i) for i, level in enumerate(levels)}
            for name, levels in challenger.categories.items()
        }

    def row(self, features: Mapping[str, Any]) -> np.ndarray:
        values = []
        for name in self.inputs:
            value = features.get(name)
            if name in self._levels:
                found = self._levels[name].get(value) if isinstance(value, str) else None
                values.append(math.nan if found is None else found)
            else:
                values.append(_number(value))
        return np.asarray(values, dtype=np.float64)

    def pd_of(self, x: np.ndarray) -> np.ndarray:
        margin = self.table.margin(x)
        c = self.challenger
        # As Challenger.pd computes it (its _sigmoid), so the numbers agree to the last bit.
        return np.asarray(
            1.0 / (1.0 + np.exp(-(c.calibration_slope * margin + c.calibration_intercept)))
        )

    def rate(self, features: Mapping[str, Any], explain: bool) -> tuple[float, float, list[str]]:
        x = self.row(features)
        pd_ = self.pd_of(x[None, :])
        score = float(score_from_pd(pd_)[0])
        reasons: list[str] = []
        if explain:
            contributions = self.table.contributions(x)[: len(self.inputs)]
            contributions = contributions * self.challenger.calibration_slope
            found = top_reasons(contributions[None, :], self.inputs)[0]
            reasons = [str(r) for r in found if r is not None]
        return score, float(pd_[0]), reasons


def compile_model(spec: ModelSpec) -> Scorer:
    """The scorer of a registered model (its artefact is checked as it is read)."""
    if spec.kind == SCORECARD:
        return ScorecardScorer(Scorecard.from_json(spec.artefact))
    if spec.kind == LIGHTGBM:
        return BoosterScorer(Challenger.from_json(spec.artefact))
    raise DecisionEngineError(
        f"模型 {spec.id} 的类型 {spec.kind} 不受支持", f"model {spec.id}: unknown kind {spec.kind}"
    )


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class ProductTerms:
    """What a decision needs of a product, as it was when the decision was made (kept with
    the decision, so a later change of the product does not change a replay)."""

    id: int
    bank_code: str
    name: str
    amount_min: Decimal
    amount_max: Decimal
    term_min: int
    term_max: int
    rate_min: Decimal
    rate_max: Decimal
    instant: bool = False
    min_score: float | None = None
    min_credit_points: int | None = None
    max_pd: float | None = None
    min_age_years: float | None = None
    exclude_dishonest: bool = True
    exclude_abnormal: bool = True
    entity_types: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    policy_lists: tuple[str, ...] = ()

    _MONEY = ("amount_min", "amount_max", "rate_min", "rate_max")
    _LISTS = ("entity_types", "industries", "districts", "tiers", "policy_lists")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in self._MONEY:
                value = str(value)
            elif name in self._LISTS:
                value = list(value)
            out[name] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProductTerms:
        values = dict(data)
        for name in cls._MONEY:
            values[name] = Decimal(str(values[name]))
        for name in cls._LISTS:
            values[name] = tuple(values.get(name) or ())
        return cls(**values)

    def rules(self) -> dict[str, Any]:
        """The product as :meth:`puhui.market.matching.Products.of` takes it."""
        return {
            "amount_min": float(self.amount_min),
            "amount_max": float(self.amount_max),
            "rate_min": float(self.rate_min),
            "rate_max": float(self.rate_max),
            "popularity": 0,
            "min_score": self.min_score,
            "min_credit_points": self.min_credit_points,
            "max_pd": self.max_pd,
            "min_age_years": self.min_age_years,
            "exclude_dishonest": self.exclude_dishonest,
            "exclude_abnormal": self.exclude_abnormal,
            "entity_types": list(self.entity_types),
            "industries": list(self.industries),
            "districts": list(self.districts),
            "tiers": list(self.tiers),
            "policy_lists": list(self.policy_lists),
        }


@dataclass(frozen=True)
class DecisionRequest:
    """One loan request: the amount (yuan), and optionally a term and a product."""

    amount: Decimal
    term_months: int | None = None
    product: ProductTerms | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "amount": str(self.amount.quantize(FEN, ROUND_HALF_UP)),
            "term_months": self.term_months,
            "product": self.product.to_json() if self.product is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DecisionRequest:
        product = data.get("product")
        return cls(
            amount=Decimal(str(data["amount"])),
            term_months=data.get("term_months"),
            product=ProductTerms.from_json(product) if product else None,
        )


@dataclass(frozen=True)
class Reason:
    """Why: a code programs branch on, its zh and en text, and whether it declines or refers
    (``kind``: ``knockout``, ``decline``, ``product`` or ``refer``)."""

    code: str
    kind: str
    zh: str
    en: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "kind": self.kind, "zh": self.zh, "en": self.en}

    @property
    def declines(self) -> bool:
        return self.kind != "refer"


@dataclass(frozen=True)
class DecisionResult:
    """Everything a decision says; :meth:`to_json` is what is stored and compared."""

    outcome: Outcome
    reasons: tuple[Reason, ...]
    data: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return self.data

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]


def money(value: Decimal | float | int) -> Decimal:
    """Yuan (or an annual %) half up to the fen."""
    return Decimal(str(value)).quantize(FEN, ROUND_HALF_UP)


# --------------------------------------------------------------------------- the rules


def outcome_of(
    rules: DecisionPolicy,
    *,
    knockouts: Sequence[Reason],
    pd: float,
    limit: int,
    amount: Decimal,
    refer_hits: Sequence[Reason],
    product_fails: Sequence[Reason] = (),
) -> tuple[Outcome, list[Reason]]:
    """The outcome and its reasons (declining ones first, each in a fixed order).

    Decline: any knock-out; PD ≥ ``pd_decline`` (``pd_high``); otherwise a limit of 0
    (``no_limit``); an amount above ``limit · (1 + over_limit_band)`` (``over_limit_far``);
    any product failure. Refer: an amount above the limit but within the band
    (``over_limit``); ``pd_refer ≤ PD < pd_decline`` (``pd_grey``); each refer rule that
    holds. Approve: none of these.
    """
    declines: list[Reason] = list(knockouts)
    refers: list[Reason] = []
    if pd >= rules.pd_decline:
        declines.append(_reason("pd_high", "decline"))
    elif pd >= rules.pd_refer:
        refers.append(_reason("pd_grey", "refer"))
    if not knockouts and pd < rules.pd_decline and limit <= 0:
        declines.append(_reason("no_limit", "decline"))
    elif limit > 0 and amount > limit:
        ceiling = Decimal(limit) * (Decimal(1) + Decimal(repr(rules.over_limit_band)))
        if amount > ceiling:
            declines.append(_reason("over_limit_far", "decline"))
        else:
            refers.insert(0, _reason("over_limit", "refer"))
    declines.extend(product_fails)
    refers.extend(refer_hits)
    if declines:
        return DECLINE, declines + refers
    if refers:
        return REFER, refers
    return APPROVE, []


def _reason(code: str, kind: str) -> Reason:
    zh, en = REASONS[code]
    return Reason(code, kind, zh, en)


def _knockout_reasons(outcome: PolicyOutcome, row: int) -> list[Reason]:
    pairs = zip(
        outcome.knockout_codes, outcome.knockout_labels, outcome.knockouts[row], strict=True
    )
    return [Reason(code, "knockout", zh, en) for code, (zh, en), hit in pairs if hit]


# --------------------------------------------------------------------------- engine


class DecisionEngine:
    """Built once (per champion, challengers and policy), then asked many times.

    Thread-safe once built: nothing in it changes after ``__init__``.
    """

    def __init__(
        self, policy: Policy, champion: ModelSpec, challengers: Sequence[ModelSpec] = ()
    ) -> None:
        if policy.decision is None:
            raise DecisionEngineError(
                f"信用政策 {policy.version} 没有 decision 部分，无法作实时决策"
                "（见 docs/policy.md）",
                f"policy {policy.version} has no decision section: real-time decisions need "
                "one (see docs/policy.md)",
            )
        self.policy = policy
        self.rules: DecisionPolicy = policy.decision
        self.champion = champion
        self.challengers = tuple(challengers)
        self._champion = compile_model(champion)
        self._shadows = [compile_model(spec) for spec in self.challengers]
        self._labels = _labels()
        self._kinds = _feature_kinds()
        self._policy_inputs = sorted(policy.features_used)
        self._refer_inputs = sorted(self.rules.features_used)

    @property
    def model_ids(self) -> list[int]:
        return [self.champion.id, *(spec.id for spec in self.challengers)]

    # -- pieces

    def _policy(self, pds: Sequence[float], features: Mapping[str, Any]) -> PolicyOutcome:
        n = len(pds)
        columns = {name: self._column(name, features.get(name), n) for name in self._policy_inputs}
        return evaluate_policy(self.policy, np.asarray(pds, dtype=np.float64), columns)

    def _refer_hits(self, features: Mapping[str, Any]) -> list[Reason]:
        if not self.rules.refer:
            return []
        columns = {name: self._column(name, features.get(name), 1) for name in self._refer_inputs}
        hits = conditions_hold([rule.when for rule in self.rules.refer], columns, 1)[0]
        return [
            Reason(rule.code, "refer", rule.zh, rule.en)
            for rule, hit in zip(self.rules.refer, hits, strict=True)
            if hit
        ]

    def _column(self, name: str, value: Any, n: int) -> np.ndarray:
        """One feature repeated n times, as the policy reads it (text or float64)."""
        if self._kinds.get(name) == "category":
            return np.asarray([value] * n, dtype=object)
        return np.full(n, _number(value), dtype=np.float64)

    def _reasons_json(self, names: Sequence[str]) -> list[dict[str, str]]:
        return [
            {
                "feature": n,
                "zh": self._labels.get(n, (n, n))[0],
                "en": self._labels.get(n, (n, n))[1],
            }
            for n in names
        ]

    def _product_fails(
        self,
        product: ProductTerms,
        features: Mapping[str, Any],
        *,
        score: float,
        pd: float,
        tier: str,
        credit_points: int,
        limit: int,
        rate: Decimal,
        amount: Decimal,
        term: int | None,
    ) -> tuple[list[Reason], float]:
        """The product's own rules that fail (``product.<rule>``), its amount and term
        ranges, and the limit the product offers (yuan)."""

        def text(name: str) -> np.ndarray:
            value = features.get(name)
            return np.asarray([value if isinstance(value, str) else ""], dtype=str)

        lists = np.asarray(
            [[_number(features.get(column)) > 0 for column, _zh, _en in POLICY_LISTS.values()]],
            dtype=bool,
        )
        business = matching.Businesses(
            uscc=np.asarray([""], dtype=str),
            entity_type=text("entity_type"),
            industry_division=text("industry_division"),
            district=text("district"),
            tier=np.asarray([tier], dtype=str),
            score=np.asarray([score]),
            credit_points=np.asarray([float(credit_points)]),
            pd=np.asarray([pd]),
            age_years=np.asarray([_number(features.get("age_years"))]),
            dishonest_active=np.asarray([_number(features.get("dishonest_active")) > 0]),
            abnormal_active=np.asarray([_number(features.get("abnormal_active")) > 0]),
            policy_lists=lists,
            policy_list_codes=tuple(POLICY_LISTS),
            pre_credit_limit=np.asarray([float(limit)]),
            rate=np.asarray([float(rate)]),
        )
        found = matching.match(matching.Products.of([product.rules()]), business)
        fails = [
            Reason(f"product.{code}", "product", rule.zh, rule.en)
            for code in matching.failed_codes(int(found.failures[0, 0]))
            for rule in (matching.RULES_BY_CODE[code],)
        ]
        if not product.amount_min <= amount <= product.amount_max:
            fails.append(_reason("product_amount", "product"))
        if term is not None and not product.term_min <= term <= product.term_max:
            fails.append(_reason("product_term", "product"))
        return fails, float(found.limit[0, 0])

    # -- the decision

    def decide(self, features: Mapping[str, Any], request: DecisionRequest) -> DecisionResult:
        """Decide one request for one business whose features are ``features`` (name →
        value; None or NaN missing; categories as text)."""
        features = clean_features(features)
        amount = money(request.amount)
        score, pd_, reasons = self._champion.rate(features, explain=True)
        shadows = [scorer.rate(features, explain=False) for scorer in self._shadows]
        outcome = self._policy([pd_, *(s[1] for s in shadows)], features)

        tier = str(outcome.tier[0])
        points = int(outcome.credit_points[0])
        limit = int(outcome.pre_credit_limit[0])
        rate = rate_percent(outcome.rate_bp[0])
        knockouts = _knockout_reasons(outcome, 0)
        refer_hits = self._refer_hits(features)
        product = request.product
        product_fails: list[Reason] = []
        offered_limit: Decimal = Decimal(limit)
        if product is not None:
            product_fails, offered = self._product_fails(
                product,
                features,
                score=score,
                pd=pd_,
                tier=tier,
                credit_points=points,
                limit=limit,
                rate=rate,
                amount=amount,
                term=request.term_months,
            )
            offered_limit = money(offered)
            rate = min(max(rate, product.rate_min), product.rate_max)
        verdict, why = outcome_of(
            self.rules,
            knockouts=knockouts,
            pd=pd_,
            limit=limit,
            amount=amount,
            refer_hits=refer_hits,
            product_fails=product_fails,
        )
        shadow_json = []
        for k, (spec, (s_score, s_pd, _)) in enumerate(
            zip(self.challengers, shadows, strict=True), start=1
        ):
            s_verdict, _ = outcome_of(
                self.rules,
                knockouts=_knockout_reasons(outcome, k),
                pd=s_pd,
                limit=int(outcome.pre_credit_limit[k]),
                amount=amount,
                refer_hits=refer_hits,
            )
            shadow_json.append(
                {
                    "model_id": spec.id,
                    "kind": spec.kind,
                    "score": s_score,
                    "pd": s_pd,
                    "tier": str(outcome.tier[k]),
                    "credit_points": int(outcome.credit_points[k]),
                    "pre_credit_limit": str(money(int(outcome.pre_credit_limit[k]))),
                    "rate": str(rate_percent(outcome.rate_bp[k])),
                    "outcome": s_verdict,
                }
            )
        approved = verdict == APPROVE
        data: dict[str, Any] = {
            "engine_version": ENGINE_VERSION,
            "outcome": verdict,
            "outcome_zh": OUTCOMES[verdict][0],
            "outcome_en": OUTCOMES[verdict][1],
            "reasons": [r.to_json() for r in why],
            "request": {
                "amount": str(amount),
                "term_months": request.term_months,
                "product_id": product.id if product is not None else None,
            },
            "admission": {
                "admitted": bool(outcome.admitted[0]),
                "knockouts": [r.to_json() for r in knockouts],
            },
            "rating": {
                "model_id": self.champion.id,
                "kind": self.champion.kind,
                "score": score,
                "pd": pd_,
                "tier": tier,
                "tier_zh": tier_label(tier, "zh"),
                "credit_points": points,
                "reasons": self._reasons_json(reasons),
            },
            "limit": {
                "pre_credit_limit": str(money(limit)),
                "offered_limit": str(money(offered_limit)),
            },
            "price": {
                "rate": str(rate),
                "policy_rate_bp": int(outcome.rate_bp[0]),
                "discounts": list(outcome.discounts_of(0)),
            },
            "approved_amount": str(amount) if approved else None,
            "instant": bool(approved and product is not None and product.instant),
            "product": None
            if product is None
            else {
                "id": product.id,
                "eligible": not product_fails,
                "fails": [r.code for r in product_fails],
            },
            "shadow": shadow_json,
            "policy": {"version": self.policy.version, "fingerprint": self.policy.fingerprint},
        }
        return DecisionResult(verdict, tuple(why), data)

    # -- the survey hint

    def hint(self, features: Mapping[str, Any], figures: SurveyFigures) -> HintResult:
        """What the business could get: risk, suggested amount and rate, from its profile
        adjusted by what it reports (:func:`adjust_for_survey`)."""
        features = clean_features(features)
        adjusted, adjustments = adjust_for_survey(features, figures, self.rules)
        score, pd_, reasons = self._champion.rate(adjusted, explain=True)
        outcome = self._policy([pd_], adjusted)
        limit = int(outcome.pre_credit_limit[0])
        knockouts = _knockout_reasons(outcome, 0)
        capacity = repayment_capacity(figures, self.rules)
        suggested = limit
        if capacity is not None:
            step = self.policy.limit.step
            capped = min(Decimal(limit), capacity)
            suggested = (
                int((capped / step).to_integral_value(ROUND_FLOOR)) * step if capped > 0 else 0
            )
            if suggested < self.policy.limit.minimum:
                suggested = 0
        if knockouts:
            risk = "ineligible"
        elif pd_ >= self.rules.pd_decline:
            risk = "high"
        elif pd_ >= self.rules.pd_refer:
            risk = "medium"
        else:
            risk = "low"
        zh, en = RISKS[risk]
        data = {
            "engine_version": ENGINE_VERSION,
            "risk": risk,
            "risk_zh": zh,
            "risk_en": en,
            "pd": pd_,
            "score": score,
            "tier": str(outcome.tier[0]),
            "credit_points": int(outcome.credit_points[0]),
            "pre_credit_limit": str(money(limit)),
            "repayment_capacity": None if capacity is None else str(money(capacity)),
            "suggested_amount": str(money(suggested)),
            "rate": str(rate_percent(outcome.rate_bp[0])),
            "reasons": [r.to_json() for r in knockouts],
            "model_reasons": self._reasons_json(reasons),
            "adjustments": adjustments,
            "model_id": self.champion.id,
            "policy": {"version": self.policy.version, "fingerprint": self.policy.fingerprint},
        }
        return HintResult(risk, data)


# --------------------------------------------------------------------------- survey hint


RISKS: dict[str, tuple[str, str]] = {
    "low": ("风险较低，有望获得贷款", "low risk: a loan is likely"),
    "medium": ("风险中等，需要人工审批", "medium risk: a person would review a request"),
    "high": ("风险较高，暂难获得信用贷款", "high risk: an unsecured loan is unlikely now"),
    "ineligible": ("暂不符合准入条件", "not eligible at present"),
}

#: Features a reported revenue stands in for (monthly revenue, yuan).
REVENUE_FEATURES = ("revenue_avg_12m", "revenue_avg_3m")
EMPLOYEES_FEATURE = "insured_latest"


@dataclass(frozen=True)
class SurveyFigures:
    """What a business reports in the survey, per month in yuan (employees: people).

    Every figure is optional; ``profit`` may be negative, the others may not.
    """

    revenue: Decimal | None = None
    profit: Decimal | None = None
    costs: Decimal | None = None
    rent: Decimal | None = None
    employees: int | None = None

    def __post_init__(self) -> None:
        for name in ("revenue", "costs", "rent", "employees"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise DecisionEngineError(f"{name} 不能为负数", f"{name} must not be negative")


@dataclass(frozen=True)
class HintResult:
    risk: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


def adjust_for_survey(
    features: Mapping[str, Any], figures: SurveyFigures, rules: DecisionPolicy
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The features with the reported figures taken in, and what changed.

    Reported figures are unverified, so they may only make the picture *more cautious*
    than the department data, never better:

    * **revenue** (monthly) — where the tax feed has a monthly revenue
      (``revenue_avg_12m``, ``revenue_avg_3m``), the smaller of the two is used; where it
      has none, the reported revenue times ``hint.unverified_share``.
    * **employees** — where social insurance shows insured staff (``insured_latest`` > 0)
      that number stays; otherwise the reported headcount times ``unverified_share``,
      rounded down.
    * **profit, costs, rent** do not enter the model; they bound the suggested amount
      (:func:`repayment_capacity`).
    """
    out = dict(features)
    changes: list[dict[str, Any]] = []
    share = Decimal(repr(rules.hint.unverified_share))
    if figures.revenue is not None:
        reported = float(figures.revenue)
        for name in REVENUE_FEATURES:
            recorded = _number(out.get(name))
            if math.isnan(recorded):
                used, source = float(Decimal(figures.revenue) * share), "reported"
            else:
                used, source = (
                    min(recorded, reported),
                    "recorded" if recorded <= reported else "reported",
                )
            changes.append(_change(name, recorded, used, source))
            out[name] = used
    if figures.employees is not None:
        recorded = _number(out.get(EMPLOYEES_FEATURE))
        if math.isnan(recorded) or recorded <= 0:
            used = float(math.floor(figures.employees * rules.hint.unverified_share))
            changes.append(_change(EMPLOYEES_FEATURE, recorded, used, "reported"))
            out[EMPLOYEES_FEATURE] = used
        else:
            changes.append(_change(EMPLOYEES_FEATURE, recorded, recorded, "recorded"))
    return out, changes


def _change(name: str, recorded: float, used: float, source: str) -> dict[str, Any]:
    return {
        "feature": name,
        "recorded": None if math.isnan(recorded) else recorded,
        "used": used,
        "source": source,
    }


def repayment_capacity(figures: SurveyFigures, rules: DecisionPolicy) -> Decimal | None:
    """``capacity_months`` × the reported monthly profit (``profit``, else ``revenue −
    costs − rent`` when revenue and costs are reported; rent 0 when left out), never
    below 0; None when neither can be worked out."""
    if figures.profit is not None:
        monthly = Decimal(figures.profit)
    elif figures.revenue is not None and figures.costs is not None:
        monthly = Decimal(figures.revenue) - Decimal(figures.costs) - Decimal(figures.rent or 0)
    else:
        return None
    return max(monthly, Decimal(0)) * Decimal(repr(rules.hint.capacity_months))

"""The credit policy: admission, tier, credit points, pre-credit limit and price.

One versioned YAML file (``scoring/data/policy.yaml`` by default; see ``docs/policy.md``)
holds every rule and number an operator may change. :func:`load_policy` reads and checks
it; :func:`evaluate_policy` applies it to a batch of businesses at once:

1. **admission** — knock-out rules over features; a business is admitted when none holds.
2. **tier** — ordered rules, the first that holds wins; the last rule is the default.
3. **credit points** — ``base_points + pdo / ln 2 · ln(odds / base_odds)`` with
   ``odds = (1 − PD) / PD``, rounded half up and clipped to 0..1000.
4. **pre-credit limit** — ``revenue_avg_12m · 12 · share[tier] · pd_scale −
   loan_balance_outstanding · debt_factor``, clipped to ``0..caps[entity_type]``, rounded
   down to a multiple of ``step``, 0 under ``minimum`` or when not admitted.
5. **rate** — ``reference + cost + PD · LGD · 10000 + margin − min(Σ discounts, max)``
   basis points, rounded half up and held within ``floor..cap``.

An optional ``decision`` section holds the rules of the real-time decision engine
(:mod:`puhui.decisions.engine`): the PD bands and the over-limit band that refer or
decline a request, the refer rules (thin data), and the survey hint's parameters.

Everything but :func:`load_policy` is pure: no I/O, no state, numpy arrays in and out,
one pass per rule (never a Python loop over rows).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeAlias, cast, get_args

import numpy as np
import yaml
from numpy.typing import ArrayLike, NDArray

from puhui.errors import PuhuiError
from puhui.features.registry import features as registry_features

Lang = Literal["zh", "en"]
Op = Literal["<", "<=", ">", ">=", "==", "!=", "in", "is_null", "not_null"]
TierCode = Literal["survival", "growth", "development"]
Scalar: TypeAlias = float | str

OPS: tuple[str, ...] = get_args(Op)
_ORDER_OPS = frozenset({"<", "<=", ">", ">="})
_NULL_OPS = frozenset({"is_null", "not_null"})

#: Tier codes, smallest first, with their labels (生存型 / 成长型 / 发展型).
TIERS: dict[str, tuple[str, str]] = {
    "survival": ("生存型", "survival"),
    "growth": ("成长型", "growth"),
    "development": ("发展型", "development"),
}

#: Entity types with their own limit cap; any other value (or none) takes ``caps.other``.
ENTITY_TYPES: tuple[str, ...] = ("enterprise", "individual", "coop")

#: Features the limit formula reads, whatever the rules say.
REVENUE_FEATURE = "revenue_avg_12m"
DEBT_FEATURE = "loan_balance_outstanding"
ENTITY_TYPE_FEATURE = "entity_type"

#: Largest cap accepted (yuan): keeps every limit exact in float64 and int64.
MAX_CAP = 10**12

_PACKAGED = "data/policy.yaml"


class PolicyError(PuhuiError):
    """A policy file that cannot be used: names the file and the key path of the mistake."""

    def __init__(self, source: str, key: str, message_en: str, message_zh: str) -> None:
        where_en = f"{source}: {key}" if key else source
        where_zh = f"{source}，{key}" if key else source
        super().__init__(f"信用政策文件有误：{where_zh}：{message_zh}", f"{where_en}: {message_en}")
        self.source = source
        self.key = key


# --- the parsed policy ---------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    """``feature op value``; ``value`` is a tuple for ``in`` and None for the null tests."""

    feature: str
    op: Op
    value: Scalar | tuple[Scalar, ...] | None = None


@dataclass(frozen=True)
class AllOf:
    """Holds when every condition holds (an empty list always holds)."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """Holds when at least one condition holds (an empty list never holds)."""

    conditions: tuple[Condition, ...]


Condition: TypeAlias = Compare | AllOf | AnyOf


@dataclass(frozen=True)
class Knockout:
    """An admission rule: when ``when`` holds, the business is refused for this reason."""

    code: str
    zh: str
    en: str
    when: Condition


@dataclass(frozen=True)
class TierRule:
    """``tier`` applies when ``when`` holds; ``when`` is None only for the last, default rule."""

    tier: TierCode
    when: Condition | None


@dataclass(frozen=True)
class CreditPoints:
    """Points scale: ``base_points`` at good:bad odds ``base_odds``; +``pdo`` doubles the odds."""

    base_points: float
    base_odds: float
    points_to_double_odds: float

    @property
    def factor(self) -> float:
        """Points per unit of ln(odds): ``points_to_double_odds / ln 2``."""
        return self.points_to_double_odds / math.log(2.0)


@dataclass(frozen=True)
class LimitPolicy:
    """Pre-credit limit parameters; amounts in yuan (see :func:`evaluate_policy`)."""

    revenue_share: Mapping[str, float]
    pd_full: float
    pd_zero: float
    debt_factor: float
    caps: Mapping[str, int]
    minimum: int
    step: int


@dataclass(frozen=True)
class Discount:
    """A price discount of ``bp`` basis points when ``when`` holds."""

    code: str
    zh: str
    en: str
    bp: int
    when: Condition


@dataclass(frozen=True)
class PricingPolicy:
    """Annual-rate parameters, all in basis points except ``lgd`` (a share, 0..1)."""

    reference_bp: int
    cost_bp: int
    lgd: float
    margin_bp: int
    discounts: tuple[Discount, ...]
    max_discount_bp: int
    floor_bp: int
    cap_bp: int


@dataclass(frozen=True)
class ReferRule:
    """A decision rule: when ``when`` holds, a request goes to a person (refer)."""

    code: str
    zh: str
    en: str
    when: Condition


@dataclass(frozen=True)
class HintPolicy:
    """How the survey hint (惠富码) weighs self-reported figures (see docs/decisions.md).

    ``unverified_share``: a self-reported figure with no department record counts at this
    share; ``capacity_months``: the suggested amount is at most this many months of the
    self-reported monthly profit.
    """

    unverified_share: float
    capacity_months: float


@dataclass(frozen=True)
class DecisionPolicy:
    """The ``decision`` section: when a loan request is approved, referred or declined.

    ``pd_refer ≤ PD < pd_decline`` refers, ``PD ≥ pd_decline`` declines; a requested amount
    above the pre-credit limit but at most ``limit · (1 + over_limit_band)`` refers, more
    declines; each ``refer`` rule that holds refers.
    """

    pd_refer: float
    pd_decline: float
    over_limit_band: float
    refer: tuple[ReferRule, ...]
    hint: HintPolicy

    @property
    def features_used(self) -> frozenset[str]:
        names: set[str] = set()
        for rule in self.refer:
            names |= condition_features(rule.when)
        return frozenset(names)


@dataclass(frozen=True)
class Policy:
    """A checked credit policy. Build it with :func:`load_policy` or :func:`parse_policy`.

    ``fingerprint`` is the sha256 (hex) of the canonical JSON of the parsed content (keys
    sorted, no whitespace): comments and layout of the file do not change it, any value does.
    """

    version: str
    admission: tuple[Knockout, ...]
    tiers: tuple[TierRule, ...]
    credit_points: CreditPoints
    limit: LimitPolicy
    pricing: PricingPolicy
    fingerprint: str
    source: str = "<policy>"
    decision: DecisionPolicy | None = None

    @cached_property
    def features_used(self) -> frozenset[str]:
        """Every feature name the policy reads (rules, discounts and the limit formula)."""
        names = {REVENUE_FEATURE, DEBT_FEATURE, ENTITY_TYPE_FEATURE}
        conditions: list[Condition] = [rule.when for rule in self.admission]
        conditions += [rule.when for rule in self.tiers if rule.when is not None]
        conditions += [discount.when for discount in self.pricing.discounts]
        for condition in conditions:
            names |= condition_features(condition)
        return frozenset(names)

    @property
    def knockout_codes(self) -> tuple[str, ...]:
        return tuple(rule.code for rule in self.admission)

    def knockout_reason(self, code: str, lang: Lang = "zh") -> str:
        """The reason text of knock-out rule ``code``."""
        for rule in self.admission:
            if rule.code == code:
                return rule.zh if lang == "zh" else rule.en
        raise KeyError(code)

    def discount_label(self, code: str, lang: Lang = "zh") -> str:
        """The label of price discount ``code``."""
        for discount in self.pricing.discounts:
            if discount.code == code:
                return discount.zh if lang == "zh" else discount.en
        raise KeyError(code)


def condition_features(condition: Condition) -> set[str]:
    """The feature names a condition reads."""
    if isinstance(condition, Compare):
        return {condition.feature}
    names: set[str] = set()
    for part in condition.conditions:
        names |= condition_features(part)
    return names


def tier_label(code: str, lang: Lang = "zh") -> str:
    """``tier_label("growth") == "成长型"``; ``tier_label("growth", "en") == "growth"``."""
    zh, en = TIERS[code]
    return zh if lang == "zh" else en


def rate_percent(rate_bp: int | np.integer[Any]) -> Decimal:
    """An annual rate in basis points as a percent with 2 places: ``435 → Decimal("4.35")``.

    Rounded half up (a whole number of basis points is exact).
    """
    return (Decimal(int(rate_bp)) / Decimal(100)).quantize(Decimal("0.01"), ROUND_HALF_UP)


# --- loading and checking ------------------------------------------------------------


def load_policy(path: Path | None = None) -> Policy:
    """Read and check a policy file; ``None`` reads the packaged default policy.

    Raises :class:`PolicyError` (naming the file, and the key path where one applies) for
    unreadable files, bad YAML, duplicate keys and every check of :func:`parse_policy`.
    """
    return parse_policy_text(*read_policy_text(path))


def read_policy_text(path: Path | None = None) -> tuple[str, str]:
    """The text of a policy file and the name it is reported under; ``None``: the packaged
    default. Kept apart from parsing so that the text itself can be stored (a decision
    keeps the exact policy it was made with)."""
    if path is None:
        source = "puhui/scoring/" + _PACKAGED
        text = resources.files("puhui.scoring").joinpath(_PACKAGED).read_text(encoding="utf-8")
        return text, source
    source = str(path)
    try:
        return Path(path).read_text(encoding="utf-8"), source
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(
            source, "", f"cannot read the file ({exc})", f"无法读取文件（{exc}）"
        ) from exc


def parse_policy_text(text: str, source: str = "<policy>") -> Policy:
    """Check the YAML text of a policy and build a :class:`Policy` (see :func:`load_policy`)."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(
            source, line, f"not valid YAML: {problem}", f"不是有效的 YAML：{problem}"
        ) from exc
    return parse_policy(data, source)


def parse_policy(data: object, source: str = "<policy>") -> Policy:
    """Check a parsed policy document (the YAML as Python values) and build a :class:`Policy`.

    Checks: every key known and every required key present; feature names from the
    registry; operators from :data:`OPS` with a value of the right kind (text for category
    features, numbers otherwise, a list for ``in``, none for the null tests); the tiers
    cover survival, growth and development once each with only the last unconditional;
    0 ≤ pd_full < pd_zero ≤ 1; caps whole multiples of ``step``, at most
    :data:`MAX_CAP`; 0 ≤ floor_bp ≤ cap_bp; knock-out and discount codes unique; in the
    optional ``decision`` section 0 ≤ pd_refer ≤ pd_decline ≤ 1, over_limit_band ≥ 0 and
    unique refer codes.
    """
    return _Reader(source).policy(data)


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (PyYAML keeps the last one silently)."""


def _mapping_no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_no_duplicates,
)


def _show(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.kinds = {feature.name: feature.kind for _, feature in registry_features()}

    def fail(self, key: str, en: str, zh: str) -> NoReturn:
        raise PolicyError(self.source, key, en, zh)

    # -- generic values

    def mapping(
        self, value: object, key: str, required: Sequence[str], optional: Sequence[str] = ()
    ) -> dict[str, Any]:
        label = key or "the document"
        if not isinstance(value, dict):
            self.fail(
                key or "(top level)",
                f"expected a mapping of keys, got {_show(value)}",
                f"应为键值映射，实际为 {_show(value)}",
            )
        for name in value:
            if name not in required and name not in optional:
                known = ", ".join([*required, *optional])
                self.fail(
                    _join(key, str(name)),
                    f"unknown key in {label} (known: {known})",
                    f"未知的键（可用：{known}）",
                )
        for name in required:
            if name not in value:
                self.fail(_join(key, name), "missing", "缺少此项")
        return cast(dict[str, Any], value)

    def sequence(self, value: object, key: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(
                key, f"expected a list, got {_show(value)}", f"应为列表，实际为 {_show(value)}"
            )
        return value

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            hint = " (put it in quotes)" if isinstance(value, int | float) else ""
            self.fail(
                key,
                f"expected text{hint}, got {_show(value)}",
                f"应为文本{'（请加引号）' if hint else ''}，实际为 {_show(value)}",
            )
        return value

    def number(
        self,
        value: object,
        key: str,
        low: float | None = None,
        high: float | None = None,
        *,
        low_open: bool = False,
        integer: bool = False,
    ) -> float:
        what = "a whole number" if integer else "a number"
        what_zh = "整数" if integer else "数"
        if low is not None and high is not None:
            span = f"in {'(' if low_open else '['}{_num(low)}, {_num(high)}]"
        elif low is not None:
            span = f"{'>' if low_open else '≥'} {_num(low)}"
        else:
            span = ""
        expected = f"{what} {span}".strip()
        expected_zh = f"{span} 的{what_zh}" if span else what_zh
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            number = float(cast(float, value))
            ok = math.isfinite(number)
            ok = ok and (not integer or number == int(number))
            ok = ok and (low is None or number > low or (not low_open and number == low))
            ok = ok and (high is None or number <= high)
        if not ok:
            hint = ' (write 1000000, not "1e6")' if _numeric_text(value) else ""
            self.fail(
                key,
                f"expected {expected}, got {_show(value)}{hint}",
                f"应为 {expected_zh}，实际为 {_show(value)}",
            )
        return float(cast(float, value))

    def whole(self, value: object, key: str, low: float = 0, high: float | None = None) -> int:
        return int(self.number(value, key, low, high, integer=True))

    def amount(self, value: object, key: str, low: int = 0) -> int:
        """A whole number of yuan, ``low`` .. :data:`MAX_CAP`."""
        amount = self.whole(value, key, low)
        if amount > MAX_CAP:
            self.fail(
                key,
                f"at most {MAX_CAP:,} yuan, got {amount:,}",
                f"不得超过 {MAX_CAP:,} 元，实际为 {amount:,}",
            )
        return amount

    # -- conditions

    def condition(self, value: object, key: str) -> Condition:
        if isinstance(value, dict) and ("all" in value or "any" in value):
            word = "all" if "all" in value else "any"
            self.mapping(value, key, [word])
            items = self.sequence(value[word], _join(key, word))
            parts = tuple(
                self.condition(item, f"{_join(key, word)}[{i}]") for i, item in enumerate(items)
            )
            return AllOf(parts) if word == "all" else AnyOf(parts)
        if not isinstance(value, dict) or "feature" not in value:
            self.fail(
                key,
                f"expected {{feature, op, value}} or {{all: [...]}} or {{any: [...]}}, "
                f"got {_show(value)}",
                f"应为 {{feature, op, value}} 或 {{all: [...]}} 或 {{any: [...]}}，"
                f"实际为 {_show(value)}",
            )
        op_raw = value.get("op")
        if op_raw in _NULL_OPS:
            item = self.mapping(value, key, ["feature", "op"])
        else:
            item = self.mapping(value, key, ["feature", "op", "value"])
        feature = self.text(item["feature"], _join(key, "feature"))
        if feature not in self.kinds:
            close = difflib.get_close_matches(feature, list(self.kinds), n=1)
            hint_en = f"did you mean {close[0]}? " if close else ""
            hint_zh = f"是否为 {close[0]}？" if close else ""
            self.fail(
                _join(key, "feature"),
                f"unknown feature {_show(feature)} ({hint_en}see docs/features.md)",
                f"未知的特征 {_show(feature)}（{hint_zh}见 docs/features.md）",
            )
        if op_raw not in OPS:
            self.fail(
                _join(key, "op"),
                f"unknown operator {_show(op_raw)} (known: {' '.join(OPS)})",
                f"未知的运算符 {_show(op_raw)}（可用：{' '.join(OPS)}）",
            )
        op = cast(Op, op_raw)
        if op in _NULL_OPS:
            return Compare(feature, op)
        category = self.kinds[feature] == "category"
        if category and op in _ORDER_OPS:
            self.fail(
                _join(key, "op"),
                f"{feature} is a category: use ==, !=, in, is_null or not_null",
                f"{feature} 为类别特征：只能用 ==、!=、in、is_null、not_null",
            )
        value_key = _join(key, "value")
        if op == "in":
            values = self.sequence(item["value"], value_key)
            if not values:
                self.fail(value_key, "expected a non-empty list", "应为非空列表")
            return Compare(
                feature,
                op,
                tuple(
                    self.scalar(v, f"{value_key}[{i}]", feature, category)
                    for i, v in enumerate(values)
                ),
            )
        return Compare(feature, op, self.scalar(item["value"], value_key, feature, category))

    def scalar(self, value: object, key: str, feature: str, category: bool) -> Scalar:
        if category:
            if not isinstance(value, str):
                self.fail(
                    key,
                    f"{feature} is a category: expected quoted text, got {_show(value)}",
                    f"{feature} 为类别特征：应为带引号的文本，实际为 {_show(value)}",
                )
            return value
        return self.number(value, key)

    # -- sections

    def policy(self, data: object) -> Policy:
        top = self.mapping(
            data,
            "",
            ["version", "admission", "tiers", "credit_points", "limit", "pricing"],
            ["decision"],
        )
        version = self.text(top["version"], "version")
        admission = self.admission(top["admission"])
        tiers = self.tiers(top["tiers"])
        points = self.credit_points(top["credit_points"])
        limit = self.limit(top["limit"])
        pricing = self.pricing(top["pricing"])
        decision = self.decision(top["decision"]) if "decision" in top else None
        fingerprint = hashlib.sha256(_canonical(top).encode("utf-8")).hexdigest()
        return Policy(
            version, admission, tiers, points, limit, pricing, fingerprint, self.source, decision
        )

    def labelled(self, item: dict[str, Any], key: str) -> tuple[str, str, str]:
        return (
            self.text(item["code"], _join(key, "code")),
            self.text(item["zh"], _join(key, "zh")),
            self.text(item["en"], _join(key, "en")),
        )

    def admission(self, value: object) -> tuple[Knockout, ...]:
        rules: list[Knockout] = []
        for i, raw in enumerate(self.sequence(value, "admission")):
            key = f"admission[{i}]"
            item = self.mapping(raw, key, ["code", "zh", "en", "when"])
            code, zh, en = self.labelled(item, key)
            if code in {rule.code for rule in rules}:
                self.fail(
                    _join(key, "code"), f"duplicate code {_show(code)}", f"代码重复 {_show(code)}"
                )
            rules.append(Knockout(code, zh, en, self.condition(item["when"], _join(key, "when"))))
        return tuple(rules)

    def tiers(self, value: object) -> tuple[TierRule, ...]:
        items = self.sequence(value, "tiers")
        rules: list[TierRule] = []
        for i, raw in enumerate(items):
            key = f"tiers[{i}]"
            last = i == len(items) - 1
            if last and isinstance(raw, dict) and "when" in raw:
                self.fail(
                    _join(key, "when"),
                    "the last tier is the default and has no condition",
                    "最后一个层级为默认层级，不能有条件",
                )
            item = self.mapping(raw, key, ["tier"], [] if last else ["when"])
            tier = item["tier"]
            if tier not in TIERS:
                self.fail(
                    _join(key, "tier"),
                    f"unknown tier {_show(tier)} (known: {', '.join(TIERS)})",
                    f"未知的层级 {_show(tier)}（可用：{', '.join(TIERS)}）",
                )
            if tier in {rule.tier for rule in rules}:
                self.fail(_join(key, "tier"), f"tier {tier} appears twice", f"层级 {tier} 重复")
            if not last and "when" not in item:
                self.fail(
                    _join(key, "when"),
                    "missing (only the last tier, the default, has no condition)",
                    "缺少条件（只有最后一个默认层级可以没有条件）",
                )
            when = None if last else self.condition(item["when"], _join(key, "when"))
            rules.append(TierRule(cast(TierCode, tier), when))
        missing = [code for code in TIERS if code not in {rule.tier for rule in rules}]
        if missing:
            self.fail(
                "tiers",
                f"no rule for tier {', '.join(missing)} (each of {', '.join(TIERS)} once)",
                f"缺少层级 {', '.join(missing)}（{', '.join(TIERS)} 各一次）",
            )
        return tuple(rules)

    def credit_points(self, value: object) -> CreditPoints:
        item = self.mapping(
            value, "credit_points", ["base_points", "base_odds", "points_to_double_odds"]
        )
        return CreditPoints(
            self.number(item["base_points"], "credit_points.base_points", 0, 1000),
            self.number(item["base_odds"], "credit_points.base_odds", 0, low_open=True),
            self.number(
                item["points_to_double_odds"],
                "credit_points.points_to_double_odds",
                0,
                low_open=True,
            ),
        )

    def limit(self, value: object) -> LimitPolicy:
        item = self.mapping(
            value,
            "limit",
            ["revenue_share", "pd_full", "pd_zero", "debt_factor", "caps", "minimum", "step"],
        )
        shares_raw = self.mapping(item["revenue_share"], "limit.revenue_share", list(TIERS))
        shares = {
            tier: self.number(shares_raw[tier], f"limit.revenue_share.{tier}", 0, 10)
            for tier in TIERS
        }
        pd_full = self.number(item["pd_full"], "limit.pd_full", 0, 1)
        pd_zero = self.number(item["pd_zero"], "limit.pd_zero", 0, 1)
        if pd_zero <= pd_full:
            self.fail(
                "limit.pd_zero",
                f"must be above limit.pd_full ({_num(pd_full)}), got {_num(pd_zero)}",
                f"应大于 limit.pd_full（{_num(pd_full)}），实际为 {_num(pd_zero)}",
            )
        debt_factor = self.number(item["debt_factor"], "limit.debt_factor", 0)
        step = self.amount(item["step"], "limit.step", 1)
        caps_raw = self.mapping(item["caps"], "limit.caps", [*ENTITY_TYPES, "other"])
        caps: dict[str, int] = {}
        for name in [*ENTITY_TYPES, "other"]:
            cap = self.amount(caps_raw[name], f"limit.caps.{name}")
            if cap % step:
                self.fail(
                    f"limit.caps.{name}",
                    f"must be a whole multiple of limit.step ({step}), got {cap}",
                    f"应为 limit.step（{step}）的整数倍，实际为 {cap}",
                )
            caps[name] = cap
        minimum = self.amount(item["minimum"], "limit.minimum")
        if minimum > max(caps.values()):
            self.fail(
                "limit.minimum",
                f"above every cap ({max(caps.values())}): no business could get a limit",
                f"高于所有上限（{max(caps.values())}），任何主体都无法获得额度",
            )
        return LimitPolicy(shares, pd_full, pd_zero, debt_factor, caps, minimum, step)

    def pricing(self, value: object) -> PricingPolicy:
        item = self.mapping(
            value,
            "pricing",
            [
                "reference_bp",
                "cost_bp",
                "risk_premium",
                "discounts",
                "max_discount_bp",
                "floor_bp",
                "cap_bp",
            ],
        )
        premium = self.mapping(item["risk_premium"], "pricing.risk_premium", ["lgd", "margin_bp"])
        discounts: list[Discount] = []
        for i, raw in enumerate(self.sequence(item["discounts"], "pricing.discounts")):
            key = f"pricing.discounts[{i}]"
            entry = self.mapping(raw, key, ["code", "zh", "en", "bp", "when"])
            code, zh, en = self.labelled(entry, key)
            if code in {d.code for d in discounts}:
                self.fail(
                    _join(key, "code"), f"duplicate code {_show(code)}", f"代码重复 {_show(code)}"
                )
            bp = self.whole(entry["bp"], _join(key, "bp"), 0, 10_000)
            discounts.append(
                Discount(code, zh, en, bp, self.condition(entry["when"], f"{key}.when"))
            )
        floor_bp = self.whole(item["floor_bp"], "pricing.floor_bp", 0, 10_000)
        cap_bp = self.whole(item["cap_bp"], "pricing.cap_bp", 0, 10_000)
        if floor_bp > cap_bp:
            self.fail(
                "pricing.floor_bp",
                f"floor {floor_bp} bp is above pricing.cap_bp {cap_bp} bp",
                f"下限 {floor_bp} 基点高于上限 pricing.cap_bp {cap_bp} 基点",
            )
        return PricingPolicy(
            reference_bp=self.whole(item["reference_bp"], "pricing.reference_bp", 0, 10_000),
            cost_bp=self.whole(item["cost_bp"], "pricing.cost_bp", 0, 10_000),
            lgd=self.number(premium["lgd"], "pricing.risk_premium.lgd", 0, 1),
            margin_bp=self.whole(premium["margin_bp"], "pricing.risk_premium.margin_bp", 0, 10_000),
            discounts=tuple(discounts),
            max_discount_bp=self.whole(
                item["max_discount_bp"], "pricing.max_discount_bp", 0, 10_000
            ),
            floor_bp=floor_bp,
            cap_bp=cap_bp,
        )

    def decision(self, value: object) -> DecisionPolicy:
        item = self.mapping(
            value, "decision", ["pd_refer", "pd_decline", "over_limit_band", "refer", "hint"]
        )
        pd_refer = self.number(item["pd_refer"], "decision.pd_refer", 0, 1)
        pd_decline = self.number(item["pd_decline"], "decision.pd_decline", 0, 1)
        if pd_decline < pd_refer:
            self.fail(
                "decision.pd_decline",
                f"must be at least decision.pd_refer ({_num(pd_refer)}), got {_num(pd_decline)}",
                f"应不小于 decision.pd_refer（{_num(pd_refer)}），实际为 {_num(pd_decline)}",
            )
        band = self.number(item["over_limit_band"], "decision.over_limit_band", 0, 10)
        rules: list[ReferRule] = []
        for i, raw in enumerate(self.sequence(item["refer"], "decision.refer")):
            key = f"decision.refer[{i}]"
            entry = self.mapping(raw, key, ["code", "zh", "en", "when"])
            code, zh, en = self.labelled(entry, key)
            if code in {rule.code for rule in rules}:
                self.fail(
                    _join(key, "code"), f"duplicate code {_show(code)}", f"代码重复 {_show(code)}"
                )
            rules.append(ReferRule(code, zh, en, self.condition(entry["when"], f"{key}.when")))
        hint = self.mapping(item["hint"], "decision.hint", ["unverified_share", "capacity_months"])
        return DecisionPolicy(
            pd_refer=pd_refer,
            pd_decline=pd_decline,
            over_limit_band=band,
            refer=tuple(rules),
            hint=HintPolicy(
                unverified_share=self.number(
                    hint["unverified_share"], "decision.hint.unverified_share", 0, 1
                ),
                capacity_months=self.number(
                    hint["capacity_months"], "decision.hint.capacity_months", 0, 120, low_open=True
                ),
            ),
        )


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else repr(value)


def _numeric_text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


# --- evaluation ----------------------------------------------------------------------

BoolArray: TypeAlias = NDArray[np.bool_]
FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]


@dataclass(frozen=True)
class PolicyOutcome:
    """The policy applied to n businesses; every array has n rows, in input order.

    Attributes
    ----------
    admitted : bool array (n,)
        No knock-out rule holds.
    knockouts : bool array (n, k)
        ``knockouts[i, j]``: rule ``knockout_codes[j]`` refuses business i.
    knockout_codes, knockout_labels : tuples of k
        Rule codes and their (zh, en) reasons, in policy order.
    tier : str array (n,)
        ``"survival"``, ``"growth"`` or ``"development"`` (computed for every business).
    credit_points : int64 array (n,)
        0..1000, higher is safer.
    pre_credit_limit : int64 array (n,)
        Yuan; a whole multiple of the policy's step, at most the cap of the entity type,
        0 when not admitted.
    rate_bp : int64 array (n,)
        Annual rate in basis points (435 = 4.35 %), floor ≤ rate ≤ cap; computed for every
        business, meaningful for the admitted.
    discounts : bool array (n, d)
        ``discounts[i, j]``: discount ``discount_codes[j]`` applies to business i (before
        the ``max_discount_bp`` cap).
    policy_version, policy_fingerprint : str
        The policy that made these numbers.
    """

    admitted: BoolArray
    knockouts: BoolArray
    knockout_codes: tuple[str, ...]
    knockout_labels: tuple[tuple[str, str], ...]
    tier: NDArray[np.str_]
    credit_points: IntArray
    pre_credit_limit: IntArray
    rate_bp: IntArray
    discounts: BoolArray
    discount_codes: tuple[str, ...]
    policy_version: str
    policy_fingerprint: str

    def __len__(self) -> int:
        return int(self.admitted.shape[0])

    def knockouts_of(self, row: int) -> tuple[str, ...]:
        """Codes of the knock-out rules that refuse business ``row``, in policy order."""
        return tuple(
            c for c, hit in zip(self.knockout_codes, self.knockouts[row], strict=True) if hit
        )

    def knockout_reasons(self, row: int, lang: Lang = "zh") -> tuple[str, ...]:
        """Reason texts of the knock-out rules that refuse business ``row``."""
        pick = 0 if lang == "zh" else 1
        return tuple(
            label[pick]
            for label, hit in zip(self.knockout_labels, self.knockouts[row], strict=True)
            if hit
        )

    def discounts_of(self, row: int) -> tuple[str, ...]:
        """Codes of the discounts that apply to business ``row``."""
        return tuple(
            c for c, hit in zip(self.discount_codes, self.discounts[row], strict=True) if hit
        )


@dataclass(frozen=True)
class _Column:
    """A feature prepared once: float64 values (NaN = missing) or text with a missing mask."""

    numbers: FloatArray | None
    text: NDArray[np.str_] | None
    missing: BoolArray


def _prepare(name: str, raw: ArrayLike, kind: str, n: int) -> _Column:
    if kind == "category":
        values = np.asarray(raw, dtype=object) if not _is_text_array(raw) else np.asarray(raw)
        _check_length(name, values, n)
        if values.dtype.kind == "U":
            return _Column(None, values.astype(np.str_), np.zeros(n, dtype=np.bool_))
        is_text = np.frompyfunc(lambda v: isinstance(v, str), 1, 1)(values).astype(np.bool_)
        text = np.where(is_text, values, "").astype(np.str_)
        return _Column(None, text, ~is_text)
    try:
        numbers = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"feature {name}: expected numbers (NaN or None = missing)") from exc
    _check_length(name, numbers, n)
    return _Column(numbers, None, np.isnan(numbers))


def _is_text_array(raw: ArrayLike) -> bool:
    return isinstance(raw, np.ndarray) and raw.dtype.kind == "U"


def _check_length(name: str, values: NDArray[Any], n: int) -> None:
    if values.ndim != 1 or values.shape[0] != n:
        raise ValueError(
            f"feature {name}: expected {n} values in one dimension, got {values.shape}"
        )


def _holds(condition: Condition, columns: Mapping[str, _Column], n: int) -> BoolArray:
    """Where ``condition`` holds; a missing value satisfies only ``is_null``."""
    if isinstance(condition, AllOf):
        out = np.ones(n, dtype=np.bool_)
        for part in condition.conditions:
            out &= _holds(part, columns, n)
        return out
    if isinstance(condition, AnyOf):
        out = np.zeros(n, dtype=np.bool_)
        for part in condition.conditions:
            out |= _holds(part, columns, n)
        return out
    column = columns[condition.feature]
    op, value = condition.op, condition.value
    if op == "is_null":
        return column.missing.copy()
    if op == "not_null":
        return ~column.missing
    values: NDArray[Any] = column.numbers if column.numbers is not None else cast(Any, column.text)
    if op == "in":
        hit = np.isin(values, np.asarray(cast(tuple[Scalar, ...], value)))
    elif op == "==":
        hit = values == value
    elif op == "!=":
        hit = values != value
    elif op == "<":
        hit = values < value
    elif op == "<=":
        hit = values <= value
    elif op == ">":
        hit = values > value
    else:  # ">="
        hit = values >= value
    return np.asarray(hit, dtype=np.bool_) & ~column.missing


def conditions_hold(
    conditions: Sequence[Condition], features: Mapping[str, ArrayLike], n: int
) -> BoolArray:
    """(n, k) booleans: where each of k conditions holds for n businesses.

    ``features`` as for :func:`evaluate_policy` (at least the features the conditions
    read); a missing value satisfies only ``is_null``.
    """
    names: set[str] = set()
    for condition in conditions:
        names |= condition_features(condition)
    missing = sorted(names - set(features))
    if missing:
        raise ValueError(f"features missing for the conditions: {', '.join(missing)}")
    kinds = {feature.name: feature.kind for _, feature in registry_features()}
    columns = {name: _prepare(name, features[name], kinds.get(name, "number"), n) for name in names}
    out = np.zeros((n, len(conditions)), dtype=np.bool_)
    for j, condition in enumerate(conditions):
        out[:, j] = _holds(condition, columns, n)
    return out


def evaluate_policy(
    policy: Policy, pd: ArrayLike, features: Mapping[str, ArrayLike]
) -> PolicyOutcome:
    """Apply ``policy`` to n businesses at once.

    Parameters
    ----------
    policy : Policy
        From :func:`load_policy`.
    pd : array-like of float, shape (n,)
        Probability of default of each business, each in [0, 1] (no NaN).
    features : mapping of feature name to array-like, shape (n,)
        At least :attr:`Policy.features_used`. Numeric features are read as float64,
        NaN or None meaning missing; category features (``entity_type``,
        ``taxpayer_grade_latest`` …) as text, any non-text value (None, NaN) meaning missing.

    Returns
    -------
    PolicyOutcome

    Notes
    -----
    With ``L = policy.limit``, ``P = policy.pricing``, ``C = policy.credit_points``:

    * admitted = no knock-out rule holds; a missing value never makes a comparison hold.
    * tier = the first tier rule that holds, else the last (default) tier.
    * credit_points = clip(round_half_up(C.base_points + C.points_to_double_odds / ln 2 ·
      ln(odds / C.base_odds)), 0, 1000), odds = (1 − PD) / PD; PD = 0 gives 1000, PD = 1
      gives 0. Non-increasing in PD.
    * pd_scale = clip((L.pd_zero − PD) / (L.pd_zero − L.pd_full), 0, 1).
    * raw limit (yuan) = revenue_avg_12m · 12 · L.revenue_share[tier] · pd_scale
      − max(loan_balance_outstanding, 0) · L.debt_factor, where a missing balance counts
      as 0 (no outstanding loan) and a missing or non-finite result as 0.
    * limit = floor(clip(raw, 0, L.caps[entity_type]) / L.step) · L.step; 0 if under
      L.minimum or not admitted. Entity types other than enterprise, individual, coop
      (or missing) take ``L.caps["other"]``.
    * rate (bp) = P.reference_bp + P.cost_bp + PD · P.lgd · 10000 + P.margin_bp
      − min(Σ discounts that apply, P.max_discount_bp), rounded half up to a whole basis
      point, then clipped to [P.floor_bp, P.cap_bp].
    """
    probs = np.asarray(pd, dtype=np.float64)
    if probs.ndim != 1:
        raise ValueError(f"pd: expected one dimension, got shape {probs.shape}")
    if not bool(np.all((probs >= 0.0) & (probs <= 1.0))):
        raise ValueError("pd: every probability of default must be in [0, 1] (no NaN)")
    n = int(probs.shape[0])
    missing = sorted(policy.features_used - set(features))
    if missing:
        raise ValueError(f"features missing for the policy: {', '.join(missing)}")
    kinds = {feature.name: feature.kind for _, feature in registry_features()}
    columns = {
        name: _prepare(name, features[name], kinds.get(name, "number"), n)
        for name in policy.features_used
    }

    # admission
    k = len(policy.admission)
    knockouts = np.zeros((n, k), dtype=np.bool_)
    for j, rule in enumerate(policy.admission):
        knockouts[:, j] = _holds(rule.when, columns, n)
    admitted: BoolArray = ~np.any(knockouts, axis=1)

    # tier
    tier = np.full(n, policy.tiers[-1].tier, dtype="<U11")
    decided = np.zeros(n, dtype=np.bool_)
    for tier_rule in policy.tiers[:-1]:
        assert tier_rule.when is not None
        hit = _holds(tier_rule.when, columns, n) & ~decided
        tier[hit] = tier_rule.tier
        decided |= hit

    points = credit_points(policy.credit_points, probs)

    # limit
    limit = policy.limit
    share = np.zeros(n, dtype=np.float64)
    for code, value in limit.revenue_share.items():
        share[tier == code] = value
    entity = columns[ENTITY_TYPE_FEATURE]
    cap = np.full(n, float(limit.caps["other"]))
    for entity_type in ENTITY_TYPES:
        if entity.text is not None:
            cap[(entity.text == entity_type) & ~entity.missing] = limit.caps[entity_type]
    revenue = _numbers(columns[REVENUE_FEATURE])
    debt = _numbers(columns[DEBT_FEATURE])
    debt = np.maximum(np.where(np.isnan(debt), 0.0, debt), 0.0)
    scale = np.clip((limit.pd_zero - probs) / (limit.pd_zero - limit.pd_full), 0.0, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        raw = revenue * 12.0 * share * scale - debt * limit.debt_factor
    raw = np.clip(np.where(np.isnan(raw), 0.0, raw), 0.0, cap)
    # The 1e-9 absorbs float error such as 959999.9999999999 for 960000; caps are whole
    # multiples of the step, so the result never exceeds the cap.
    steps = np.floor(raw / limit.step + 1e-9)
    amount = steps.astype(np.int64) * limit.step
    amount[(amount < limit.minimum) | ~admitted] = 0

    # price
    pricing = policy.pricing
    d = len(pricing.discounts)
    discounts = np.zeros((n, d), dtype=np.bool_)
    for j, discount in enumerate(pricing.discounts):
        discounts[:, j] = _holds(discount.when, columns, n)
    sizes = np.asarray([discount.bp for discount in pricing.discounts], dtype=np.float64)
    total_discount = np.minimum(discounts.astype(np.float64) @ sizes, pricing.max_discount_bp)
    rate = (
        pricing.reference_bp
        + pricing.cost_bp
        + probs * pricing.lgd * 10_000.0
        + pricing.margin_bp
        - total_discount
    )
    rate_bp = np.clip(np.floor(rate + 0.5 + 1e-9), pricing.floor_bp, pricing.cap_bp).astype(
        np.int64
    )

    return PolicyOutcome(
        admitted=admitted,
        knockouts=knockouts,
        knockout_codes=policy.knockout_codes,
        knockout_labels=tuple((rule.zh, rule.en) for rule in policy.admission),
        tier=tier,
        credit_points=points,
        pre_credit_limit=amount,
        rate_bp=rate_bp,
        discounts=discounts,
        discount_codes=tuple(discount.code for discount in pricing.discounts),
        policy_version=policy.version,
        policy_fingerprint=policy.fingerprint,
    )


def _numbers(column: _Column) -> FloatArray:
    if column.numbers is None:
        raise ValueError("a numeric feature was given as a category")
    return column.numbers


def credit_points(scale: CreditPoints, pd: ArrayLike) -> IntArray:
    """Credit points 0..1000 of PDs in [0, 1], non-increasing in PD.

    ``round_half_up(base_points + points_to_double_odds / ln 2 · (ln(1 − PD) − ln PD −
    ln base_odds))``, clipped to 0..1000 (PD = 0 → 1000, PD = 1 → 0).
    """
    probs = np.asarray(pd, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_odds = np.log1p(-probs) - np.log(probs)
    points = scale.base_points + scale.factor * (log_odds - math.log(scale.base_odds))
    return np.floor(np.clip(points, 0.0, 1000.0) + 0.5).astype(np.int64)

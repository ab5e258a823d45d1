"""The scorecard: optimal binning, WOE, selection, logistic regression and PDO points.

A scorecard is a table of points: every variable is cut into bins, every bin carries points,
and a score is the sum of the points of the bins a row falls in. This module fits one
(:func:`fit_scorecard`) and applies it three ways that give the same numbers:

* :meth:`Scorecard.score` — vectorised numpy over a frame;
* :meth:`Scorecard.score_sql` — one portable SQL expression (DuckDB dialect, transpiled to
  Spark by :func:`puhui.engine.to_spark_sql`), so a region is scored inside the warehouse;
* by hand, from ``points.csv``.

Conventions, fixed here once:

* **WOE** follows optbinning: ``WoE_i = ln(%non-event_i / %event_i)`` where the event is the
  bad outcome. A bin with fewer bads than average has a *positive* WoE. The logistic
  regression predicts P(bad) from the WoE, so a sensible coefficient is *negative*;
  a variable whose coefficient turns positive in the joint model (collinearity) is dropped.
* **Points**: with ``factor = pdo / ln 2`` and ``offset = base_points − factor · ln(odds)``,
  a row's score is ``offset + factor · ln(odds good:bad)``; for k variables with coefficients
  ``c_j`` and intercept ``b0`` each bin gets ``−(c_j · WoE_ij + b0 / k) · factor + offset / k``
  (optbinning's ``pdo_odds`` scaling), rounded to integers by default. Higher is better;
  ``base_points`` is the score at good:bad odds of ``odds``, and ``pdo`` more doubles the odds.
* **Intervals** are left-closed, right-open: a value exactly on a split falls in the bin
  that starts there, as optbinning's own ``transform`` does (``[5.5, 15.5)`` takes 5.5).
  ±inf fall in the outer bins. NaN, None, pandas NA and SQL NULL fall in the **Missing**
  bin, which every variable has; when training saw no missing value its WoE is 0 (the
  population average), as in optbinning.
* **Categories** are compared as text. A category never seen in training falls in the
  **Other** bin, which carries the variable's *worst* points (more conservative than
  optbinning, which gives it WoE 0): a new code should not earn an average score unseen.

The artefact is readable JSON (:meth:`Scorecard.to_json`) with a format version and a
SHA-256 fingerprint of its canonical form; nothing is pickled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from puhui.errors import PuhuiError

#: Format version of the JSON artefact; bump it when a field changes meaning.
FORMAT_VERSION = "1"

#: Inverse regularisation of the logistic regression. WoE features are on one scale
#: (roughly −3 … 3), so sklearn's default L2 strength barely shrinks on large samples and
#: steadies the coefficients of small ones.
LOGISTIC_C = 1.0

#: Share given to an empty bin when computing PSI, so that ln(0) never occurs.
PSI_FLOOR = 1e-4

Frame = Mapping[str, Any] | pd.DataFrame
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

NUMERICAL = "numerical"
CATEGORICAL = "categorical"
INTERVAL = "interval"
CATEGORIES = "categories"
MISSING = "missing"
OTHER = "other"


@dataclass(frozen=True)
class ScorecardParams:
    """How a scorecard is fitted and scaled.

    ``base_points`` is the score at good:bad odds of ``odds``; every ``pdo`` points more
    doubles those odds. Variables need an IV of at least ``min_iv``; of two variables whose
    WoE correlate beyond ``max_correlation`` the weaker is dropped; with an out-of-time
    sample, a variable whose bin shares shift by a PSI above ``max_psi`` is dropped; at most
    ``max_variables`` (by IV) remain. Binning makes at most ``max_bins`` bins of at least
    ``min_bin_share`` of the rows each.
    """

    pdo: float = 40.0
    odds: float = 50.0
    base_points: float = 600.0
    min_iv: float = 0.02
    max_correlation: float = 0.8
    max_psi: float = 0.25
    max_bins: int = 6
    min_bin_share: float = 0.05
    max_variables: int = 20
    round_points: bool = True  # integer points per bin, so SQL and Python agree exactly

    def __post_init__(self) -> None:
        checks = [
            (self.pdo > 0 and math.isfinite(self.pdo), "pdo", "> 0"),
            (self.odds > 0 and math.isfinite(self.odds), "odds", "> 0"),
            (math.isfinite(self.base_points), "base_points", "finite"),
            (self.min_iv >= 0, "min_iv", ">= 0"),
            (0 < self.max_correlation <= 1, "max_correlation", "in (0, 1]"),
            (self.max_psi > 0, "max_psi", "> 0"),
            (self.max_bins >= 2, "max_bins", ">= 2"),
            (0 < self.min_bin_share <= 0.5, "min_bin_share", "in (0, 0.5]"),
            (self.max_variables >= 1, "max_variables", ">= 1"),
        ]
        for ok, name, rule in checks:
            if not ok:
                value = getattr(self, name)
                raise PuhuiError(
                    f"评分卡参数 {name} 须 {rule}，收到 {value}",
                    f"scorecard parameter {name} must be {rule}, got {value}",
                )


@dataclass(frozen=True)
class Bin:
    """One row of a variable's points table.

    ``kind`` is ``interval`` ([lower, upper), None = unbounded), ``categories`` (the listed
    text values), ``missing`` (NaN / None / NULL) or ``other`` (categories unseen in
    training). ``event_rate`` is the training share of bads in the bin (0 when empty).
    """

    label: str
    kind: str
    lower: float | None
    upper: float | None
    categories: tuple[str, ...]
    count: int
    event_count: int
    event_rate: float
    woe: float
    iv: float
    points: float


@dataclass(frozen=True)
class Variable:
    """A selected variable: its bins (intervals or category groups, then Missing, then
    Other for a categorical one) and the regression coefficient of its WoE."""

    name: str
    dtype: str  # "numerical" | "categorical"
    iv: float
    coefficient: float
    trend: str  # "ascending" | "descending" | "flat" (event rate by bin) | "categorical"
    bins: tuple[Bin, ...]

    @property
    def best_points(self) -> float:
        return max(b.points for b in self.bins)

    @property
    def worst_points(self) -> float:
        return min(b.points for b in self.bins)

    @cached_property
    def _table(self) -> FloatArray:
        return np.array([b.points for b in self.bins], dtype=np.float64)

    @cached_property
    def _splits(self) -> FloatArray:
        # Lower bounds of every interval but the first: np.searchsorted(side="right") on
        # them puts a value equal to a split in the bin that starts there.
        lowers = [b.lower for b in self.bins if b.kind == INTERVAL]
        return np.array([v for v in lowers[1:] if v is not None], dtype=np.float64)

    @cached_property
    def _lookup(self) -> dict[str, int]:
        return {c: i for i, b in enumerate(self.bins) if b.kind == CATEGORIES for c in b.categories}

    def _position(self, kind: str) -> int:
        return next(i for i, b in enumerate(self.bins) if b.kind == kind)

    def bin_index(self, values: Any) -> IntArray:
        """Position in :attr:`bins` of every value (vectorised)."""
        if self.dtype == NUMERICAL:
            x = as_float(values)
            index = np.searchsorted(self._splits, x, side="right").astype(np.intp)
            index[np.isnan(x)] = self._position(MISSING)
            return index
        # Hash the values once (C), then look up each *distinct* value's bin as text.
        codes, uniques = pd.factorize(pd.Series(values, dtype=object, copy=False))
        other = self._position(OTHER)
        positions = np.array(
            [self._lookup.get(str(u), other) for u in uniques] + [self._position(MISSING)],
            dtype=np.intp,
        )
        return np.asarray(positions[codes], dtype=np.intp)  # code -1 (missing): the last

    def points_of(self, values: Any) -> FloatArray:
        """Points of every value."""
        return self._table[self.bin_index(values)]

    def woe_of(self, values: Any) -> FloatArray:
        """WoE of every value (as the regression saw it)."""
        return np.array([b.woe for b in self.bins], dtype=np.float64)[self.bin_index(values)]

    def points_sql(self, column: str, integers: bool, nan_free: bool = False) -> str:
        """An expression giving the points of ``column`` (DuckDB dialect), equal to
        :meth:`points_of` on every value.

        Written for the warehouse's speed (``bench/bench_scoring.py``), with no change in
        result: adjacent intervals with the same points are tested once; categories are one
        map lookup — six times cheaper than ``IN`` lists of text in DuckDB — holding only
        the categories whose points differ from Other's. The missing test stays first even
        when the missing bin's points equal the last interval's: it costs little on a column
        without NULLs and saves every comparison on a column that has many.

        ``nan_free``: the column is known to hold no NaN (the ``features`` table makes NaN
        NULL), so the NaN test is left out; it costs about a third of the expression.
        """

        def number(value: float) -> str:
            return str(int(value)) if integers else double_sql(value)

        missing = self.bins[self._position(MISSING)].points
        if self.dtype == NUMERICAL:
            steps: list[Bin] = []  # runs of adjacent intervals with equal points, merged
            for b in (b for b in self.bins if b.kind == INTERVAL):
                if steps and steps[-1].points == b.points:
                    steps[-1] = replace(steps[-1], upper=b.upper)
                else:
                    steps.append(b)
            if len(steps) == 1 and missing == steps[0].points:
                return number(missing)  # one value everywhere
            # NULL and NaN first: both engines order NaN above every number.
            missing_test = f"{column} IS NULL" + ("" if nan_free else f" OR isnan({column})")
            parts = [f"WHEN {missing_test} THEN {number(missing)}"]
            for b in steps[:-1]:
                assert b.upper is not None
                parts.append(f"WHEN {column} < {double_sql(b.upper)} THEN {number(b.points)}")
            parts.append(f"ELSE {number(steps[-1].points)}")
            return "CASE " + " ".join(parts) + " END"
        other = self.bins[self._position(OTHER)].points
        unseen = number(other)
        if missing != other:
            unseen = f"CASE WHEN {column} IS NULL THEN {number(missing)} ELSE {unseen} END"
        # A key absent from the map gives NULL (Spark too, even in ANSI mode).
        mapped = {c: self.bins[i].points for c, i in self._lookup.items()}
        mapped = {c: p for c, p in mapped.items() if p != other}
        if not mapped:
            return unseen
        keys = ", ".join(text_sql(c) for c in mapped)
        values = ", ".join(number(p) for p in mapped.values())
        lookup = f"MAP([{keys}], [{values}])[CAST({column} AS VARCHAR)]"
        return f"coalesce({lookup}, {unseen})"


@dataclass(frozen=True)
class VariableSelection:
    """One candidate variable, kept or not, for the IV report."""

    name: str
    iv: float
    selected: bool
    reason_dropped: str | None
    reason_dropped_zh: str | None = None


@dataclass(frozen=True)
class Scorecard:
    """A fitted scorecard: readable, fingerprinted, and applicable in numpy or SQL."""

    version: str
    params: ScorecardParams
    variables: tuple[Variable, ...]
    intercept: float
    target: str
    bad_value: str
    selection: tuple[VariableSelection, ...]
    fingerprint: str = field(default="")

    # --- applying ---------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def points(self, frame: Frame) -> FloatArray:
        """(n, k) points per selected variable, in the order of :attr:`variables`."""
        columns = _columns(frame, self.names)
        return np.column_stack([v.points_of(columns[v.name]) for v in self.variables])

    def score(self, frame: Frame) -> FloatArray:
        """The score of every row (float64; whole numbers when points are rounded)."""
        return np.asarray(self.points(frame).sum(axis=1), dtype=np.float64)

    def pd(self, score: Any) -> FloatArray:
        """P(bad) of a score through the PDO scaling:
        ``ln(odds good:bad) = ln(odds) + (score − base_points) · ln 2 / pdo``."""
        p = self.params
        log_odds = math.log(p.odds) + (np.asarray(score, np.float64) - p.base_points) * (
            math.log(2) / p.pdo
        )
        # 1 / (1 + e^z) written with tanh, which never overflows.
        return np.asarray(0.5 * (1.0 - np.tanh(log_odds / 2.0)), dtype=np.float64)

    def reasons(self, points: FloatArray, k: int = 3) -> npt.NDArray[np.object_]:
        """(n, k) names of the variables that cost a row most points against their best
        bin, largest shortfall first (ties in variable order); None where fewer than k
        variables fall short."""
        points = np.asarray(points, dtype=np.float64)
        n = points.shape[0]
        best = np.array([v.best_points for v in self.variables], dtype=np.float64)
        shortfall = best[None, :] - points
        names = np.array(self.names, dtype=object)
        rows = np.arange(n)
        out = np.full((n, k), None, dtype=object)
        # k passes of argmax, not a sort: argmax takes the first of equal values, so ties
        # keep variable order, as a stable sort would, at a fraction of the cost.
        for j in range(min(k, len(names))):
            column = np.argmax(shortfall, axis=1)
            largest = shortfall[rows, column]
            out[:, j] = np.where(largest > 0, names[column], None)
            shortfall[rows, column] = -np.inf
        return out

    def points_sql(
        self, column: Callable[[str], str] = lambda n: n, *, nan_free: bool = False
    ) -> dict[str, str]:
        """Variable -> SQL expression of its points (DuckDB dialect, Spark-transpilable).

        ``nan_free``: the inputs hold no NaN (true of the ``features`` table), so a NaN is
        not tested for; on other inputs a NaN would get the last bin's points, not the
        missing bin's.
        """
        integers = self.params.round_points
        return {v.name: v.points_sql(column(v.name), integers, nan_free) for v in self.variables}

    def score_sql(
        self, column: Callable[[str], str] = lambda n: n, *, nan_free: bool = False
    ) -> str:
        """One SQL expression of the score, as a DOUBLE (DuckDB dialect; run on Spark
        through :func:`puhui.engine.to_spark_sql`). ``nan_free`` as :meth:`points_sql`."""
        terms = self.points_sql(column, nan_free=nan_free).values()
        return "CAST(" + " + ".join(f"({t})" for t in terms) + " AS DOUBLE)"

    def pd_sql(self, score: str) -> str:
        """SQL expression of P(bad) from a score expression, as :meth:`pd`."""
        p = self.params
        log_odds = (
            f"({double_sql(math.log(p.odds))} + (({score}) - {double_sql(p.base_points)})"
            f" * {double_sql(math.log(2) / p.pdo)})"
        )
        return f"(1.0e0 / (1.0e0 + exp({log_odds})))"

    # --- artefact -----------------------------------------------------------------------

    def content(self) -> dict[str, Any]:
        """Everything but the fingerprint, as JSON-ready data."""
        data = asdict(self)
        data.pop("fingerprint")
        return data

    def computed_fingerprint(self) -> str:
        canonical = json.dumps(
            self.content(),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def sealed(self) -> Scorecard:
        """This scorecard with its fingerprint computed."""
        return replace(self, fingerprint=self.computed_fingerprint())

    def to_json(self) -> str:
        data = {**self.content(), "fingerprint": self.fingerprint or self.computed_fingerprint()}
        return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Scorecard:
        """Read an artefact, refusing an unknown version or a fingerprint that does not
        match its content (an edited file)."""
        try:
            data = json.loads(text)
            version = str(data["version"])
            if version != FORMAT_VERSION:
                raise PuhuiError(
                    f"评分卡格式版本 {version} 不受支持（支持 {FORMAT_VERSION}）",
                    f"scorecard format version {version} is not supported "
                    f"(expected {FORMAT_VERSION})",
                )
            card = cls(
                version=version,
                params=ScorecardParams(**data["params"]),
                variables=tuple(
                    Variable(**{**v, "bins": tuple(_bin(b) for b in v["bins"])})
                    for v in data["variables"]
                ),
                intercept=float(data["intercept"]),
                target=str(data["target"]),
                bad_value=str(data["bad_value"]),
                selection=tuple(VariableSelection(**s) for s in data["selection"]),
                fingerprint=str(data["fingerprint"]),
            )
        except PuhuiError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise PuhuiError(
                f"评分卡文件格式错误（{type(error).__name__}）",
                f"malformed scorecard file ({type(error).__name__}: {error})",
            ) from None
        if card.computed_fingerprint() != card.fingerprint:
            raise PuhuiError(
                "评分卡文件的指纹与内容不符（文件被改动过）",
                "the scorecard file's fingerprint does not match its content (it was edited)",
            )
        return card

    def points_csv(self) -> str:
        """The points table as CSV: variable,bin,kind,count,event_count,event_rate,woe,iv,points."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["variable", "bin", "kind", "count", "event_count", "event_rate", "woe", "iv", "points"]
        )
        for v in self.variables:
            for b in v.bins:
                points = f"{b.points:.0f}" if self.params.round_points else f"{b.points:.6f}"
                writer.writerow(
                    [
                        v.name,
                        b.label,
                        b.kind,
                        b.count,
                        b.event_count,
                        f"{b.event_rate:.6f}",
                        f"{b.woe:.6f}",
                        f"{b.iv:.6f}",
                        points,
                    ]
                )
        return out.getvalue()


def _bin(data: dict[str, Any]) -> Bin:
    return Bin(**{**data, "categories": tuple(data["categories"])})


# --- values ---------------------------------------------------------------------------------


def as_float(values: Any) -> FloatArray:
    """Values as float64; None, pandas NA and text that is no number become NaN."""
    series = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce")
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def as_text(values: Any) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Values as text (``str(value)``) and a mask of the missing ones (None, NaN, NA)."""
    series = pd.Series(values, dtype=object, copy=False)
    missing = series.isna().to_numpy(dtype=bool)
    text = series.where(~missing, "").astype(str).to_numpy(dtype=object)
    return text, missing


def _columns(frame: Frame, names: Sequence[str]) -> dict[str, Any]:
    absent = [n for n in names if n not in frame]
    if absent:
        raise PuhuiError(
            f"数据缺少评分卡所需的列：{'、'.join(absent)}",
            f"the data lacks columns the scorecard needs: {', '.join(absent)}",
        )
    return {n: frame[n] for n in names}


def double_sql(value: float) -> str:
    """A float as a SQL DOUBLE literal that reads back exactly, in both engines.

    Python's repr is the shortest text that round-trips; an exponent makes both DuckDB and
    Spark read it as DOUBLE rather than DECIMAL."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"no SQL literal for {value}")
    text = repr(value + 0.0)
    return text if "e" in text else f"{text}e0"


def text_sql(value: str) -> str:
    """A string literal in DuckDB's dialect (SQLGlot adds Spark's backslash escaping)."""
    return "'" + value.replace("'", "''") + "'"


# --- fitting --------------------------------------------------------------------------------


@dataclass
class _Binned:
    """A candidate after binning: its bins without points, and its training WoE."""

    name: str
    dtype: str
    iv: float
    trend: str
    bins: list[Bin]
    woe: FloatArray


def _number_label(value: float) -> str:
    """Six significant digits, no exponent: a label for people (the bounds stay exact)."""
    return str(
        np.format_float_positional(
            float(value) + 0.0, precision=6, unique=True, fractional=False, trim="-"
        )
    )


def _interval_label(lower: float | None, upper: float | None) -> str:
    left = "(-inf" if lower is None else f"[{_number_label(lower)}"
    right = "inf)" if upper is None else f"{_number_label(upper)})"
    return f"{left}, {right}"


def _trend(rates: Sequence[float]) -> str:
    diffs = np.diff(np.asarray(rates, dtype=np.float64))
    if diffs.size == 0 or np.all(diffs == 0):
        return "flat"
    if np.all(diffs >= 0):
        return "ascending"
    if np.all(diffs <= 0):
        return "descending"
    return "peak"  # not produced with auto_asc_desc, kept for honesty


def _bin_variable(
    name: str, values: Any, y: npt.NDArray[np.int_], dtype: str, params: ScorecardParams
) -> _Binned:
    """Bin one variable with optbinning and read its table into :class:`Bin` rows."""
    from optbinning import OptimalBinning

    if dtype == NUMERICAL:
        x: Any = as_float(values)
        known = ~np.isnan(x)
        options: dict[str, Any] = {"monotonic_trend": "auto_asc_desc"}
    else:
        text, missing = as_text(values)
        x = np.where(missing, np.nan, text).astype(object)
        known = ~missing
        options = {}
    if not known.any():
        raise ValueError("no known value")
    binning = OptimalBinning(
        name=name,
        dtype=dtype,
        max_n_bins=params.max_bins,
        min_bin_size=params.min_bin_share,
        **options,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        binning.fit(x, y)
        table = binning.binning_table.build(add_totals=False)
    rows = table.to_dict("records")
    regular, missing_row = rows[:-2], rows[-1]  # the last two rows: Special, Missing

    def stats(row: dict[str, Any]) -> dict[str, Any]:
        count, events = int(row["Count"]), int(row["Event"])
        woe = float(row["WoE"])
        return {
            "count": count,
            "event_count": events,
            "event_rate": events / count if count else 0.0,
            "woe": woe if math.isfinite(woe) else 0.0,
            "iv": float(row["IV"]) if math.isfinite(float(row["IV"])) else 0.0,
            "points": 0.0,
        }

    bins: list[Bin] = []
    if dtype == NUMERICAL:
        edges: list[float | None] = [None, *(float(s) for s in binning.splits), None]
        for i, row in enumerate(regular):
            lower, upper = edges[i], edges[i + 1]
            bins.append(
                Bin(_interval_label(lower, upper), INTERVAL, lower, upper, (), **stats(row))
            )
        trend = _trend([b.event_rate for b in bins])
    else:
        for group, row in zip(binning.splits, regular, strict=True):
            categories = tuple(str(c) for c in group)
            label = "{" + ", ".join(categories) + "}"
            bins.append(Bin(label, CATEGORIES, None, None, categories, **stats(row)))
        trend = "categorical"
    bins.append(Bin("Missing", MISSING, None, None, (), **stats(missing_row)))
    if dtype == CATEGORICAL:
        # Filled with the worst bin's WoE and points once the points are known.
        bins.append(Bin("Other (unseen)", OTHER, None, None, (), 0, 0, 0.0, 0.0, 0.0, 0.0))
    iv = float(sum(b.iv for b in bins))
    woe = Variable(name, dtype, iv, 0.0, trend, tuple(bins)).woe_of(values)
    return _Binned(name, dtype, iv, trend, bins, woe)


def _psi(expected: IntArray, actual: IntArray, n_bins: int) -> float:
    """Population stability index of two arrays of bin positions."""
    e = np.bincount(expected, minlength=n_bins) / max(len(expected), 1)
    a = np.bincount(actual, minlength=n_bins) / max(len(actual), 1)
    e, a = np.maximum(e, PSI_FLOOR), np.maximum(a, PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _logistic(woe: FloatArray, y: npt.NDArray[np.int_]) -> tuple[FloatArray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=LOGISTIC_C, max_iter=1000)
    model.fit(woe, y)
    return np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0])


def _scaled(
    binned: _Binned, coefficient: float, intercept: float, k: int, params: ScorecardParams
) -> Variable:
    """The variable's bins with points (see the module docstring for the formula)."""
    factor = params.pdo / math.log(2)
    offset = params.base_points - factor * math.log(params.odds)
    woe = np.array([b.woe for b in binned.bins], dtype=np.float64)
    points = -(coefficient * woe + intercept / k) * factor + offset / k
    if params.round_points:
        points = np.rint(points)
    bins = [replace(b, points=float(p) + 0.0) for b, p in zip(binned.bins, points, strict=True)]
    if binned.dtype == CATEGORICAL:
        # Unseen categories: the worst bin's points (and its WoE, to stay explainable).
        known = bins[:-1]
        worst = min(known, key=lambda b: b.points)
        bins[-1] = replace(bins[-1], woe=worst.woe, points=worst.points)
    return Variable(binned.name, binned.dtype, binned.iv, coefficient, binned.trend, tuple(bins))


def fit_scorecard(
    frame: pd.DataFrame,
    y: Any,
    *,
    categorical: Sequence[str] = (),
    params: ScorecardParams = ScorecardParams(),  # frozen, so safe to share
    check_frame: pd.DataFrame | None = None,
    target: str = "bad",
    bad_value: str = "1",
) -> Scorecard:
    """Fit a scorecard on ``frame`` (every column a candidate) and ``y`` (1 = bad, 0 = good).

    Steps: bin every column (optbinning, monotonic event rate for numbers); keep IV ≥
    ``min_iv``; drop the weaker of any pair whose training WoE correlate beyond
    ``max_correlation``; with ``check_frame`` (an out-of-time sample), drop variables whose
    bin shares shift by PSI > ``max_psi``; keep the ``max_variables`` strongest; regress P(bad)
    on the WoE, dropping a variable whose coefficient takes the wrong sign, and refit;
    scale to points. Raises :class:`PuhuiError` when ``y`` is not binary with both classes
    or when no variable survives.
    """
    labels = np.asarray(y)
    if labels.shape != (len(frame),):
        raise PuhuiError(
            f"目标有 {labels.size} 个值，数据有 {len(frame)} 行",
            f"the target has {labels.size} values for {len(frame)} rows",
        )
    if not np.isin(labels, [0, 1]).all():
        raise PuhuiError("目标只能取 0（好）和 1（坏）", "the target must be 0 (good) or 1 (bad)")
    target_y = labels.astype(np.int64)
    bads = int(target_y.sum())
    if bads == 0 or bads == len(target_y):
        raise PuhuiError(
            "目标只有一个类别，无法训练评分卡",
            "the target has one class only; a scorecard needs goods and bads",
        )
    categorical_set = set(categorical)
    reasons: dict[str, tuple[str, str]] = {}  # name -> (en, zh)
    ivs: dict[str, float] = {}
    binned: dict[str, _Binned] = {}
    for name in frame.columns:
        dtype = CATEGORICAL if name in categorical_set else NUMERICAL
        try:
            result = _bin_variable(str(name), frame[name], target_y, dtype, params)
        except Exception as error:  # optbinning refuses e.g. an all-missing column
            ivs[str(name)] = 0.0
            reasons[str(name)] = (
                f"not binned: {type(error).__name__}",
                f"无法分箱：{type(error).__name__}",
            )
            continue
        ivs[result.name] = result.iv
        if result.iv < params.min_iv:
            reasons[result.name] = (
                f"IV {result.iv:.3f} below {params.min_iv:g}",
                f"IV {result.iv:.3f} 低于 {params.min_iv:g}",
            )
        else:
            binned[result.name] = result

    # Correlation: strongest first; a variable too close to a stronger kept one goes.
    ranked = sorted(binned, key=lambda n: -binned[n].iv)
    if len(ranked) > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = np.corrcoef(np.column_stack([binned[n].woe for n in ranked]), rowvar=False)
        corr = np.nan_to_num(np.atleast_2d(np.asarray(matrix, dtype=np.float64)))
        kept: list[int] = []
        for i, name in enumerate(ranked):
            clash = [
                (abs(corr[i, j]), ranked[j])
                for j in kept
                if abs(corr[i, j]) > params.max_correlation
            ]
            if clash:
                value, other = max(clash)
                reasons[name] = (
                    f"correlated {value:.2f} with {other}",
                    f"与 {other} 相关系数 {value:.2f}",
                )
            else:
                kept.append(i)
        ranked = [ranked[i] for i in kept]

    if check_frame is not None:
        stable = []
        for name in ranked:
            b = binned[name]
            variable = Variable(name, b.dtype, b.iv, 0.0, b.trend, tuple(b.bins))
            if name not in check_frame:
                reasons[name] = ("absent from the check sample", "检验样本中没有该列")
                continue
            psi = _psi(
                variable.bin_index(frame[name]),
                variable.bin_index(check_frame[name]),
                len(b.bins),
            )
            if psi > params.max_psi:
                reasons[name] = (f"unstable: PSI {psi:.2f}", f"不稳定：PSI {psi:.2f}")
            else:
                stable.append(name)
        ranked = stable

    for name in ranked[params.max_variables :]:
        reasons[name] = (
            f"beyond the {params.max_variables} strongest variables",
            f"不在最强的 {params.max_variables} 个变量之内",
        )
    ranked = ranked[: params.max_variables]

    # Regression; a positive coefficient on a WoE (more good, more bad) is collinearity
    # speaking, not risk: drop the weakest such variable and refit.
    coefficients: FloatArray = np.zeros(0)
    intercept = 0.0
    while ranked:
        woe = np.column_stack([binned[n].woe for n in ranked])
        coefficients, intercept = _logistic(woe, target_y)
        wrong = [n for n, c in zip(ranked, coefficients, strict=True) if c > 0]
        if not wrong:
            break
        weakest = min(wrong, key=lambda n: binned[n].iv)
        reasons[weakest] = (
            "coefficient of the wrong sign in the joint model (collinear)",
            "联合模型中系数符号相反（共线）",
        )
        ranked.remove(weakest)
    if not ranked:
        raise PuhuiError(
            f"没有变量通过筛选（IV ≥ {params.min_iv:g}、相关性、稳定性）",
            f"no variable passed the selection (IV >= {params.min_iv:g}, correlation, stability)",
        )
    variables = tuple(
        _scaled(binned[n], float(c), intercept, len(ranked), params)
        for n, c in zip(ranked, coefficients, strict=True)
    )
    selection = tuple(
        VariableSelection(
            n,
            ivs[n],
            n in ranked,
            reasons[n][0] if n in reasons else None,
            reasons[n][1] if n in reasons else None,
        )
        for n in sorted(ivs, key=lambda n: (-ivs[n], n))
    )
    card = Scorecard(
        version=FORMAT_VERSION,
        params=params,
        variables=variables,
        intercept=intercept,
        target=target,
        bad_value=bad_value,
        selection=selection,
    )
    return card.sealed()

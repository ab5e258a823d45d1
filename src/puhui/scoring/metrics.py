"""Validation and monitoring metrics of a credit model: pure numpy, vectorised.

Conventions, everywhere in this module:

``y``   the outcome, **1 for a bad** (the event: default, 90+ days past due …) and 0 for a
        good; booleans are accepted.
``pd``  the predicted probability of bad, **higher = riskier**. :func:`auc`, :func:`gini`,
        :func:`ks` and :func:`roc_curve_points` only use its order, so any risk score
        that grows with risk works too (for a scorecard's points, where higher is safer,
        pass ``-points``). :func:`brier` and :func:`calibration_by_decile` need a
        probability in [0, 1].

Both are one-dimensional and of the same length; ``pd`` must be finite. A rank metric
(AUC, Gini, KS, the ROC curve) of a sample with only bads or only goods is undefined and
returned as NaN, so that a small out-of-time sample without a bad still gets a report.

PSI (population stability index) compares the distribution of a variable in an
*expected* population (the training sample) with an *actual* one (out-of-time, or
today's applicants):

    PSI = Σ over buckets (actual share − expected share) · ln(actual share / expected share)

Every term is ≥ 0, so PSI ≥ 0, and it is 0 when the shares are equal. Above
:data:`PSI_WATCH` (0.10) a shift is worth watching, above :data:`PSI_WARNING` (0.25) the
model should be reviewed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from puhui.errors import PuhuiError

#: PSI above which a population shift warrants a review of the model.
PSI_WARNING = 0.25
#: PSI above which a population shift is worth watching.
PSI_WATCH = 0.10
#: Floor of a bucket's share in :func:`psi`: a bucket empty on one side counts as 0.01 %
#: of that population, so the logarithm stays finite (a bucket empty on both sides adds 0).
PSI_EPSILON = 1e-4

PsiLevel = Literal["ok", "watch", "warning"]

FloatArray = NDArray[np.float64]


class MetricInputError(PuhuiError, ValueError):
    """The arrays given to a metric are not usable (wrong shape, labels or values)."""


# --------------------------------------------------------------------------- inputs


def _outcome_and_pd(y: ArrayLike, pd: ArrayLike) -> tuple[NDArray[np.bool_], FloatArray]:
    """``y`` as booleans (True = bad) and ``pd`` as float64, both checked."""
    y_arr = np.asarray(y)
    pd_arr = np.asarray(pd, dtype=np.float64)
    if y_arr.ndim != 1 or pd_arr.ndim != 1:
        raise MetricInputError("y 和 pd 必须是一维数组", "y and pd must be one-dimensional")
    if y_arr.shape != pd_arr.shape:
        raise MetricInputError(
            f"y 与 pd 长度不同（{y_arr.size} 与 {pd_arr.size}）",
            f"y and pd differ in length ({y_arr.size} and {pd_arr.size})",
        )
    if y_arr.size == 0:
        raise MetricInputError("样本为空", "the sample is empty")
    if y_arr.dtype != np.bool_:
        if y_arr.dtype.kind not in "iuf":
            raise MetricInputError("y 必须是 0/1 或布尔值", "y must be 0/1 or boolean")
        if not np.all((y_arr == 0) | (y_arr == 1)):
            raise MetricInputError(
                "y 只能取 0（好）或 1（坏）", "y must be 0 (good) or 1 (bad), nothing else"
            )
        y_arr = y_arr == 1
    if not np.all(np.isfinite(pd_arr)):
        raise MetricInputError("pd 含有缺失值或无穷值", "pd contains NaN or infinite values")
    return y_arr, pd_arr


def _check_probability(pd: FloatArray) -> None:
    if np.any((pd < 0) | (pd > 1)):
        raise MetricInputError("pd 必须在 0 与 1 之间", "pd must lie between 0 and 1")


def _tie_groups(sorted_values: FloatArray) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Start index and size of each run of equal values in a sorted array."""
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    sizes = np.diff(np.r_[starts, sorted_values.size])
    return starts, sizes


def _average_ranks(values: FloatArray) -> FloatArray:
    """1-based ranks of ``values``, tied values sharing the average of their ranks."""
    order = np.argsort(values, kind="stable")
    starts, sizes = _tie_groups(values[order])
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(starts + (sizes + 1) / 2.0, sizes)
    return ranks


# --------------------------------------------------------------------------- discrimination


def auc(y: ArrayLike, pd: ArrayLike) -> float:
    """Area under the ROC curve: the probability that a random bad has a higher ``pd``
    than a random good, a tie counting one half.

    Computed from ranks (Mann–Whitney U): with the average rank of tied values,
    ``AUC = (Σ ranks of bads − n_bad (n_bad + 1) / 2) / (n_bad · n_good)``; equal to
    scikit-learn's ``roc_auc_score(y, pd)``. 0.5 is a random order, 1 a perfect one.
    NaN when the sample has no bad or no good.
    """
    bad, p = _outcome_and_pd(y, pd)
    n_bad = int(bad.sum())
    n_good = bad.size - n_bad
    if n_bad == 0 or n_good == 0:
        return math.nan
    rank_sum = float(_average_ranks(p)[bad].sum())
    return (rank_sum - n_bad * (n_bad + 1) / 2.0) / (n_bad * n_good)


def gini(y: ArrayLike, pd: ArrayLike) -> float:
    """Gini coefficient (accuracy ratio) ``2 · AUC − 1``: 0 random, 1 perfect, negative when
    the order is backwards. NaN when the sample has no bad or no good."""
    return 2.0 * auc(y, pd) - 1.0


def _cumulative_by_threshold(
    bad: NDArray[np.bool_], p: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Distinct ``pd`` values in descending order and, for each value t, the share of bads,
    of goods and of everybody with ``pd ≥ t`` (the ones a cut-off at t would reject)."""
    order = np.argsort(-p, kind="stable")
    p_sorted = p[order]
    bad_sorted = bad[order]
    starts, sizes = _tie_groups(p_sorted)
    ends = starts + sizes - 1
    cum_bad = np.cumsum(bad_sorted)[ends]
    cum_all = ends + 1
    n_bad = int(bad.sum())
    n_good = bad.size - n_bad
    tpr = cum_bad / n_bad if n_bad else np.full(ends.size, np.nan)
    fpr = (cum_all - cum_bad) / n_good if n_good else np.full(ends.size, np.nan)
    population = cum_all / bad.size
    return p_sorted[starts], tpr.astype(np.float64), fpr.astype(np.float64), population


def ks(y: ArrayLike, pd: ArrayLike) -> float:
    """Kolmogorov–Smirnov statistic: the largest distance, over all cut-offs t, between the
    cumulative distributions of ``pd`` among bads and among goods,
    ``max_t |F_bad(t) − F_good(t)|`` with ``F(t)`` the share with ``pd ≤ t``.

    A fraction in [0, 1] (multiply by 100 for the "KS points" some banks quote). Tied
    values of ``pd`` are never split by a cut-off. NaN when the sample has no bad or no
    good.
    """
    bad, p = _outcome_and_pd(y, pd)
    if bad.all() or not bad.any():
        return math.nan
    # Share with pd >= t is 1 - F(t⁻); the distance is the same on the complement.
    _, tpr, fpr, _ = _cumulative_by_threshold(bad, p)
    return float(np.max(np.abs(tpr - fpr)))


@dataclass(frozen=True)
class RocCurve:
    """Points of the ROC curve, from (0, 0) to (1, 1).

    ``threshold[i]`` is the cut-off: ``pd ≥ threshold[i]`` is called bad; the first point
    has threshold +inf (nobody called bad). ``fpr`` is the share of goods called bad,
    ``tpr`` the share of bads called bad.
    """

    fpr: FloatArray
    tpr: FloatArray
    threshold: FloatArray


def _thin(size: int, max_points: int) -> NDArray[np.intp]:
    """At most ``max_points`` indices spread evenly over ``range(size)``, first and last kept."""
    if size <= max_points:
        return np.arange(size)
    return np.unique(np.round(np.linspace(0, size - 1, max_points)).astype(np.intp))


def roc_curve_points(y: ArrayLike, pd: ArrayLike, max_points: int = 200) -> RocCurve:
    """The ROC curve at every distinct ``pd``, thinned to at most ``max_points`` points
    (evenly spread over the thresholds, both ends kept) for a chart.

    Empty arrays when the sample has no bad or no good.
    """
    if max_points < 2:
        raise MetricInputError("max_points 至少为 2", "max_points must be at least 2")
    bad, p = _outcome_and_pd(y, pd)
    if bad.all() or not bad.any():
        empty = np.empty(0, dtype=np.float64)
        return RocCurve(empty, empty, empty)
    thresholds, tpr, fpr, _ = _cumulative_by_threshold(bad, p)
    fpr = np.r_[0.0, fpr]
    tpr = np.r_[0.0, tpr]
    threshold = np.r_[np.inf, thresholds]
    keep = _thin(fpr.size, max_points)
    return RocCurve(fpr[keep], tpr[keep], threshold[keep])


@dataclass(frozen=True)
class KsCurve:
    """Cumulative shares for a KS chart, the riskiest first.

    ``population[i]`` is the share of the whole sample with ``pd ≥ threshold[i]``;
    ``bads[i]`` and ``goods[i]`` the share of bads and of goods among them. ``ks`` is the
    largest ``bads − goods`` gap, reached at ``ks_population``.
    """

    threshold: FloatArray
    population: FloatArray
    bads: FloatArray
    goods: FloatArray
    ks: float
    ks_population: float


def ks_curve_points(y: ArrayLike, pd: ArrayLike, max_points: int = 200) -> KsCurve:
    """The curves behind :func:`ks`, starting at (0, 0), thinned to at most ``max_points``
    points (the point of the KS itself is always kept). Empty arrays and NaN when the
    sample has no bad or no good."""
    if max_points < 3:
        raise MetricInputError("max_points 至少为 3", "max_points must be at least 3")
    bad, p = _outcome_and_pd(y, pd)
    if bad.all() or not bad.any():
        empty = np.empty(0, dtype=np.float64)
        return KsCurve(empty, empty, empty, empty, math.nan, math.nan)
    thresholds, tpr, fpr, share = _cumulative_by_threshold(bad, p)
    population = np.r_[0.0, share]
    bads = np.r_[0.0, tpr]
    goods = np.r_[0.0, fpr]
    threshold = np.r_[np.inf, thresholds]
    gap = np.abs(bads - goods)
    best = int(np.argmax(gap))
    keep = np.union1d(_thin(bads.size, max_points - 1), [best])
    return KsCurve(
        threshold[keep],
        population[keep],
        bads[keep],
        goods[keep],
        float(gap[best]),
        float(population[best]),
    )


# --------------------------------------------------------------------------- calibration


def brier(y: ArrayLike, pd: ArrayLike) -> float:
    """Brier score: the mean of ``(pd − y)²``; 0 is perfect, lower is better. ``pd`` must
    be a probability."""
    bad, p = _outcome_and_pd(y, pd)
    _check_probability(p)
    return float(np.mean((p - bad) ** 2))


@dataclass(frozen=True)
class CalibrationBin:
    """One decile of ``pd``: decile 1 holds the lowest predicted risk, 10 the highest."""

    decile: int
    count: int
    bads: int
    pd_min: float
    pd_max: float
    #: mean predicted probability of bad in the decile
    mean_pd: float
    #: observed share of bads in the decile
    bad_rate: float


def calibration_by_decile(y: ArrayLike, pd: ArrayLike) -> list[CalibrationBin]:
    """Predicted against observed bad rate per decile of ``pd``.

    The decile edges are the 10 %, 20 % … 90 % quantiles of ``pd`` (linear
    interpolation); decile k holds ``edge[k-1] < pd ≤ edge[k]``. Equal values of ``pd``
    always land in the same decile, so when many customers share a value (a scorecard
    has few distinct scores) some deciles are empty: those are left out, and the others
    keep their number (1–10). A well calibrated model has ``mean_pd ≈ bad_rate`` in every
    decile.
    """
    bad, p = _outcome_and_pd(y, pd)
    _check_probability(p)
    edges = np.quantile(p, np.linspace(0.1, 0.9, 9))
    decile = np.searchsorted(edges, p, side="left")
    counts = np.bincount(decile, minlength=10)
    bads = np.bincount(decile, weights=bad, minlength=10)
    sums = np.bincount(decile, weights=p, minlength=10)
    mins = np.full(10, np.inf)
    maxs = np.full(10, -np.inf)
    np.minimum.at(mins, decile, p)
    np.maximum.at(maxs, decile, p)
    return [
        CalibrationBin(
            decile=k + 1,
            count=int(counts[k]),
            bads=int(bads[k]),
            pd_min=float(mins[k]),
            pd_max=float(maxs[k]),
            mean_pd=float(sums[k] / counts[k]),
            bad_rate=float(bads[k] / counts[k]),
        )
        for k in range(10)
        if counts[k] > 0
    ]


# --------------------------------------------------------------------------- one sample


@dataclass(frozen=True)
class SampleMetrics:
    """The headline metrics of one scored sample ("train", "test", "out_of_time" …)."""

    name: str
    n: int
    bads: int
    bad_rate: float
    auc: float
    gini: float
    ks: float
    brier: float


def sample_metrics(name: str, y: ArrayLike, pd: ArrayLike) -> SampleMetrics:
    """n, bads, bad rate, AUC, Gini, KS and Brier score of one sample (see the functions
    of the same names); the rank metrics are NaN when the sample has no bad or no good."""
    bad, p = _outcome_and_pd(y, pd)
    n_bad = int(bad.sum())
    area = auc(bad, p)
    return SampleMetrics(
        name=name,
        n=int(bad.size),
        bads=n_bad,
        bad_rate=n_bad / bad.size,
        auc=area,
        gini=2.0 * area - 1.0,
        ks=ks(bad, p),
        brier=brier(bad, p),
    )


# --------------------------------------------------------------------------- stability


@dataclass(frozen=True)
class PsiBucket:
    """One bucket of a PSI computation.

    ``label`` is ``"(a, b]"`` for a numeric bucket (``-inf`` / ``+inf`` at the ends) or the
    category itself; the missing bucket (NaN, None) has ``missing=True`` and label
    ``"missing"``. Shares are the plain shares (they sum to 1 per population, before the
    :data:`PSI_EPSILON` floor); ``psi`` is the bucket's term of the sum.
    """

    label: str
    missing: bool
    expected_count: int
    actual_count: int
    expected_share: float
    actual_share: float
    psi: float


MISSING_LABEL = "missing"


def _format_edge(value: float) -> str:
    if value == math.inf:
        return "+inf"
    if value == -math.inf:
        return "-inf"
    return f"{value:.6g}"


def _buckets(
    labels: Sequence[str],
    missing: Sequence[bool],
    expected_counts: NDArray[np.int64],
    actual_counts: NDArray[np.int64],
) -> list[PsiBucket]:
    e_total = int(expected_counts.sum())
    a_total = int(actual_counts.sum())
    e_share = expected_counts / e_total
    a_share = actual_counts / a_total
    e_floor = np.maximum(e_share, PSI_EPSILON)
    a_floor = np.maximum(a_share, PSI_EPSILON)
    terms = (a_floor - e_floor) * np.log(a_floor / e_floor)
    return [
        PsiBucket(
            label=labels[i],
            missing=missing[i],
            expected_count=int(expected_counts[i]),
            actual_count=int(actual_counts[i]),
            expected_share=float(e_share[i]),
            actual_share=float(a_share[i]),
            psi=float(terms[i]),
        )
        for i in range(len(labels))
    ]


def _numeric(values: ArrayLike, which: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricInputError(
            f"{which} 不是数值数组（类别变量请用 psi_categorical）",
            f"{which} is not numeric (use psi_categorical for categories)",
        ) from exc
    if arr.ndim != 1 or arr.size == 0:
        raise MetricInputError(
            f"{which} 必须是非空一维数组", f"{which} must be a non-empty 1-D array"
        )
    if np.any(np.isinf(arr)):
        raise MetricInputError(f"{which} 含有无穷值", f"{which} contains infinite values")
    return arr


def _numeric_table(expected: ArrayLike, actual: ArrayLike, bins: int) -> list[PsiBucket]:
    if bins < 1:
        raise MetricInputError("bins 至少为 1", "bins must be at least 1")
    e = _numeric(expected, "expected")
    a = _numeric(actual, "actual")
    e_nan = np.isnan(e)
    a_nan = np.isnan(a)
    e_vals = e[~e_nan]
    if e_vals.size:
        edges = np.unique(np.quantile(e_vals, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    else:
        edges = np.empty(0, dtype=np.float64)
    n_buckets = edges.size + 1
    e_counts = np.bincount(np.searchsorted(edges, e_vals, side="left"), minlength=n_buckets)
    a_counts = np.bincount(np.searchsorted(edges, a[~a_nan], side="left"), minlength=n_buckets)
    bounds = np.r_[-np.inf, edges, np.inf]
    labels = [
        f"({_format_edge(bounds[i])}, {_format_edge(bounds[i + 1])}"
        + (")" if i == n_buckets - 1 else "]")
        for i in range(n_buckets)
    ]
    missing = [False] * n_buckets
    if e_nan.any() or a_nan.any():
        e_counts = np.r_[e_counts, int(e_nan.sum())]
        a_counts = np.r_[a_counts, int(a_nan.sum())]
        labels.append(MISSING_LABEL)
        missing.append(True)
    return _buckets(labels, missing, e_counts.astype(np.int64), a_counts.astype(np.int64))


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):  # pandas.NA and the like refuse to be a bool
        return True


def _categories(values: ArrayLike, which: str) -> tuple[NDArray[np.str_], int]:
    """The non-missing values as strings, and the number of missing ones."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1 or arr.size == 0:
        raise MetricInputError(
            f"{which} 必须是非空一维数组", f"{which} must be a non-empty 1-D array"
        )
    missing = np.fromiter((_is_missing(v) for v in arr), dtype=np.bool_, count=arr.size)
    present = arr[~missing].astype(str)
    return present, int(missing.sum())


def _categorical_table(expected: ArrayLike, actual: ArrayLike) -> list[PsiBucket]:
    e, e_missing = _categories(expected, "expected")
    a, a_missing = _categories(actual, "actual")
    e_cats, e_n = np.unique(e, return_counts=True)
    a_cats, a_n = np.unique(a, return_counts=True)
    cats = np.union1d(e_cats, a_cats)
    e_counts = np.zeros(cats.size, dtype=np.int64)
    a_counts = np.zeros(cats.size, dtype=np.int64)
    e_counts[np.searchsorted(cats, e_cats)] = e_n
    a_counts[np.searchsorted(cats, a_cats)] = a_n
    labels = [str(c) for c in cats]
    missing = [False] * cats.size
    if e_missing or a_missing:
        e_counts = np.r_[e_counts, e_missing]
        a_counts = np.r_[a_counts, a_missing]
        labels.append(MISSING_LABEL)
        missing.append(True)
    return _buckets(labels, missing, e_counts, a_counts)


def _is_categorical(values: ArrayLike) -> bool:
    return np.asarray(values).dtype.kind in "OUS"


def psi_table(
    expected: ArrayLike, actual: ArrayLike, *, bins: int = 10, categorical: bool | None = None
) -> list[PsiBucket]:
    """The buckets of :func:`psi` (numeric) or :func:`psi_categorical`, with counts,
    shares and each bucket's term, for a report; ``sum(b.psi for b in table)`` is the PSI.

    ``categorical=None`` decides from the arrays: str or object dtype is categorical,
    anything else numeric (convert a pandas column with ``pd.NA`` with
    ``.to_numpy(dtype=float, na_value=np.nan)`` first).
    """
    if categorical is None:
        categorical = _is_categorical(expected) or _is_categorical(actual)
    if categorical:
        return _categorical_table(expected, actual)
    return _numeric_table(expected, actual, bins)


def psi(expected: ArrayLike, actual: ArrayLike, *, bins: int = 10) -> float:
    """PSI of a numeric variable between the ``expected`` and the ``actual`` population.

    Buckets: the edges are the distinct ``1/bins, 2/bins … (bins−1)/bins`` quantiles of
    the non-missing ``expected`` values (linear interpolation), each bucket is
    ``(edge[i-1], edge[i]]`` with ``-inf`` and ``+inf`` at the ends, so that every
    expected bucket holds about ``1/bins`` of it (fewer buckets when values repeat).
    NaN values form a bucket of their own (present when either side has one). A share is
    floored at :data:`PSI_EPSILON` (0.01 %) before the logarithm, so an empty bucket
    gives a large but finite term. Infinite values are refused.
    """
    return float(sum(b.psi for b in _numeric_table(expected, actual, bins)))


def psi_categorical(expected: ArrayLike, actual: ArrayLike) -> float:
    """PSI of a categorical variable (str or object arrays): one bucket per category seen
    in either population, compared as ``str(value)``; None (and NaN) is a category of its
    own. A category absent on one side counts as :data:`PSI_EPSILON` of it."""
    return float(sum(b.psi for b in _categorical_table(expected, actual)))


def psi_level(value: float | None) -> PsiLevel | None:
    """``"warning"`` above :data:`PSI_WARNING`, ``"watch"`` above :data:`PSI_WATCH`, else
    ``"ok"``; None for a missing (None or NaN) value."""
    if value is None or math.isnan(value):
        return None
    if value > PSI_WARNING:
        return "warning"
    if value > PSI_WATCH:
        return "watch"
    return "ok"

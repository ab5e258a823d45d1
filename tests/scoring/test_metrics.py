"""Validation and monitoring metrics: golden numbers on hand-made arrays, agreement with
scikit-learn, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from puhui.errors import PuhuiError
from puhui.scoring.metrics import (
    PSI_EPSILON,
    PSI_WARNING,
    PSI_WATCH,
    MetricInputError,
    auc,
    brier,
    calibration_by_decile,
    gini,
    ks,
    ks_curve_points,
    psi,
    psi_categorical,
    psi_level,
    psi_table,
    roc_curve_points,
    sample_metrics,
)

# The classic four-point example: bads at 0.35 and 0.8, goods at 0.1 and 0.4.
Y4 = np.array([0, 0, 1, 1])
PD4 = np.array([0.1, 0.4, 0.35, 0.8])


def _ks_direct(y: np.ndarray, pd: np.ndarray) -> float:
    """max over every observed cut-off t of |F_bad(t) − F_good(t)|, F(t) = share ≤ t."""
    bads, goods = pd[y == 1], pd[y == 0]
    return max(abs(np.mean(bads <= t) - np.mean(goods <= t)) for t in np.unique(pd))


# --------------------------------------------------------------------------- golden


def test_golden_four_points() -> None:
    assert auc(Y4, PD4) == pytest.approx(0.75)
    assert gini(Y4, PD4) == pytest.approx(0.5)
    assert ks(Y4, PD4) == pytest.approx(0.5)
    assert brier(Y4, PD4) == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)


def test_auc_ties_count_one_half() -> None:
    # bad/good pairs: (0.5, 0.5) tie → ½, (0.5, 0.2) 1, (0.9, 0.5) 1, (0.9, 0.2) 1.
    y = np.array([0, 1, 0, 1])
    pd = np.array([0.5, 0.5, 0.2, 0.9])
    assert auc(y, pd) == pytest.approx(3.5 / 4)
    assert auc(np.array([0, 1, 0, 1]), np.full(4, 0.3)) == pytest.approx(0.5)
    assert ks(np.array([0, 1, 0, 1]), np.full(4, 0.3)) == 0.0


def test_perfect_and_backwards_order() -> None:
    y = np.array([0, 0, 0, 1, 1])
    pd = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    assert auc(y, pd) == 1.0
    assert gini(y, pd) == 1.0
    assert ks(y, pd) == 1.0
    assert auc(y, -pd) == 0.0
    assert gini(y, -pd) == -1.0
    assert ks(y, -pd) == 1.0  # a distance: the order backwards separates just as well


def test_booleans_and_lists_are_accepted() -> None:
    assert auc(Y4.astype(bool), PD4) == pytest.approx(0.75)
    assert auc(list(Y4), list(PD4)) == pytest.approx(0.75)
    assert auc(Y4.astype(float), PD4) == pytest.approx(0.75)


def test_roc_curve_golden_and_sklearn() -> None:
    curve = roc_curve_points(Y4, PD4)
    np.testing.assert_allclose(curve.fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(curve.tpr, [0, 0.5, 0.5, 1, 1])
    assert curve.threshold[0] == math.inf
    np.testing.assert_allclose(curve.threshold[1:], [0.8, 0.4, 0.35, 0.1])

    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 500)
    pd = np.round(rng.random(500), 2)  # ties
    fpr, tpr, _ = roc_curve(y, pd, drop_intermediate=False)
    ours = roc_curve_points(y, pd, max_points=10_000)
    np.testing.assert_allclose(ours.fpr, fpr)
    np.testing.assert_allclose(ours.tpr, tpr)
    # The area under our points is the AUC.
    assert np.trapezoid(ours.tpr, ours.fpr) == pytest.approx(auc(y, pd))


def test_roc_curve_is_thinned_with_both_ends() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 2000)
    pd = rng.random(2000)
    curve = roc_curve_points(y, pd, max_points=50)
    assert curve.fpr.size <= 50
    assert (curve.fpr[0], curve.tpr[0]) == (0.0, 0.0)
    assert (curve.fpr[-1], curve.tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(curve.fpr) >= 0)
    assert np.all(np.diff(curve.tpr) >= 0)


def test_ks_curve_holds_the_ks_point() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 3000)
    pd = np.clip(rng.normal(0.3 + 0.2 * y, 0.2), 0, 1)
    curve = ks_curve_points(y, pd, max_points=40)
    assert curve.population.size <= 40
    assert curve.ks == pytest.approx(ks(y, pd))
    gaps = np.abs(curve.bads - curve.goods)
    assert gaps.max() == pytest.approx(curve.ks)
    assert curve.population[np.argmax(gaps)] == curve.ks_population
    assert (curve.population[0], curve.population[-1]) == (0.0, 1.0)


def test_brier_equals_sklearn() -> None:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 400)
    pd = rng.random(400)
    assert brier(y, pd) == pytest.approx(brier_score_loss(y, pd))


def test_one_class_sample_gives_nan_rank_metrics() -> None:
    y = np.zeros(5)
    pd = np.linspace(0.1, 0.5, 5)
    assert math.isnan(auc(y, pd))
    assert math.isnan(gini(y, pd))
    assert math.isnan(ks(y, pd))
    assert roc_curve_points(y, pd).fpr.size == 0
    m = sample_metrics("out_of_time", y, pd)
    assert (m.n, m.bads, m.bad_rate) == (5, 0, 0.0)
    assert math.isnan(m.auc)
    assert m.brier == pytest.approx(float(np.mean(pd**2)))


def test_sample_metrics() -> None:
    m = sample_metrics("train", Y4, PD4)
    assert m.name == "train"
    assert (m.n, m.bads, m.bad_rate) == (4, 2, 0.5)
    assert (m.auc, m.gini, m.ks) == pytest.approx((0.75, 0.5, 0.5))
    assert m.brier == pytest.approx(brier(Y4, PD4))


@pytest.mark.parametrize(
    ("y", "pd"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3]),  # label other than 0/1
        ([0, 1], [0.1, 0.2, 0.3]),  # lengths differ
        ([0, 1, 1], [0.1, math.nan, 0.3]),  # NaN in pd
        ([0, 1, 1], [0.1, math.inf, 0.3]),
        ([], []),
        ([[0, 1]], [[0.1, 0.2]]),  # 2-D
        (["good", "bad"], [0.1, 0.2]),
    ],
)
def test_invalid_inputs_are_refused(y: list[object], pd: list[object]) -> None:
    with pytest.raises(MetricInputError) as info:
        auc(y, pd)
    assert isinstance(info.value, PuhuiError)
    assert isinstance(info.value, ValueError)
    assert info.value.message_zh
    assert info.value.message_en


def test_brier_and_calibration_need_probabilities() -> None:
    with pytest.raises(MetricInputError):
        brier([0, 1], [0.2, 1.5])
    with pytest.raises(MetricInputError):
        calibration_by_decile([0, 1], [-0.1, 0.5])
    assert auc([0, 1], [-3.0, 12.0]) == 1.0  # a rank metric takes any risk score


# --------------------------------------------------------------------------- calibration


def test_calibration_golden() -> None:
    # Ten groups of ten with pd (k − ½)/10 and k bads each, k = 1 … 10.
    pd = np.repeat((np.arange(1, 11) - 0.5) / 10, 10)
    y = np.concatenate([np.r_[np.ones(k), np.zeros(10 - k)] for k in range(1, 11)])
    bins = calibration_by_decile(y, pd)
    assert [b.decile for b in bins] == list(range(1, 11))
    assert [b.count for b in bins] == [10] * 10
    assert [b.bads for b in bins] == list(range(1, 11))
    assert [b.bad_rate for b in bins] == pytest.approx([k / 10 for k in range(1, 11)])
    assert [b.mean_pd for b in bins] == pytest.approx([(k - 0.5) / 10 for k in range(1, 11)])
    assert all(b.pd_min == b.pd_max == pytest.approx(b.mean_pd) for b in bins)


def test_calibration_keeps_ties_together() -> None:
    pd = np.r_[np.full(50, 0.1), np.full(50, 0.2)]
    y = np.r_[np.zeros(45), np.ones(5), np.zeros(40), np.ones(10)]
    bins = calibration_by_decile(y, pd)
    assert [b.count for b in bins] == [50, 50]
    assert bins[0].decile == 1
    assert bins[1].decile > 1
    assert [b.bad_rate for b in bins] == pytest.approx([0.1, 0.2])
    assert sum(b.count for b in bins) == 100


# --------------------------------------------------------------------------- PSI


def test_psi_golden() -> None:
    expected = np.arange(1, 11, dtype=float)  # median 5.5: two buckets of 5
    actual = np.array([1, 1, 1, 1, 1, 1, 1, 1, 9, 9], dtype=float)
    golden = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(expected, actual, bins=2) == pytest.approx(golden)
    table = psi_table(expected, actual, bins=2)
    assert [b.label for b in table] == ["(-inf, 5.5]", "(5.5, +inf)"]
    assert [b.expected_count for b in table] == [5, 5]
    assert [b.actual_count for b in table] == [8, 2]
    assert [b.actual_share for b in table] == pytest.approx([0.8, 0.2])
    assert sum(b.psi for b in table) == pytest.approx(golden)


def test_psi_identical_is_zero_and_shift_is_a_warning() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=5000)
    assert psi(x, x) == 0.0
    assert psi(x, rng.permutation(x)) == 0.0
    assert psi(x, rng.normal(size=5000)) < PSI_WATCH
    shifted = psi(x, rng.normal(loc=1.0, size=5000))
    assert shifted > PSI_WARNING
    assert psi_level(shifted) == "warning"


def test_psi_nan_is_its_own_bucket() -> None:
    expected = np.array([1, 2, 3, 4, math.nan])
    actual = np.array([1, 2, math.nan, math.nan, math.nan])
    table = psi_table(expected, actual, bins=2)
    assert [b.label for b in table] == ["(-inf, 2.5]", "(2.5, +inf)", "missing"]
    assert [b.missing for b in table] == [False, False, True]
    assert [b.expected_share for b in table] == pytest.approx([0.4, 0.4, 0.2])
    assert [b.actual_share for b in table] == pytest.approx([0.4, 0.0, 0.6])
    # The empty bucket counts as PSI_EPSILON of the actual population.
    golden = (PSI_EPSILON - 0.4) * math.log(PSI_EPSILON / 0.4) + (0.6 - 0.2) * math.log(3)
    assert psi(expected, actual, bins=2) == pytest.approx(golden)
    # Without a NaN on either side there is no missing bucket.
    assert not any(b.missing for b in psi_table([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]))
    # Only NaN as expected: one bucket for every value, and the missing one.
    assert len(psi_table([math.nan, math.nan], [1.0, math.nan])) == 2


def test_psi_repeated_values_give_fewer_buckets() -> None:
    expected = np.r_[np.zeros(80), np.arange(1, 21)]  # 80 % zeros
    table = psi_table(expected, expected)
    assert table[0].label == "(-inf, 0]"
    assert table[0].expected_share == pytest.approx(0.8)
    assert len(table) < 10
    assert psi(expected, expected) == 0.0


def test_psi_categorical() -> None:
    expected = np.array(["a", "a", "b", None], dtype=object)
    actual = np.array(["a", "b", "b", "c"], dtype=object)
    table = psi_table(expected, actual)
    assert [b.label for b in table] == ["a", "b", "c", "missing"]
    assert [b.expected_share for b in table] == pytest.approx([0.5, 0.25, 0.0, 0.25])
    assert [b.actual_share for b in table] == pytest.approx([0.25, 0.5, 0.25, 0.0])
    e = np.maximum([0.5, 0.25, 0.0, 0.25], PSI_EPSILON)
    a = np.maximum([0.25, 0.5, 0.25, 0.0], PSI_EPSILON)
    assert psi_categorical(expected, actual) == pytest.approx(
        float(np.sum((a - e) * np.log(a / e)))
    )
    same = np.array(["x", None, "y", math.nan], dtype=object)
    assert psi_categorical(same, same) == 0.0
    assert psi_categorical(np.array(["x", "y"]), np.array(["y", "x"])) == 0.0


def test_psi_refuses_bad_input() -> None:
    with pytest.raises(MetricInputError):
        psi([1.0, math.inf], [1.0, 2.0])
    with pytest.raises(MetricInputError):
        psi([], [1.0])
    with pytest.raises(MetricInputError):
        psi(np.array(["a", "b"]), np.array(["a", "b"]))
    with pytest.raises(MetricInputError):
        psi([1.0, 2.0], [1.0], bins=0)


def test_psi_levels() -> None:
    assert psi_level(None) is None
    assert psi_level(math.nan) is None
    assert psi_level(0.05) == "ok"
    assert psi_level(PSI_WATCH) == "ok"
    assert psi_level(0.11) == "watch"
    assert psi_level(PSI_WARNING) == "watch"
    assert psi_level(0.26) == "warning"


# --------------------------------------------------------------------------- sklearn, direct


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_sklearn_and_ks_the_direct_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 2000))
    y = (rng.random(n) < rng.uniform(0.02, 0.5)).astype(int)
    y[:2] = [0, 1]
    pd = rng.beta(2, 5, n) + 0.1 * y
    if seed % 2:
        pd = np.round(pd, 2)  # many ties
    assert auc(y, pd) == pytest.approx(roc_auc_score(y, pd), abs=1e-12)
    assert ks(y, pd) == pytest.approx(_ks_direct(y, pd), abs=1e-12)
    fpr, tpr, _ = roc_curve(y, pd)
    assert ks(y, pd) == pytest.approx(np.max(np.abs(tpr - fpr)), abs=1e-12)


# --------------------------------------------------------------------------- properties

_samples = st.lists(
    st.tuples(st.booleans(), st.floats(0, 1, allow_nan=False)), min_size=2, max_size=60
)


@given(_samples)
@settings(max_examples=200, deadline=None)
def test_rank_metrics_are_bounded(rows: list[tuple[bool, float]]) -> None:
    y = np.array([r[0] for r in rows])
    pd = np.array([r[1] for r in rows])
    assume(y.any() and not y.all())
    area = auc(y, pd)
    assert 0.0 <= area <= 1.0
    assert -1.0 <= gini(y, pd) <= 1.0
    assert 0.0 <= ks(y, pd) <= 1.0
    assert ks(y, pd) == pytest.approx(_ks_direct(y, pd))
    assert area == pytest.approx(roc_auc_score(y, pd))


@given(_samples)
@settings(max_examples=200, deadline=None)
def test_reversed_order_complements_auc(rows: list[tuple[bool, float]]) -> None:
    y = np.array([r[0] for r in rows])
    pd = np.array([r[1] for r in rows])
    assume(y.any() and not y.all())
    assume(np.unique(pd).size == pd.size)  # no ties
    assert auc(y, pd) + auc(y, -pd) == pytest.approx(1.0)


_values = st.lists(
    st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(math.nan)), min_size=1, max_size=80
)


@given(_values, _values, st.integers(1, 12))
@settings(max_examples=200, deadline=None)
def test_psi_is_non_negative(expected: list[float], actual: list[float], bins: int) -> None:
    value = psi(expected, actual, bins=bins)
    assert value >= 0.0
    assert math.isfinite(value)
    table = psi_table(expected, actual, bins=bins)
    assert sum(b.expected_count for b in table) == len(expected)
    assert sum(b.actual_count for b in table) == len(actual)
    assert psi(expected, expected, bins=bins) == 0.0


@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=40),
    st.lists(st.sampled_from(["a", "b", "d", None]), min_size=1, max_size=40),
)
@settings(max_examples=100, deadline=None)
def test_psi_categorical_is_non_negative(
    expected: list[str | None], actual: list[str | None]
) -> None:
    e = np.array(expected, dtype=object)
    a = np.array(actual, dtype=object)
    assert psi_categorical(e, a) >= 0.0
    assert psi_categorical(e, e) == 0.0

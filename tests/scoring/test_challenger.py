"""The LightGBM challenger: monotone, calibrated, explainable, and a JSON artefact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from puhui.scoring.challenger import Challenger, fit_challenger, monotone_directions, top_reasons


def _frame(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrears = rng.poisson(0.4, n).astype(float)
    revenue = rng.lognormal(11, 1, n)
    noise = rng.normal(size=n)
    kind = rng.choice(["enterprise", "individual", "coop"], n)
    revenue[rng.random(n) < 0.1] = np.nan
    logit = -3.5 + 0.9 * arrears - 0.4 * (np.log(np.nan_to_num(revenue, nan=1e5)) - 11)
    logit += np.where(kind == "coop", 0.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    frame = pd.DataFrame({"arrears": arrears, "revenue": revenue, "noise": noise, "kind": kind})
    return frame, y


@pytest.fixture(scope="module")
def fitted() -> tuple[Challenger, pd.DataFrame, np.ndarray]:
    frame, y = _frame()
    model = fit_challenger(
        frame, y, features=["arrears", "revenue", "noise", "kind"], categorical=["kind"]
    )
    return model, frame, y


def test_directions_follow_the_data() -> None:
    frame, y = _frame()
    directions = monotone_directions(frame, y, ["arrears", "revenue"])
    assert directions == {"arrears": 1, "revenue": -1}


def test_pd_is_monotone_in_constrained_features(
    fitted: tuple[Challenger, pd.DataFrame, np.ndarray],
) -> None:
    model, _, _ = fitted
    assert model.monotone[:2] == (1, -1)
    grid = pd.DataFrame(
        {
            "arrears": np.arange(0, 8, dtype=float),
            "revenue": np.full(8, 50_000.0),
            "noise": np.zeros(8),
            "kind": ["individual"] * 8,
        }
    )
    pd_ = model.pd(grid)
    assert np.all(np.diff(pd_) >= -1e-12)
    grid["arrears"] = 1.0
    grid["revenue"] = np.geomspace(1e3, 1e7, 8)
    assert np.all(np.diff(model.pd(grid)) <= 1e-12)


def test_calibrated_pd_matches_the_bad_rate(
    fitted: tuple[Challenger, pd.DataFrame, np.ndarray],
) -> None:
    model, frame, y = fitted
    pd_ = model.pd(frame)
    assert np.all((pd_ > 0) & (pd_ < 1))
    assert abs(pd_.mean() - y.mean()) < 0.25 * y.mean()


def test_reasons_are_features_that_raise_the_pd(
    fitted: tuple[Challenger, pd.DataFrame, np.ndarray],
) -> None:
    model, frame, _ = fitted
    risky = frame.iloc[:200].assign(arrears=6.0)
    reasons = model.reasons(risky)
    assert reasons.shape == (200, 3)
    assert (reasons[:, 0] == "arrears").mean() > 0.9
    contributions = model.contributions(risky)
    margin = model.margin(risky) * model.calibration_slope
    # Contributions plus the expected value add up to the calibrated margin.
    booster_bias = margin - contributions.sum(axis=1)
    assert np.allclose(booster_bias, booster_bias[0])


def test_top_reasons_skip_contributions_that_lower_the_pd() -> None:
    contributions = np.array([[0.3, -0.2, 0.1, 0.0], [-1.0, -2.0, -0.5, -0.1]])
    reasons = top_reasons(contributions, ["a", "b", "c", "d"], 3)
    assert reasons.tolist() == [["a", "c", None], [None, None, None]]


def test_json_round_trip_predicts_the_same(
    fitted: tuple[Challenger, pd.DataFrame, np.ndarray],
) -> None:
    model, frame, _ = fitted
    again = Challenger.from_json(model.to_json())
    assert again == model
    assert np.array_equal(again.pd(frame), model.pd(frame))
    unseen = frame.iloc[:5].assign(kind="unknown-kind", revenue=np.nan)
    assert np.isfinite(again.pd(unseen)).all()

"""One business at a time equals the whole region at once: the engine against the batch
scores of ``puhui score`` (warehouse SQL for the scorecard, LightGBM for the challenger),
on every business of the test region, from the feature vectors its profiles publish."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from puhui.decisions.engine import BoosterScorer, DecisionEngine, DecisionRequest
from puhui.decisions.trees import parse_booster
from puhui.scoring.challenger import Challenger
from puhui.scoring.policy import load_policy
from tests.decisions.conftest import Region

REQUEST = DecisionRequest(Decimal("100000"))


def _reasons(row: pd.Series) -> list[str]:
    return [r for r in (row["reason_1"], row["reason_2"], row["reason_3"]) if r is not None]


def _knockouts(row: pd.Series) -> list[str]:
    return [k for k in str(row["knockouts"]).split(",") if k]


def test_scorecard_engine_equals_batch_scoring_exactly(region: Region) -> None:
    engine = DecisionEngine(load_policy(), region.scorecard, [region.challenger])
    champion, challenger = region.champion_rows(), region.challenger_rows()
    assert len(champion) == len(region.features) > 5000
    mismatches: list[str] = []
    shadow_gap = 0.0
    outcomes: set[str] = set()
    for uscc, features in region.features.items():
        result = engine.decide(features, REQUEST).to_json()
        outcomes.add(result["outcome"])
        batch = champion.loc[uscc]
        rating = result["rating"]
        got = (
            rating["score"],
            rating["pd"],
            rating["tier"],
            rating["credit_points"],
            Decimal(result["limit"]["pre_credit_limit"]),
            result["price"]["policy_rate_bp"],
            result["admission"]["admitted"],
            [k["code"] for k in result["admission"]["knockouts"]],
            [r["feature"] for r in rating["reasons"]],
        )
        expected = (
            float(batch["score"]),
            float(batch["pd"]),
            batch["tier"],
            int(batch["credit_points"]),
            Decimal(int(batch["pre_credit_limit"])),
            int(batch["rate_bp"]),
            bool(batch["admitted"]),
            _knockouts(batch),
            _reasons(batch),
        )
        if got != expected:
            mismatches.append(f"{uscc}: {got} != {expected}")
        shadow = result["shadow"][0]
        other = challenger.loc[uscc]
        shadow_gap = max(shadow_gap, abs(shadow["pd"] - float(other["pd"])))
        if (shadow["credit_points"], shadow["tier"]) != (
            int(other["credit_points"]),
            other["tier"],
        ):
            mismatches.append(f"{uscc} shadow: {shadow} != {dict(other)}")
    assert mismatches == []
    assert shadow_gap <= 1e-12
    assert outcomes == {"approve", "refer", "decline"}  # the region exercises all three


def test_lightgbm_tree_walk_equals_lightgbm_predict(region: Region) -> None:
    """Our numpy walk of the dumped trees against LightGBM's own raw predictions, on every
    business of the region and on the training samples' feature rows with values removed."""
    challenger = Challenger.from_json(region.challenger.artefact)
    scorer = BoosterScorer(challenger)
    frame = pd.DataFrame.from_dict(region.features, orient="index")
    # Knock out a tenth of the values, so missing numbers and categories are walked too.
    rng = np.random.default_rng(5)
    holed = frame.copy()
    for name in challenger.features:
        holed.loc[rng.random(len(holed)) < 0.1, name] = None
    for data in (frame, holed):
        x = np.vstack([scorer.row(row) for row in data.to_dict("records")])
        ours = scorer.table.margin(x)
        theirs = challenger.margin(data)
        assert np.max(np.abs(ours - theirs)) <= 1e-9
        assert np.max(np.abs(scorer.pd_of(x) - challenger.pd(data))) <= 1e-9
    assert scorer.table.categorical.any()  # categorical splits were exercised


def test_tree_contributions_equal_lightgbm_pred_contrib(region: Region) -> None:
    challenger = Challenger.from_json(region.challenger.artefact)
    scorer = BoosterScorer(challenger)
    rows = list(region.features.values())[:150]
    frame = pd.DataFrame(rows)
    theirs = np.asarray(
        challenger._booster().predict(challenger.matrix(frame), pred_contrib=True), dtype=float
    )
    ours = np.vstack([scorer.table.contributions(scorer.row(row)) for row in rows])
    assert np.max(np.abs(ours - theirs)) <= 1e-9
    # The contributions add up to the margin, as LightGBM's do.
    margins = scorer.table.margin(np.vstack([scorer.row(row) for row in rows]))
    assert np.max(np.abs(ours.sum(axis=1) - margins)) <= 1e-9


def test_lightgbm_champion_decides_like_the_batch(region: Region) -> None:
    """The challenger promoted: its engine's PD and reasons against its batch rows."""
    engine = DecisionEngine(load_policy(), region.challenger)
    batch = region.challenger_rows()
    sample = list(region.features.items())[:300]
    for uscc, features in sample:
        rating = engine.decide(features, REQUEST).to_json()["rating"]
        row = batch.loc[uscc]
        assert rating["pd"] == pytest.approx(float(row["pd"]), abs=1e-12)
        assert rating["credit_points"] == int(row["credit_points"])
        assert [r["feature"] for r in rating["reasons"]] == _reasons(row), uscc


def test_parse_refuses_what_it_cannot_walk() -> None:
    from puhui.decisions.trees import TreeModelError

    with pytest.raises(TreeModelError, match="binary"):
        parse_booster("tree\nnum_class=3\nmax_feature_idx=1\n")
    with pytest.raises(TreeModelError, match="no trees"):
        parse_booster("tree\nmax_feature_idx=1\n\nend of trees\n")

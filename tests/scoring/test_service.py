"""The scoring service on a real region and a real app database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from puhui.errors import PuhuiError
from puhui.scoring import service
from puhui.scoring.models import PLATFORM
from puhui.scoring.policy import load_policy
from puhui.scoring.report import render_report
from puhui.scoring.scorecard import Scorecard
from puhui.scoring.training import TrainingSet
from tests.scoring.conftest import AS_OF


@pytest.fixture
def registered(
    session: Session, training_set: TrainingSet, tmp_path: Path
) -> list[service.ModelVersion]:
    return service.fit_and_register(session, training_set, tmp_path / "models")


def test_first_training_gives_a_champion_and_a_challenger(
    session: Session,
    registered: list[service.ModelVersion],
    training_set: TrainingSet,
    tmp_path: Path,
) -> None:
    scorecard, challenger = registered
    assert (scorecard.kind, scorecard.status) == ("scorecard", "champion")
    assert (challenger.kind, challenger.status) == ("lightgbm", "challenger")
    assert scorecard.owner == PLATFORM
    assert scorecard.training_fingerprint == training_set.fingerprint
    assert Scorecard.from_json(scorecard.artefact).fingerprint == scorecard.fingerprint
    metrics = service.model_metrics(scorecard)
    assert set(metrics) == {"train", "out_of_time"}
    assert metrics["train"].n + metrics["out_of_time"].n == len(training_set.frame)
    assert service.training_file(tmp_path / "models", training_set.fingerprint).exists()

    # A second run adds two challengers; promoting one retires the champion.
    again = service.fit_and_register(session, training_set, tmp_path / "models")
    assert [m.status for m in again] == ["challenger", "challenger"]
    service.promote(session, again[0].id)
    assert service.champion_of(session).id == again[0].id
    assert session.get(service.ModelVersion, scorecard.id).status == "retired"  # type: ignore[union-attr]
    with pytest.raises(PuhuiError, match="only a challenger"):
        service.promote(session, scorecard.id)
    with pytest.raises(PuhuiError, match="no model 999999"):
        service.get_model(session, 999_999)


def test_a_bank_without_a_champion_is_told_to_train(session: Session) -> None:
    with pytest.raises(PuhuiError, match="has no champion model yet"):
        service.champion_of(session, "ZJRC01")


def test_region_is_scored_inside_the_warehouse(
    session: Session,
    registered: list[service.ModelVersion],
    warehouse: duckdb.DuckDBPyConnection,
    tmp_path: Path,
) -> None:
    policy = load_policy()
    run = service.score_region(warehouse, session, AS_OF, policy)
    businesses = warehouse.sql(
        "SELECT count(*) FROM features WHERE as_of = $1", params=[AS_OF]
    ).fetchall()[0][0]
    assert run.scored == businesses
    assert run.challenger_ids == [registered[1].id]
    stored = warehouse.sql("SELECT * FROM scores ORDER BY model_id, uscc").df()
    assert len(stored) == 2 * businesses
    assert set(stored["policy_version"]) == {policy.version}

    # The warehouse's SQL score is the scorecard's own score, business by business.
    card = Scorecard.from_json(registered[0].artefact)
    features = warehouse.sql(
        "SELECT * FROM features WHERE as_of = $1 ORDER BY uscc", params=[AS_OF]
    ).df()
    champion = stored[stored["role"] == "champion"].reset_index(drop=True)
    assert np.array_equal(champion["score"].to_numpy(), card.score(features))
    assert np.allclose(champion["pd"].to_numpy(), card.pd(card.score(features)))

    # Money is exact, limits respect caps, refused businesses get nothing.
    limits = warehouse.sql("SELECT pre_credit_limit, rate FROM scores").fetchall()
    assert all(isinstance(limit, Decimal) and isinstance(rate, Decimal) for limit, rate in limits)
    assert (champion.loc[~champion["admitted"], "pre_credit_limit"] == 0).all()
    assert champion["pre_credit_limit"].max() <= max(policy.limit.caps.values())
    dishonest = features.loc[features["dishonest_active"] > 0, "uscc"]
    refused = champion.set_index("uscc").loc[dishonest]
    assert (~refused["admitted"]).all()
    assert refused["knockouts"].str.contains("dishonest").all()
    # Every score below the card's best has a reason; a reason is a variable of the card.
    best = sum(v.best_points for v in card.variables)
    assert champion.loc[champion["score"] < best, "reason_1"].notna().all()
    risky = champion.nsmallest(50, "score")
    assert risky["reason_1"].notna().all()
    assert set(risky["reason_1"]) <= {v.name for v in card.variables}

    # Scoring the same date again replaces, never duplicates.
    service.score_region(warehouse, session, AS_OF, policy)
    assert warehouse.sql("SELECT count(*) FROM scores").fetchall()[0][0] == 2 * businesses

    out = tmp_path / "scores.csv"
    assert service.export_scores(warehouse, AS_OF, out) == businesses
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    challenger_id = registered[1].id
    assert list(rows[0])[:10] == list(service.EXPORT_COLUMNS)
    assert f"challenger_{challenger_id}_score" in rows[0]
    assert f"challenger_{challenger_id}_reason_1" in rows[0]
    assert all(Decimal(r["pre_credit_limit"]).as_tuple().exponent == -2 for r in rows[:50])
    assert [r["uscc"] for r in rows] == sorted(r["uscc"] for r in rows)
    # Reasons carry their zh and en descriptions after the code.
    labels = service.reason_labels()
    shown = [r["reason_1"] for r in rows if r["reason_1"]]
    assert shown
    assert all(text in labels.values() for text in shown)


def test_scores_need_features_and_export_needs_scores(
    session: Session, registered: list[service.ModelVersion], tmp_path: Path
) -> None:
    empty = duckdb.connect()
    with pytest.raises(PuhuiError, match="no features as of"):
        service.score_region(empty, session, AS_OF, load_policy())
    with pytest.raises(PuhuiError, match="no scores as of"):
        service.export_scores(empty, AS_OF, tmp_path / "x.csv")


def test_monitor_puts_the_score_first(
    session: Session,
    registered: list[service.ModelVersion],
    warehouse: duckdb.DuckDBPyConnection,
    tmp_path: Path,
) -> None:
    champion, drifts = service.monitor(warehouse, session, tmp_path / "models", AS_OF)
    assert champion.id == registered[0].id
    assert drifts[0].name == "score"
    card = Scorecard.from_json(champion.artefact)
    used = [d.name for d in drifts[1:] if d.in_model]
    assert set(used) == {v.name for v in card.variables}
    assert drifts[1 : 1 + len(used)] == [d for d in drifts[1:] if d.in_model]
    assert len(drifts) > len(used) + 20  # every model feature, not only the card's
    assert all(d.psi >= 0 for d in drifts)


def test_evaluation_against_the_truth(
    session: Session,
    registered: list[service.ModelVersion],
    warehouse: duckdb.DuckDBPyConnection,
    linked_region: tuple[Path, Path],
) -> None:
    truth = linked_region[0] / "truth"
    result = service.evaluate_on_truth(warehouse, session, truth)
    assert result.as_of == AS_OF
    assert result.loans > 500
    assert [m.id for m, _ in result.models] == [m.id for m in registered]
    assert 0.6 < result.oracle.auc < 0.95
    loans = pd.read_parquet(truth / "loans.parquet")
    assert result.loans <= int((~loans["in_delivery"]).sum())
    with pytest.raises(PuhuiError, match="not a simulator truth folder"):
        service.evaluate_on_truth(warehouse, session, linked_region[0])


def test_report_shows_both_models(
    session: Session, registered: list[service.ModelVersion], tmp_path: Path
) -> None:
    report = service.build_report(session, tmp_path / "models", registered[0].id, "2026.11-1")
    assert report.challenger is not None
    assert report.challenger.model_id == str(registered[1].id)
    assert any(v.selected for v in report.variables)
    page = render_report(report, tmp_path / "report", "zh")
    html = page.read_text(encoding="utf-8")
    assert "AUC" in html
    assert (tmp_path / "report" / "index.en.html").exists()

    missing = tmp_path / "elsewhere"
    with pytest.raises(PuhuiError, match="training samples"):
        service.build_report(session, missing, registered[0].id)

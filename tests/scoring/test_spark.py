"""Batch scoring on Spark gives the DuckDB warehouse's scores, business by business."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from sqlalchemy.orm import Session

from puhui.db import make_engine, unit_of_work, upgrade
from puhui.engine import SparkEngine
from puhui.scoring import service
from puhui.scoring.policy import load_policy
from puhui.scoring.training import TrainingSet
from tests.scoring.conftest import AS_OF


@pytest.fixture
def sqlite_session(tmp_path: Path) -> Iterator[Session]:
    """One app database is enough here: this test is about the warehouse engines (the
    registry is tested on SQLite and PostgreSQL in test_service)."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        yield session
    engine.dispose()


@pytest.mark.spark
def test_spark_scores_equal_duckdb_scores(
    sqlite_session: Session,
    training_set: TrainingSet,
    warehouse: duckdb.DuckDBPyConnection,
    tmp_path: Path,
) -> None:
    from puhui.spark import spark_session

    session = sqlite_session
    service.fit_and_register(session, training_set, tmp_path / "models")
    policy = load_policy()
    on_duckdb, _ = service.score_tables(service.duckdb_query(warehouse), session, AS_OF, policy)

    features = tmp_path / "features.parquet"
    warehouse.execute(f"COPY features TO '{features}' (FORMAT parquet)")
    spark = spark_session()
    spark.read.parquet(str(features)).createOrReplaceTempView("features")
    engine = SparkEngine(spark)
    on_spark, run = service.score_tables(
        lambda sql: engine.frame(sql).toArrow(), session, AS_OF, policy
    )
    assert run.scored == on_duckdb.num_rows // 2
    # Neither engine promises an order: compare business by business.
    left = on_duckdb.to_pandas().sort_values(["role", "uscc"], ignore_index=True)
    right = on_spark.to_pandas().sort_values(["role", "uscc"], ignore_index=True)
    for column in ("uscc", "role", "tier", "credit_points", "pre_credit_limit", "rate_bp"):
        assert left[column].tolist() == right[column].tolist(), column
    for column in ("reason_1", "reason_2", "reason_3", "knockouts"):
        assert left[column].fillna("").tolist() == right[column].fillna("").tolist(), column
    assert np.array_equal(left["score"].to_numpy(), right["score"].to_numpy())
    assert np.allclose(left["pd"].to_numpy(), right["pd"].to_numpy(), rtol=0, atol=1e-12)

"""``puhui score`` and the model commands on the configured engine (``PUHUI_ENGINE``).

On DuckDB, scores are kept in the warehouse table ``scores``. On Spark the champion
scorecard's SQL runs on the Spark session over the features Parquet file of the as-of date
(the same SQL, transpiled by :class:`puhui.engine.SparkEngine`), and the scores are kept as
one Parquet file per as-of date and owner under ``<spark-warehouse>/scores/``, replaced
atomically. Everything that only reads (export, monitor, evaluate, training samples) reads
either warehouse through one DuckDB connection, :func:`scoring_reader`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from puhui.engine import SparkEngine
from puhui.features import engines as feature_engines
from puhui.features.service import compute_features, has_features
from puhui.ingest.checks import literal
from puhui.ingest.engines import duckdb_warehouse, spark_warehouse, warehouse_reader
from puhui.scoring import service
from puhui.scoring.models import PLATFORM
from puhui.scoring.policy import Policy
from puhui.settings import Engine, Settings


def _features_file(settings: Settings, as_of: date) -> Path:
    return settings.spark_warehouse_dir / "features" / f"{as_of.isoformat()}.parquet"


def _scores_dir(settings: Settings) -> Path:
    return settings.spark_warehouse_dir / service.SCORES_TABLE


def score(
    settings: Settings, session: Session, as_of: date, policy: Policy, owner: str = PLATFORM
) -> service.ScoreRun:
    """Score the region as of ``as_of``; the features are computed first if missing."""
    if settings.engine is not Engine.SPARK:
        with duckdb_warehouse(settings) as con:
            if not has_features(con, as_of):
                compute_features(con, as_of)
            return service.score_region(con, session, as_of, policy, owner)
    features = _features_file(settings, as_of)
    if not features.exists():
        feature_engines.compute(settings, as_of)
    spark = spark_warehouse(settings).spark
    spark.read.parquet(str(features)).createOrReplaceTempView("features")
    engine = SparkEngine(spark)
    table, run = service.score_tables(
        lambda sql: engine.frame(sql).toArrow(), session, as_of, policy, owner
    )
    out = _scores_dir(settings) / f"{as_of.isoformat()}_{owner}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    pq.write_table(_stored_form(table), temporary)
    os.replace(temporary, out)  # readers see the old scores or the new ones, never half
    return run


def _stored_form(table: pa.Table) -> pa.Table:
    """The Arrow table in the stored column types (decimals for money and rates)."""
    con = duckdb.connect()
    try:
        con.register("new_scores", table)
        return con.sql(f"SELECT {service.stored_select()} FROM new_scores").to_arrow_table()
    finally:
        con.close()


@contextmanager
def scoring_reader(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection on which the warehouse tables, ``features`` and ``scores`` read
    by their names, whichever engine wrote them."""
    with warehouse_reader(settings) as con:
        if settings.engine is Engine.SPARK:
            for table, folder in (
                ("features", settings.spark_warehouse_dir / "features"),
                (service.SCORES_TABLE, _scores_dir(settings)),
            ):
                if any(folder.glob("*.parquet")):
                    pattern = literal(str(folder / "*.parquet"))
                    con.execute(
                        f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM "
                        f"read_parquet({pattern}, union_by_name = true)"
                    )
        yield con

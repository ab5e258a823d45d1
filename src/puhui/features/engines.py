"""``puhui features`` on the configured engine (``PUHUI_ENGINE``): DuckDB or Spark.

On DuckDB the features of an as-of date are kept in the warehouse table ``features``. On
Spark they are computed on the session from the Parquet warehouse and kept as one Parquet
file per as-of date under ``<spark-warehouse>/features/``, replaced atomically.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from puhui.engine import SparkEngine
from puhui.features import service
from puhui.features.pipeline import SOURCE_TABLES
from puhui.ingest.engines import duckdb_warehouse, spark_warehouse
from puhui.link.service import require_links
from puhui.settings import Engine, Settings


def _spark_features(settings: Settings, as_of: date, out: Path) -> int:
    warehouse = spark_warehouse(settings)
    for table in SOURCE_TABLES:
        warehouse.table(table).createOrReplaceTempView(table)
    require_links(SparkEngine(warehouse.spark))
    frame = service.features_on_spark(warehouse.spark, as_of).orderBy("uscc")
    table = frame.toArrow()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, out)  # readers see the old file or the new one, never half
    return int(table.num_rows)


def compute(settings: Settings, as_of: date) -> int:
    """Compute and keep the features as of ``as_of``; returns the businesses."""
    if settings.engine is Engine.SPARK:
        out = settings.spark_warehouse_dir / "features" / f"{as_of.isoformat()}.parquet"
        return _spark_features(settings, as_of, out)
    with duckdb_warehouse(settings) as con:
        return service.compute_features(con, as_of)


def export(settings: Settings, as_of: date, out: Path) -> int:
    """Write the features as of ``as_of`` to a Parquet file; returns the businesses."""
    if settings.engine is Engine.SPARK:
        return _spark_features(settings, as_of, out)
    with duckdb_warehouse(settings) as con:
        return service.export_features(con, as_of, out)

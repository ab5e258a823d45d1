"""``puhui link`` on the configured engine (``PUHUI_ENGINE``): DuckDB or Spark."""

from __future__ import annotations

from puhui.ingest.engines import duckdb_warehouse, spark_warehouse
from puhui.link.service import DEFAULT_THRESHOLD, LinkReport, run_link, run_link_spark
from puhui.settings import Engine, Settings


def link(settings: Settings, threshold: float = DEFAULT_THRESHOLD) -> LinkReport:
    """Resolve every record of the region's warehouse and replace its ``links``."""
    if settings.engine is Engine.SPARK:
        return run_link_spark(spark_warehouse(settings), threshold)
    with duckdb_warehouse(settings) as con:
        return run_link(con, threshold)

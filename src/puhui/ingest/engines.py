"""The ingest commands on the configured engine (``PUHUI_ENGINE``): DuckDB or Spark.

Each function opens the region's warehouse on ``settings.engine``, does one thing and
closes it (the Spark session itself stays up for the process); the results are the same on
both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from puhui.ingest import service
from puhui.ingest.checks import literal, quote
from puhui.ingest.service import IngestReport, Progress
from puhui.ingest.spark_warehouse import SparkWarehouse
from puhui.ingest.warehouse import connect, table_columns
from puhui.settings import Engine, Settings


@contextmanager
def duckdb_warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The region's DuckDB warehouse file, open for the block."""
    settings.ensure_home()
    con = connect(settings.warehouse_dir / "warehouse.duckdb", settings.person_hash_key)
    try:
        yield con
    finally:
        con.close()


def spark_warehouse(settings: Settings) -> SparkWarehouse:
    """The region's Parquet warehouse, on the process's Spark session."""
    from puhui.spark import spark_session

    settings.ensure_home()
    return SparkWarehouse(
        spark_session(settings), settings.spark_warehouse_dir, settings.person_hash_key
    )


def ingest(settings: Settings, directory: Path, progress: Progress | None = None) -> IngestReport:
    """``puhui ingest``: load one delivery into the region's warehouse."""
    if settings.engine is Engine.SPARK:
        from puhui.ingest.spark_service import ingest_delivery_spark

        return ingest_delivery_spark(spark_warehouse(settings), directory, progress)
    with duckdb_warehouse(settings) as con:
        return service.ingest_delivery(con, directory, progress)


def quarantine_rows(
    settings: Settings, feed: str | None = None, limit: int | None = None
) -> list[tuple[str, str, int, str, str, str]]:
    """``puhui quarantine list``: (feed, file, row, column, reason_zh, reason_en)."""
    if settings.engine is Engine.SPARK:
        from puhui.ingest.spark_service import quarantine_rows_spark

        return quarantine_rows_spark(spark_warehouse(settings), feed, limit)
    with duckdb_warehouse(settings) as con:
        return service.quarantine_rows(con, feed, limit)


def export_quarantine(settings: Settings, out: Path) -> int:
    """``puhui quarantine export``: every quarantined row as CSV; returns the count."""
    if settings.engine is Engine.SPARK:
        from puhui.ingest.spark_service import export_quarantine_spark

        return export_quarantine_spark(spark_warehouse(settings), out)
    with duckdb_warehouse(settings) as con:
        return service.export_quarantine(con, out)


@contextmanager
def warehouse_reader(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection on which every warehouse table reads by its name, on either engine.

    On DuckDB it is the warehouse file itself. On Spark it is an in-memory DuckDB whose
    views read the Parquet parts the manifest names (a table with no parts is an empty
    table of its declared columns): reports, exports and the app database's profiles are
    read the same way whichever engine wrote the warehouse.
    """
    if settings.engine is not Engine.SPARK:
        with duckdb_warehouse(settings) as con:
            yield con
        return
    from puhui.ingest.spark_warehouse import TABLES, read_manifest

    root = settings.spark_warehouse_dir
    state = read_manifest(root)
    con = duckdb.connect()
    try:
        for table, columns in table_columns().items():
            paths = [
                str(root / TABLES / table / p.version / "*.parquet") for p in state.get(table, ())
            ]
            paths = [p for p in paths if any(Path(p).parent.glob("*.parquet"))]
            if paths:
                listed = ", ".join(literal(p) for p in paths)
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listed}])")
            else:
                ddl = ", ".join(f"{quote(n)} {t.removesuffix(' NOT NULL')}" for n, t in columns)
                con.execute(f"CREATE TABLE {table} ({ddl})")
        yield con
    finally:
        con.close()

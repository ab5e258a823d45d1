"""One SQL, two engines: run DuckDB-dialect SQL on DuckDB as it is, or on Spark transpiled.

Pipelines after ingest (link, features, profiles) are written once, as SQL in DuckDB's
dialect, and run through an :class:`SqlEngine`:

* :class:`DuckDBEngine` runs the text on a DuckDB connection; working tables are
  temporary tables of that connection.
* :class:`SparkEngine` transpiles the text with SQLGlot (as Splink does for its own SQL)
  and runs it on the Spark session; working tables are cached temporary views.

Only the SQL that both engines agree on is written (tests compare their results); where the
engines differ in more than spelling, the difference is handled where it arises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class SqlEngine(Protocol):
    """What a pipeline needs from an engine."""

    name: str

    def materialize(self, table: str, sql: str) -> None:
        """Compute ``sql`` once into working table ``table`` (replacing it)."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The result of ``sql`` as Python tuples (for small results)."""

    def drop(self, table: str) -> None:
        """Remove working table ``table`` if it exists."""


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def materialize(self, table: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def arrow(self, sql: str) -> pa.Table:
        """The result of ``sql`` as an Arrow table."""
        return self.con.sql(sql).to_arrow_table()

    def register(self, table: str, data: pa.Table) -> None:
        """Make ``data`` readable as working table ``table``."""
        view = f"puhui_incoming_{table}"
        self.con.register(view, data)
        try:
            self.materialize(table, f"SELECT * FROM {view}")
        finally:
            self.con.unregister(view)

    def drop(self, table: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {table}")


def to_spark_sql(sql: str) -> str:
    """DuckDB-dialect SQL in Spark SQL's dialect."""
    import sqlglot

    return str(sqlglot.transpile(sql, read="duckdb", write="spark")[0])


class SparkEngine:
    name = "spark"

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def frame(self, sql: str) -> DataFrame:
        return self.spark.sql(to_spark_sql(sql))

    def materialize(self, table: str, sql: str) -> None:
        self.drop(table)
        # Cached and counted now, so that later steps neither recompute nor re-read it.
        frame = self.frame(sql).cache()
        frame.count()
        frame.createOrReplaceTempView(table)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.frame(sql).collect()]

    def drop(self, table: str) -> None:
        if self.spark.catalog.tableExists(table):
            self.spark.catalog.uncacheTable(table)
            self.spark.catalog.dropTempView(table)

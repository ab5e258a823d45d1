"""``puhui ingest`` on Spark (``PUHUI_ENGINE=spark``): the DuckDB load's results, on Parquet.

The same delivery gives the same report, quarantine and stored rows as
:func:`puhui.ingest.service.ingest_delivery`, because everything that decides a result is
shared: the readers, the compiled checks (:func:`~puhui.ingest.checks.compile_checks` in the
:data:`~puhui.ingest.checks.SPARK` dialect), the stored form, key and quarantine record
(:mod:`puhui.ingest.service`), the delivery id and the counting rules. What differs is only
how the result is kept (:mod:`puhui.ingest.spark_warehouse`).

For each feed file:

1. **Stage**: the reader's Arrow stream is written to a Parquet file in the run's staging
   directory (a file that cannot be read becomes a file error; the others still load).
2. **Check and classify**, in one Spark action whose results are kept (``persist``) for
   the writes: the compiled SELECT over the staged rows; then the good rows in stored form,
   each with a fingerprint (``xxhash64`` of the stored values and their NULL positions),
   the warehouse's fingerprint for its key, the previous fingerprint of its key (the
   previous row of this file by ``_row``, else the warehouse's) and whether it is its key's
   last row here.
3. **Quarantine**: failing rows, whole and masked, are appended to the delivery's part of
   ``quarantine`` (ingesting a delivery again drops its earlier part).
4. **Merge**: when some key's last row differs from the warehouse's, the feed table's new
   part is the old rows without those keys plus those rows.

A row is ``unchanged`` when its fingerprint equals the previous one; ``loaded`` is the rest of
the good rows; per feed, read = loaded + unchanged + quarantined. After the files, the
delivery's ``file_errors`` and ``deliveries`` rows are written, and everything is committed
by one manifest swap.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from puhui.ingest import checks
from puhui.ingest.checks import SPARK
from puhui.ingest.contract import FEEDS
from puhui.ingest.readers import FeedSource, UnreadableFile, list_delivery, open_feed
from puhui.ingest.service import (
    FeedCounts,
    FileError,
    IngestReport,
    Progress,
    delivery_fingerprint,
    extra_json,
    key_exprs,
    make_delivery_id,
    record_json,
    stored_exprs,
)
from puhui.ingest.spark_warehouse import Part, SparkWarehouse, Transaction, arrow_schema
from puhui.ingest.warehouse import stored_columns, table_name

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

q = SPARK.quote


def _stage(source: FeedSource, path: Path) -> int:
    """Write the file's rows (``_row`` and text) to the Parquet file ``path``; the row count.

    Streamed batch by batch, so a large file never sits in memory. Raises
    :class:`UnreadableFile` (and leaves no file) when the reader fails part way.
    """
    rows = 0
    try:
        with pq.ParquetWriter(path, source.schema) as writer:
            for batch in source.batches():
                writer.write_batch(batch)
                rows += batch.num_rows
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return rows


def _quarantine_sql(source: FeedSource, stage: str) -> str:
    """The rejected rows of view ``checked`` as ``quarantine`` rows (parameters: delivery_id,
    feed, file)."""
    feed = FEEDS[source.feed]
    return f"""
        SELECT :delivery_id AS delivery_id, :feed AS feed, :file AS file,
               c.{q(checks.ROW)} AS {q("row")}, c.{q(checks.ERROR_COLUMN)} AS {q("column")},
               c.{q(checks.ERROR_ZH)} AS reason_zh, c.{q(checks.ERROR_EN)} AS reason_en,
               {record_json(feed, source, SPARK)} AS record
        FROM checked c JOIN {stage} r ON c.{q(checks.ROW)} = r.{q(checks.ROW)}
        WHERE c.{q(checks.ERROR_COLUMN)} IS NOT NULL
        """


def _classify_sql(source: FeedSource) -> tuple[str, list[str]]:
    """Good rows of view ``checked`` in stored form, classified against view ``existing``
    (module docstring, step 4); also the stored column names."""
    feed = FEEDS[source.feed]
    names = [name for name, _ in stored_columns(feed)] + ["extra"]
    g_key, e_key = key_exprs(feed, "g", SPARK), key_exprs(feed, "e", SPARK)
    match = " AND ".join(f"{a} = {b}" for a, b in zip(g_key, e_key, strict=True))
    extra = f"CAST({extra_json(feed, source, SPARK)} AS {SPARK.sql_type('JSON')})"
    sql = f"""
        WITH good AS (
            SELECT {", ".join(stored_exprs(feed, SPARK))}, {extra} AS extra, {q(checks.ROW)}
            FROM checked WHERE {q(checks.ERROR_COLUMN)} IS NULL
        ),
        hashed AS (
            SELECT *, {SPARK.hash_of([q(n) for n in names])} AS _row_hash FROM good
        )
        SELECT g.*, e._row_hash AS _existing_hash,
               coalesce(lag(g._row_hash) OVER w, e._row_hash) AS _previous_hash,
               lead(g.{q(checks.ROW)}) OVER w IS NULL AS _final
        FROM hashed g LEFT JOIN existing e ON {match}
        WINDOW w AS (PARTITION BY {", ".join(g_key)} ORDER BY g.{q(checks.ROW)})
        """
    return sql, names


#: A classified row that replaces the warehouse's row of its key.
_CHANGED = "_final AND NOT (_row_hash <=> _existing_hash)"


def _merge_sql(source: FeedSource, names: list[str]) -> str:
    """The feed table's new version: view ``existing`` without the keys that changed, plus
    their last rows from view ``classified`` (parameters: delivery_id, file, loaded_at)."""
    feed = FEEDS[source.feed]
    t_key, c_key = key_exprs(feed, "t", SPARK), key_exprs(feed, "c", SPARK)
    match = " AND ".join(f"{a} = {b}" for a, b in zip(t_key, c_key, strict=True))
    stored = ", ".join(f"c.{q(n)}" for n in names)
    return f"""
        SELECT t.* FROM existing t
        LEFT ANTI JOIN (SELECT * FROM classified WHERE {_CHANGED}) c ON {match}
        UNION ALL
        SELECT {stored}, :delivery_id AS _delivery_id, :file AS _file, c.{q(checks.ROW)},
               :loaded_at AS _loaded_at, c._row_hash
        FROM classified c WHERE {_CHANGED}
        """


@dataclass(frozen=True, slots=True)
class _Run:
    """What every file of one ingest run shares."""

    delivery_id: str
    #: one time for every row of the delivery, as DuckDB's now() inside its transaction
    loaded_at: datetime
    #: the delivery's new part of the quarantine, which each file appends to
    quarantine: Part


def _load_file(
    spark: SparkSession,
    transaction: Transaction,
    source: FeedSource,
    staged: Path,
    read: int,
    run: _Run,
) -> FeedCounts:
    """Check, quarantine and merge one staged file (``read`` rows) into ``transaction``."""
    feed = FEEDS[source.feed]
    stage = f"stage_{feed.name}"
    sql_params: dict[str, Any] = {
        "delivery_id": run.delivery_id,
        "loaded_at": run.loaded_at,
        "feed": feed.name,
        "file": source.path.name,
    }
    # The stage's schema is known (``_row``, then text): naming it spares a job that reads it.
    schema = ", ".join(
        f"{q(c)} {'BIGINT' if c == checks.ROW else 'STRING'}" for c in source.columns
    )
    spark.read.schema(schema).parquet(str(staged)).createOrReplaceTempView(stage)
    transaction.table(table_name(feed)).createOrReplaceTempView("existing")
    cached: list[DataFrame] = []
    try:
        checked = spark.sql(checks.compile_checks(feed, stage, source.columns, SPARK)).persist()
        cached.append(checked)
        checked.createOrReplaceTempView("checked")
        classify, names = _classify_sql(source)
        classified = spark.sql(classify).persist()
        cached.append(classified)
        classified.createOrReplaceTempView("classified")
        # One action checks and classifies the file; the writes below reuse what it kept.
        good, unchanged, changed = spark.sql(
            "SELECT count(*), count_if(_row_hash <=> _previous_hash),"
            f" count_if({_CHANGED}) FROM classified"
        ).first() or (0, 0, 0)
        if good < read:
            rejected = spark.sql(_quarantine_sql(source, stage), args=sql_params)
            transaction.append("quarantine", run.quarantine, rejected)
        if changed:
            merged = spark.sql(_merge_sql(source, names), args=sql_params)
            transaction.replace(table_name(feed), merged)
    finally:
        for frame in cached:
            frame.unpersist()
        for view in (stage, "existing", "checked", "classified"):
            spark.catalog.dropTempView(view)
    return FeedCounts(
        read=read, loaded=good - unchanged, unchanged=unchanged, quarantined=read - good
    )


def ingest_delivery_spark(
    warehouse: SparkWarehouse, directory: Path, progress: Progress | None = None
) -> IngestReport:
    """Load every feed file of ``directory`` into the Spark warehouse, all or nothing.

    The report, the quarantine and the stored rows are those of
    :func:`puhui.ingest.service.ingest_delivery` for the same files; loading the same
    delivery again changes no feed table.
    """
    started = time.perf_counter()
    spark = warehouse.spark
    files, rejected = list_delivery(directory)
    fingerprint = delivery_fingerprint(files)
    delivery_id = make_delivery_id(directory, fingerprint)
    report = IngestReport(delivery_id=delivery_id, source=str(directory.resolve()))
    report.file_errors = [FileError(p.name, zh, en) for p, zh, en in rejected]
    loaded_at = datetime.now(UTC)
    steps = 2 * len(files)
    with warehouse.transaction() as transaction:
        staged: list[tuple[FeedSource, Path, int]] = []
        for done, path in enumerate(files):
            if progress:
                progress(f"读取 reading {path.name}", done, steps)
            try:
                source = open_feed(path)
                target = transaction.staging / f"{source.feed}.parquet"
                staged.append((source, target, _stage(source, target)))
            except UnreadableFile as error:
                report.file_errors.append(FileError(path.name, error.reason_zh, error.reason_en))
        # Ingesting a delivery again replaces its quarantine and file errors.
        transaction.drop_delivery("quarantine", delivery_id)
        transaction.drop_delivery("file_errors", delivery_id)
        run = _Run(delivery_id, loaded_at, transaction.new_part("quarantine", delivery_id))
        for done, (source, target, read) in enumerate(staged, start=len(files)):
            if progress:
                progress(f"校验 checking {source.path.name}", done, steps)
            counts = _load_file(spark, transaction, source, target, read, run)
            report.feeds.setdefault(source.feed, FeedCounts()).add(counts)
        if report.file_errors:
            errors = {
                "delivery_id": [delivery_id] * len(report.file_errors),
                "file": [e.file for e in report.file_errors],
                "reason_zh": [e.reason_zh for e in report.file_errors],
                "reason_en": [e.reason_en for e in report.file_errors],
            }
            part = transaction.new_part("file_errors", delivery_id)
            transaction.write_rows(
                "file_errors", part, pa.table(errors, schema=arrow_schema("file_errors"))
            )
        report.seconds = time.perf_counter() - started
        ledger = {
            "delivery_id": [delivery_id],
            "source": [report.source],
            "fingerprint": [fingerprint],
            "loaded_at": [loaded_at],
            "report": [json.dumps(report.to_json())],
        }
        part = transaction.new_part("deliveries", delivery_id)
        transaction.write_rows(
            "deliveries", part, pa.table(ledger, schema=arrow_schema("deliveries"))
        )
    if progress:
        progress("完成 done", steps, steps)
    return report


def quarantine_rows_spark(
    warehouse: SparkWarehouse, feed: str | None = None, limit: int | None = None
) -> list[tuple[str, str, int, str, str, str]]:
    """Quarantined rows as (feed, file, row, column, reason_zh, reason_en), in file order."""
    rows = warehouse.table("quarantine")
    if feed:
        rows = rows.where(f"feed = {SPARK.literal(feed)}")
    rows = rows.orderBy("feed", "file", "row")
    if limit:
        rows = rows.limit(int(limit))
    table = rows.select("feed", "file", "row", "column", "reason_zh", "reason_en").toArrow()
    return [
        (str(a), str(b), int(c), str(d), str(e), str(f))
        for a, b, c, d, e, f in zip(*table.to_pydict().values(), strict=True)
    ]


def export_quarantine_spark(warehouse: SparkWarehouse, out: Path) -> int:
    """Write ``feed,file,row,column,reason`` (reason in zh / en) to ``out``; returns the count.

    The rows come from Spark; the CSV is written by DuckDB's writer, so that the file is
    byte for byte what the DuckDB engine writes for the same rows.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = (
        warehouse.table("quarantine")
        .selectExpr(
            "feed", "file", q("row"), q("column"), "reason_zh || ' / ' || reason_en AS reason"
        )
        .orderBy("feed", "file", "row")
        .toArrow()
    )
    con = duckdb.connect()
    try:
        con.register("quarantine_rows", rows)
        con.execute(
            "COPY (SELECT * FROM quarantine_rows) "
            f"TO {checks.literal(str(out))} (HEADER, DELIMITER ',')"
        )
    finally:
        con.close()
    return int(rows.num_rows)

"""``puhui ingest``: load one department delivery into the warehouse, all or nothing.

For each feed file: stream it as text (:mod:`puhui.ingest.readers`), check and type every
row in DuckDB (:mod:`puhui.ingest.checks`), quarantine the rows that break the contract
(kept whole, personal values masked), and merge the good rows into ``feed_<name>`` by the
contract key. Every row read is counted once as ``loaded`` (it changed the warehouse),
``unchanged`` (identical to what the warehouse — or an earlier row of the same delivery —
already held for its key) or ``quarantined``.

The whole delivery is one DuckDB transaction: a crash or a kill part way leaves the
warehouse exactly as it was before the delivery.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from puhui.ingest import checks
from puhui.ingest.checks import DUCKDB, SqlDialect, literal, quote
from puhui.ingest.contract import FEEDS, Feed, Kind
from puhui.ingest.readers import FeedSource, UnreadableFile, list_delivery, open_feed
from puhui.ingest.warehouse import all_columns, scalar, stored_columns, table_name

Progress = Callable[[str, int, int], None]


@dataclass
class FeedCounts:
    read: int = 0
    loaded: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def add(self, other: FeedCounts) -> None:
        self.read += other.read
        self.loaded += other.loaded
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined


@dataclass
class FileError:
    file: str
    reason_zh: str
    reason_en: str


@dataclass
class IngestReport:
    delivery_id: str
    source: str
    feeds: dict[str, FeedCounts] = field(default_factory=dict)
    file_errors: list[FileError] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "delivery_id": self.delivery_id,
            "source": self.source,
            "feeds": {feed: asdict(counts) for feed, counts in self.feeds.items()},
            "file_errors": [asdict(error) for error in self.file_errors],
            "seconds": round(self.seconds, 2),
        }


def delivery_fingerprint(files: list[Path]) -> str:
    """SHA-256 over the names and contents of a delivery's files: the same files, same id."""
    digest = hashlib.sha256()
    for path in sorted(files):
        with path.open("rb") as handle:
            content = hashlib.file_digest(handle, "sha256").hexdigest()
        digest.update(f"{path.name}\0{content}\n".encode())
    return digest.hexdigest()


def make_delivery_id(directory: Path, fingerprint: str) -> str:
    """``<folder name>-<first 12 hex characters of the fingerprint>``."""
    return f"{directory.resolve().name}-{fingerprint[:12]}"


# The stored form, key and quarantine record below are generated once and spelled per
# engine by a dialect (DuckDB here, Spark in puhui.ingest.spark_service). Both engines
# provide ``person_hash(text)`` and ``mask_identifier(text)`` under those names.


def is_person_sql(expr: str, d: SqlDialect = DUCKDB) -> str:
    """Whether a (checked) party id is a person's id rather than a USCC.

    A person id starts with a division code and carries a real birth date; the common
    USCCs start with an authority and a kind (``91``, ``92``, ``93``…), which no division
    code does. Where a value could be read both ways it is taken as a person's id: storing
    a business's code hashed loses less than storing a person's id in clear.
    """
    birth = d.yyyymmdd.format(value=f"substr({expr}, 7, 8)")
    return (
        f"({d.match(expr, checks.PERSON_ID_PATTERN)} "
        f"AND {birth} IS NOT NULL "
        f"AND substr({expr}, 1, 6) IN (SELECT code FROM {checks.REF_DIVISION_CODES}))"
    )


def stored_exprs(feed: Feed, d: SqlDialect = DUCKDB) -> list[str]:
    """SELECT items turning checked (typed) columns into their stored form."""
    items: list[str] = []
    for column in all_columns(feed):
        name = column.name
        value = d.quote(name)  # the checks type every declared column, NULL when absent
        if not column.personal:
            items.append(f"{value} AS {d.quote(name)}")
            continue
        hashed, masked = d.quote(name + "_hash"), d.quote(name + "_masked")
        if column.kind is Kind.PARTY_ID:
            person = is_person_sql(value, d)
            items.append(f"CASE WHEN {person} THEN NULL ELSE {value} END AS {d.quote(name)}")
            items.append(f"CASE WHEN {person} THEN person_hash({value}) END AS {hashed}")
            items.append(f"CASE WHEN {person} THEN mask_identifier({value}) END AS {masked}")
        else:
            items.append(f"person_hash({value}) AS {hashed}")
            items.append(f"mask_identifier({value}) AS {masked}")
    return items


def key_exprs(feed: Feed, alias: str, d: SqlDialect = DUCKDB) -> list[str]:
    """The contract key on the stored form: personal key parts by their hash."""
    parts = []
    for name in feed.key:
        column = feed.column(name)
        value, hashed = f"{alias}.{d.quote(name)}", f"{alias}.{d.quote(name + '_hash')}"
        if column.personal and column.kind is Kind.PARTY_ID:
            parts.append(f"coalesce({value}, {hashed})")
        elif column.personal:
            parts.append(hashed)
        else:
            parts.append(value)
    return parts


def extra_columns(feed: Feed, source: FeedSource) -> list[str]:
    """The file's columns that are neither contract nor extension columns."""
    known = {c.name for c in all_columns(feed)} | {checks.ROW, checks.PARSE_ERROR}
    return [c for c in source.columns if c not in known]


def extra_json(feed: Feed, source: FeedSource, d: SqlDialect = DUCKDB) -> str:
    """The file's extra columns as a JSON object of text values, NULL when it has none."""
    extras = extra_columns(feed, source)
    return d.json_of([(c, d.quote(c)) for c in extras]) if extras else "NULL"


def record_json(feed: Feed, source: FeedSource, d: SqlDialect = DUCKDB) -> str:
    """The raw row (of the stage, aliased ``r``) as JSON, personal values masked: a
    quarantined row is kept whole."""
    personal = {c.name for c in all_columns(feed) if c.personal}
    pairs = []
    for name in source.columns:
        if name == checks.ROW:
            continue
        value = f"r.{d.quote(name)}"
        if name in personal:
            value = f"mask_identifier(upper({d.trim_spaces.format(value=value)}))"
        pairs.append((name, value))
    return d.json_of(pairs)


STAGE_PREFIX = "stage_"


def _stage_raw(con: duckdb.DuckDBPyConnection, source: FeedSource, stage: str) -> None:
    """Land the file's rows as text in table ``stage`` (DuckDB's own reader where it has one).

    Staging happens before the delivery's transaction, each file on its own: a file that
    breaks part way (a ragged row, a corrupt row group) fails only its own statement, is
    reported, and cannot abort the load of the others. Stage tables live in the warehouse
    file, so a large delivery spills to disk rather than filling memory.
    """
    native = source.native_sql()
    if native is not None:
        try:
            # Insertion order is file order (DuckDB preserves it): rowid numbers the rows.
            con.execute(f"CREATE OR REPLACE TABLE {stage}_rows AS {native}")
            con.execute(
                f"CREATE OR REPLACE VIEW {stage} AS "
                f"SELECT rowid + 1 AS {checks.ROW}, * FROM {stage}_rows"
            )
            return
        except duckdb.Error:
            drop_stage(con, stage)  # the stream below says precisely what is wrong
    try:
        con.register("puhui_incoming", source.batches())
        try:
            con.execute(f"CREATE OR REPLACE TABLE {stage}_rows AS SELECT * FROM puhui_incoming")
            con.execute(f"CREATE OR REPLACE VIEW {stage} AS SELECT * FROM {stage}_rows")
        finally:
            con.unregister("puhui_incoming")
    except duckdb.Error as error:
        drop_stage(con, stage)
        if source.error is not None:  # the reader's own words, not DuckDB's wrapping
            raise source.error from None
        name = type(error).__name__  # DuckDB's own message may quote cells: not shown
        raise UnreadableFile(source.path, "读取失败", f"read failed ({name})") from None


def drop_stage(con: duckdb.DuckDBPyConnection, stage: str) -> None:
    """Remove one file's stage: the view ``stage`` and its table ``stage_rows``."""
    con.execute(f"DROP VIEW IF EXISTS {stage}")
    con.execute(f"DROP TABLE IF EXISTS {stage}_rows")


def drop_stages(con: duckdb.DuckDBPyConnection) -> None:
    """Remove stages left by an ingest that was killed before it finished."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE $1 "
        "AND table_type = 'VIEW'",
        [STAGE_PREFIX + "%"],
    ).fetchall()
    tables = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE $1 "
        "AND table_type = 'BASE TABLE'",
        [STAGE_PREFIX + "%"],
    ).fetchall()
    for (name,) in rows:
        con.execute(f"DROP VIEW IF EXISTS {quote(name)}")
    for (name,) in tables:
        con.execute(f"DROP TABLE IF EXISTS {quote(name)}")


def _quarantine(
    con: duckdb.DuckDBPyConnection, feed: Feed, source: FeedSource, stage: str, delivery_id: str
) -> None:
    """Keep every rejected row whole, with the first column it breaks and why."""
    con.execute(
        f"""
        INSERT INTO quarantine
        SELECT $1, $2, $3, c._row, c.{checks.ERROR_COLUMN}, c.{checks.ERROR_ZH},
               c.{checks.ERROR_EN}, {record_json(feed, source)}
        FROM checked c JOIN {stage} r USING (_row)
        WHERE c.{checks.ERROR_COLUMN} IS NOT NULL
        ORDER BY c._row
        """,
        [delivery_id, feed.name, source.path.name],
    )


def _classify(con: duckdb.DuckDBPyConnection, feed: Feed, source: FeedSource) -> list[str]:
    """Good rows in stored form, seen through view ``classified``; returns the stored columns.

    Each row gets a fingerprint, the fingerprint held before it for its key (the previous
    row of this delivery, else the warehouse's row), and whether it is the last of its key
    here (the one that stays). Most keys occur once in a file, so the ordering by key that
    this needs is done only for the rows of keys that repeat.
    """
    names = [name for name, _ in stored_columns(feed)] + ["extra"]
    # A 64-bit hash of the stored values tells a changed row from a re-sent one; a
    # collision (2^-64 per pair of versions of one key) would only miss one update.
    fingerprint = DUCKDB.hash_of([quote(n) for n in names])
    g_key, e_key = key_exprs(feed, "g"), key_exprs(feed, "e")
    match = " AND ".join(f"{a} = {b}" for a, b in zip(g_key, e_key, strict=True))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE hashed AS
        WITH good AS (
            SELECT {", ".join(stored_exprs(feed))}, {extra_json(feed, source)}::JSON AS extra, _row
            FROM checked WHERE {checks.ERROR_COLUMN} IS NULL
        )
        SELECT *, {fingerprint} AS _row_hash FROM good
        """
    )
    key_items = ", ".join(f"{k} AS k{i}" for i, k in enumerate(g_key))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE repeated AS
        SELECT {key_items} FROM hashed g GROUP BY ALL HAVING count(*) > 1
        """
    )
    r_match = " AND ".join(f"{a} = r.k{i}" for i, a in enumerate(g_key))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE repeated_order AS
        SELECT g._row, lag(g._row_hash) OVER w AS _previous_in_file,
               lead(g._row) OVER w IS NULL AS _final
        FROM hashed g SEMI JOIN repeated r ON {r_match}
        WINDOW w AS (PARTITION BY {", ".join(g_key)} ORDER BY g._row)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW classified AS
        SELECT g.*, e._row_hash AS _existing_hash,
               coalesce(o._previous_in_file, e._row_hash) AS _previous_hash,
               coalesce(o._final, TRUE) AS _final
        FROM hashed g
        LEFT JOIN {table_name(feed)} e ON {match}
        LEFT JOIN repeated_order o ON o._row = g._row
        """
    )
    return names


def _merge(
    con: duckdb.DuckDBPyConnection, feed: Feed, names: list[str], delivery_id: str, file: str
) -> None:
    """Replace the warehouse row of every key whose final row here differs from it."""
    table = table_name(feed)
    c_key, t_key = key_exprs(feed, "c"), key_exprs(feed, table)
    match = " AND ".join(f"{a} = {b}" for a, b in zip(t_key, c_key, strict=True))
    changed = "c._final AND c._row_hash IS DISTINCT FROM c._existing_hash"
    con.execute(f"DELETE FROM {table} USING classified c WHERE {changed} AND {match}")
    con.execute(
        f"""
        INSERT INTO {table} ({", ".join(quote(n) for n in names)},
                             _delivery_id, _file, _row, _loaded_at, _row_hash)
        SELECT {", ".join("c." + quote(n) for n in names)}, $1, $2, c._row, now(), c._row_hash
        FROM classified c WHERE {changed}
        """,
        [delivery_id, file],
    )


def _load_file(
    con: duckdb.DuckDBPyConnection, source: FeedSource, stage: str, delivery_id: str
) -> FeedCounts:
    """Check, quarantine and merge one staged file (inside the delivery's transaction)."""
    feed = FEEDS[source.feed]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE checked AS "
        + checks.compile_checks(feed, stage, source.columns)
    )
    _quarantine(con, feed, source, stage, delivery_id)
    names = _classify(con, feed, source)
    read = int(scalar(con, f"SELECT count(*) FROM {stage}"))
    quarantined = int(
        scalar(con, f"SELECT count(*) FROM checked WHERE {checks.ERROR_COLUMN} IS NOT NULL")
    )
    unchanged = int(
        scalar(
            con,
            "SELECT count(*) FROM classified WHERE _row_hash IS NOT DISTINCT FROM _previous_hash",
        )
    )
    _merge(con, feed, names, delivery_id, source.path.name)
    drop_stage(con, stage)
    con.execute("DROP VIEW IF EXISTS classified")
    for temp in ("checked", "hashed", "repeated", "repeated_order"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return FeedCounts(
        read=read,
        loaded=read - quarantined - unchanged,
        unchanged=unchanged,
        quarantined=quarantined,
    )


def ingest_delivery(
    con: duckdb.DuckDBPyConnection, directory: Path, progress: Progress | None = None
) -> IngestReport:
    """Load every feed file of ``directory`` in one transaction and return the accounting.

    A file that cannot be read at all is reported and the others still load. Loading the
    same delivery again changes nothing: every row counts as unchanged or quarantined.
    """
    started = time.perf_counter()
    files, rejected = list_delivery(directory)
    fingerprint = delivery_fingerprint(files)
    delivery_id = make_delivery_id(directory, fingerprint)
    report = IngestReport(delivery_id=delivery_id, source=str(directory.resolve()))
    report.file_errors = [FileError(p.name, zh, en) for p, zh, en in rejected]
    checks.register_reference(con)
    drop_stages(con)
    steps = 2 * len(files)
    staged: list[tuple[FeedSource, str]] = []
    for done, path in enumerate(files):
        if progress:
            progress(f"读取 reading {path.name}", done, steps)
        try:
            source = open_feed(path)
            stage = f"{STAGE_PREFIX}{source.feed}"
            _stage_raw(con, source, stage)
        except UnreadableFile as error:
            report.file_errors.append(FileError(path.name, error.reason_zh, error.reason_en))
            continue
        staged.append((source, stage))
    # Staging needed file order; checking and merging do not, and DuckDB spends less
    # memory and time when it need not keep it.
    con.execute("SET preserve_insertion_order = false")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM quarantine WHERE delivery_id = $1", [delivery_id])
        con.execute("DELETE FROM file_errors WHERE delivery_id = $1", [delivery_id])
        for done, (source, stage) in enumerate(staged, start=len(files)):
            if progress:
                progress(f"校验 checking {source.path.name}", done, steps)
            counts = _load_file(con, source, stage, delivery_id)
            report.feeds.setdefault(source.feed, FeedCounts()).add(counts)
        for file_error in report.file_errors:
            con.execute(
                "INSERT INTO file_errors VALUES ($1, $2, $3, $4)",
                [delivery_id, file_error.file, file_error.reason_zh, file_error.reason_en],
            )
        report.seconds = time.perf_counter() - started
        con.execute(
            "INSERT INTO deliveries VALUES ($1, $2, $3, now(), $4)",
            [delivery_id, report.source, fingerprint, json.dumps(report.to_json())],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        drop_stages(con)
        raise
    finally:
        con.execute("SET preserve_insertion_order = true")
    if progress:
        progress("完成 done", steps, steps)
    return report


def quarantine_rows(
    con: duckdb.DuckDBPyConnection, feed: str | None = None, limit: int | None = None
) -> list[tuple[str, str, int, str, str, str]]:
    """Quarantined rows as (feed, file, row, column, reason_zh, reason_en), in file order."""
    where = "WHERE feed = $1" if feed else ""
    params: list[object] = [feed] if feed else []
    limit_sql = f"LIMIT {int(limit)}" if limit else ""
    rows = con.execute(
        f'SELECT feed, file, "row", "column", reason_zh, reason_en FROM quarantine {where} '
        f'ORDER BY feed, file, "row" {limit_sql}',
        params,
    ).fetchall()
    return [(str(a), str(b), int(c), str(d), str(e), str(f)) for a, b, c, d, e, f in rows]


def export_quarantine(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """Write ``feed,file,row,column,reason`` (reason in zh / en) to ``out``; returns the count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (
            SELECT feed, file, "row", "column", reason_zh || ' / ' || reason_en AS reason
            FROM quarantine ORDER BY feed, file, "row"
        ) TO {literal(str(out))} (HEADER, DELIMITER ',')
        """
    )
    return int(scalar(con, "SELECT count(*) FROM quarantine"))

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from puhui.ingest import checks
from puhui.ingest.checks import DUCKDB, SqlDialect, literal, quote
from puhui.ingest.contract import FEEDS, Column, Feed, Kind
from puhui.ingest.readers import (
    FeedSource,
    UnreadableFile,
    list_delivery,
    native_text,
    open_feed,
)
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
    # The checks type every declared column, NULL when absent.
    return [
        item
        for column in all_columns(feed)
        for item in column_stored_exprs(column, d.quote(column.name), d)
    ]


def column_stored_exprs(column: Column, value: str, d: SqlDialect = DUCKDB) -> list[str]:
    """SELECT items of one column's stored form, from its typed ``value`` (an expression)."""
    name = column.name
    if not column.personal:
        return [f"{value} AS {d.quote(name)}"]
    hashed, masked = d.quote(name + "_hash"), d.quote(name + "_masked")
    if column.kind is Kind.PARTY_ID:
        person = is_person_sql(value, d)
        return [
            f"CASE WHEN {person} THEN NULL ELSE {value} END AS {d.quote(name)}",
            f"CASE WHEN {person} THEN person_hash({value}) END AS {hashed}",
            f"CASE WHEN {person} THEN mask_identifier({value}) END AS {masked}",
        ]
    return [f"person_hash({value}) AS {hashed}", f"mask_identifier({value}) AS {masked}"]


def column_stored_names(column: Column) -> list[str]:
    """The stored-form column names of one column (:func:`column_stored_exprs`' order)."""
    if not column.personal:
        return [column.name]
    names = [column.name] if column.kind is Kind.PARTY_ID else []
    return [*names, column.name + "_hash", column.name + "_masked"]


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


def record_json(
    feed: Feed,
    source: FeedSource,
    d: SqlDialect = DUCKDB,
    raw: Callable[[str], str] | None = None,
) -> str:
    """The raw row (of the stage, aliased ``r``) as JSON, personal values masked: a
    quarantined row is kept whole. ``raw`` gives the expression of a source column's raw
    value when it is not ``r.<name>``."""
    personal = {c.name for c in all_columns(feed) if c.personal}
    pairs = []
    for name in source.columns:
        if name == checks.ROW:
            continue
        value = raw(name) if raw else f"r.{d.quote(name)}"
        if name in personal:
            value = f"mask_identifier(upper({d.trim_spaces.format(value=value)}))"
        pairs.append((name, value))
    return d.json_of(pairs)


STAGE_PREFIX = "stage_"


def _check_file(con: duckdb.DuckDBPyConnection, source: FeedSource, stage: str) -> None:
    """Read one file and check every row: temp table ``<stage>_checked`` (see :func:`_check_rows`).

    This happens before the delivery's transaction, each file on its own: a file that
    breaks part way (a ragged row, a corrupt row group) fails only its own statements, is
    reported, and cannot abort the load of the others. Parquet and UTF-8 CSV are read where
    they lie by DuckDB's own readers (twice: once for the distinct values, once for the
    rows), Parquet's 64-bit float columns as numbers; a CSV file's rows are numbered in
    file order, which needs ``preserve_insertion_order`` while they are read. Other
    formats, and a file DuckDB's reader refuses, are landed from the reader's Arrow
    stream, which numbers the rows itself and says which line is wrong.
    """
    feed = FEEDS[source.feed]
    doubles = [name for name in source.native_doubles() if _checks_as_double(feed, name)]
    numbered = source.native_rows_sql(doubles)
    if numbered is not None:
        try:
            if source.rows_need_order:
                con.execute("SET preserve_insertion_order = true")
            _check_rows(con, source, stage, f"({numbered})", doubles)
            return
        except duckdb.Error:
            drop_stage(con, stage)  # the stream below says precisely what is wrong
        finally:
            con.execute("SET preserve_insertion_order = false")
    try:
        con.register("puhui_incoming", source.batches())
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {stage}_rows AS SELECT * FROM puhui_incoming"
            )
        finally:
            con.unregister("puhui_incoming")
    except duckdb.Error as error:
        drop_stage(con, stage)
        if source.error is not None:  # the reader's own words, not DuckDB's wrapping
            raise source.error from None
        name = type(error).__name__  # DuckDB's own message may quote cells: not shown
        raise UnreadableFile(source.path, "读取失败", f"read failed ({name})") from None
    _check_rows(con, source, stage, f"{stage}_rows")


def _checks_as_double(feed: Feed, name: str) -> bool:
    """Whether a column read as DOUBLE is checked as a number directly (not as text)."""
    known = {c.name: c for c in all_columns(feed)}
    crossed = {r.column for r in checks.CROSS_RULES if r.feed == feed.name}
    crossed |= {r.other for r in checks.CROSS_RULES if r.feed == feed.name}
    column = known.get(name)
    return column is not None and column.kind in checks.NUMERIC_KINDS and name not in crossed


def _check_rows(
    con: duckdb.DuckDBPyConnection,
    source: FeedSource,
    stage: str,
    rows: str,
    doubles: Sequence[str] = (),
) -> None:
    """Check, type and store every row of ``rows`` in one pass: temp table ``<stage>_checked``.

    ``rows`` is a relation with ``_row`` and the source's columns as text, but for the
    numeric columns named in ``doubles``, which are DOUBLE. The table has, per row:
    ``_row``; ``_failure``, the number of its first failure in :func:`failure_catalogue`
    (NULL for a good row; :func:`failures_sql` gives its column and words); the stored
    form (§4 of docs/ingest.md) and ``extra``; ``_row_hash``, the fingerprint of a good
    row, and ``_key_hash``, of its key; and ``_record``, the quarantine record of a bad one.

    Columns whose values repeat (:func:`checks.value_checked_columns`) are checked once per
    distinct raw value, person ids hashed and masked once per value, in temp tables
    ``<stage>_v<i>`` joined back by the raw text; DOUBLE columns are checked as numbers
    (:func:`checks.compile_double_checks`); the others are checked row by row as text. The
    first failure is then taken in contract order across all three, as
    :func:`checks.compile_checks` alone would take it: failures are numbered in contract
    order, so it is the least number.
    """
    feed = FEEDS[source.feed]
    catalogue = failure_catalogue(feed)
    number = {key: i for i, key in enumerate(catalogue, start=1)}
    by_value = [c for c in checks.value_checked_columns(feed, source.columns) if c not in doubles]
    joins: list[str] = []
    #: per column checked apart from the row checks: its failure number, and its stored
    #: form's items
    failures: list[str] = []
    stored_items: dict[str, list[str]] = {}
    sizes: list[int] = []
    if by_value:
        # Every such column's distinct values in one read of the rows (one hash table per
        # column); GROUPING() tells which column a row of the result belongs to.
        listed = ", ".join(quote(n) for n in by_value)
        sets = ", ".join(f"({quote(n)})" for n in by_value)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {stage}_values AS "
            f"SELECT GROUPING({listed}) AS _set, {listed} FROM {rows} "
            f"GROUP BY GROUPING SETS ({sets})"
        )
    every = (1 << len(by_value)) - 1
    for i, name in enumerate(by_value):
        only = every ^ (1 << (len(by_value) - 1 - i))  # GROUPING() of this column's set
        values = f"(SELECT {quote(name)} AS {checks.RAW} FROM {stage}_values WHERE _set = {only})"
        verdicts = checks.compile_value_checks(feed, name, values)
        stored = ", ".join(column_stored_exprs(feed.column(name), f"c.{quote(name)}"))
        codes = {code: n for (column, code), n in number.items() if column == name}
        failed = _number_of(f"c.{checks.ERROR_CODE}", codes)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {stage}_v{i} AS "
            f"SELECT c.{checks.RAW} AS _raw_{i}, {failed} AS _failure_{i}, {stored} "
            f"FROM ({verdicts}) c"
        )
        sizes.append(int(scalar(con, f"SELECT count(*) FROM {stage}_v{i}")))
    con.execute(f"DROP TABLE IF EXISTS {stage}_values")
    # Columns with few values (an enum, a period, a head count) share one table of every
    # combination of their verdicts, so each row probes one hash table instead of several.
    groups: list[list[int]] = []
    product = _GROUP_LIMIT + 1
    for i in sorted(range(len(by_value)), key=lambda i: sizes[i]):
        if groups and product * sizes[i] <= _GROUP_LIMIT:
            groups[-1].append(i)
            product *= sizes[i]
        else:
            groups.append([i])
            product = sizes[i]
    for g, members in enumerate(groups):
        table, a = f"{stage}_v{members[0]}", f"v{g}"
        if len(members) > 1:
            table = f"{stage}_g{g}"
            parts = ", ".join(f"{stage}_v{i}" for i in members)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {parts}")
        # A NULL cell has its own verdict (missing or fine): NULL matches NULL here.
        match = " AND ".join(
            f"m.{quote(by_value[i])} IS NOT DISTINCT FROM {a}._raw_{i}" for i in members
        )
        joins.append(f"LEFT JOIN {table} {a} ON {match}")
        for i in members:
            column = feed.column(by_value[i])
            failures.append(f"{a}._failure_{i}")
            stored_items[column.name] = [
                f"{a}.{quote(n)} AS {quote(n)}" for n in column_stored_names(column)
            ]
    # Row-checked columns come out typed under their own names, so their raw text is kept
    # under another name for the quarantine record. A DOUBLE column's text is written only
    # where it is needed (a bad row's record, a rare decimal), never for every row.
    per_row = [
        c.name for c in all_columns(feed) if c.name not in by_value and c.name not in doubles
    ]
    raw_copy = {n: f"_raw{k}" for k, n in enumerate(source.columns) if n in per_row}
    copies = [f"{quote(n)} AS {quote(r)}" for n, r in raw_copy.items()]
    raw_text = {n: f"m.{quote(r)}" for n, r in raw_copy.items()}
    numbers: list[str] = []
    for k, name in enumerate(doubles):
        x = quote(name)
        codes = {code: n for (column, code), n in number.items() if column == name}
        failed, typed = checks.compile_double_checks(
            feed, name, x, native_text(x, pa.float64()), numbers=codes
        )
        numbers += [f"{failed} AS {quote(f'_failure_d{k}')}", f"{typed} AS {quote(f'_typed{k}')}"]
        raw_text[name] = native_text(f"m.{x}", pa.float64())
        failures.append(f"m.{quote(f'_failure_d{k}')}")
        stored_items[name] = column_stored_exprs(feed.column(name), f"m.{quote(f'_typed{k}')}")
    listed = "".join(f", {c}" for c in copies)
    present = [*source.columns, *raw_copy.values()]
    row_checks = checks.compile_checks(
        feed, f"(SELECT *{listed} FROM {rows})", present, only=per_row
    )
    if numbers:
        row_checks = f"SELECT *, {', '.join(numbers)} FROM ({row_checks})"
    # The row checks' own first failure, numbered (only failing rows are looked up).
    key = f"m.{checks.ERROR_COLUMN} || chr(9) || m.{checks.ERROR_CODE}"
    by_key = {f"{column}\t{code}": n for (column, code), n in number.items()}
    failures.insert(
        0,
        f"CASE WHEN m.{checks.ERROR_COLUMN} IS NOT NULL THEN {_number_of(key, by_key)} END",
    )
    failure = f"least({', '.join(failures)})" if len(failures) > 1 else failures[0]

    items = [f"m.{checks.ROW} AS {checks.ROW}", f"{failure} AS _failure"]
    names: list[str] = []
    for column in all_columns(feed):
        names += column_stored_names(column)
        if column.name in stored_items:
            items += stored_items[column.name]
        else:
            items += column_stored_exprs(column, f"m.{quote(column.name)}")
    extras = extra_columns(feed, source)
    extra = DUCKDB.json_of([(c, f"m.{quote(c)}") for c in extras]) if extras else "NULL"
    items.append(f"{extra}::JSON AS extra")
    names.append("extra")

    def raw(name: str) -> str:
        return raw_text.get(name, f"m.{quote(name)}")

    record = record_json(feed, source, raw=raw)
    items.append(f"CASE WHEN {failure} IS NOT NULL THEN {record} END AS _record")
    # A 64-bit hash of the stored values tells a changed row from a re-sent one; a
    # collision (2^-64 per pair of versions of one key) would only miss one update.
    fingerprint = DUCKDB.hash_of([quote(n) for n in names])
    # One 64-bit number per key finds the keys that repeat with an aggregate over a single
    # column; rows whose numbers repeat are then ordered by the key itself (_load_file).
    key_hash = DUCKDB.hash_of(key_exprs(feed, "s"))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {stage}_checked AS
        SELECT *,
               CASE WHEN _failure IS NULL THEN {fingerprint} END AS _row_hash,
               CASE WHEN _failure IS NULL THEN {key_hash} END AS _key_hash
        FROM (
            SELECT {", ".join(items)}
            FROM ({row_checks}) m
            {" ".join(joins)}
        ) s
        """
    )
    for i in range(len(by_value)):
        con.execute(f"DROP TABLE IF EXISTS {stage}_v{i}")
    for g in range(len(groups)):
        con.execute(f"DROP TABLE IF EXISTS {stage}_g{g}")
    con.execute(f"DROP TABLE IF EXISTS {stage}_rows")


def failure_catalogue(feed: Feed) -> list[tuple[str, str]]:
    """Every (column, code) a row of ``feed`` can fail with, columns in contract order (a
    line that could not be parsed first): the loader keeps a row's first failure as its
    1-based position here, so the first failure in contract order is the least number."""
    keys = [(checks.LINE, "bad_line")]
    for column in all_columns(feed):
        keys += [(column.name, code) for code in checks.failure_codes(feed, column)]
    return keys


def failures_sql(feed: Feed) -> str:
    """The numbered failures of :func:`failure_catalogue` as a relation ``f(_failure,
    _error_column, _error_code, _error_zh, _error_en)``."""
    rows = ", ".join(
        f"({n}, {literal(column)}, {literal(code)}, "
        + ", ".join(literal(words) for words in checks.render_message(feed, column, code))
        + ")"
        for n, (column, code) in enumerate(failure_catalogue(feed), start=1)
    )
    return f"(VALUES {rows}) AS f(_failure, {', '.join(_ERRORS)})"


def _number_of(value: str, numbers: Mapping[str, int]) -> str:
    """``CASE value WHEN k THEN n … END`` as a SMALLINT (NULL when no key matches)."""
    whens = " ".join(f"WHEN {literal(k)} THEN {n}" for k, n in numbers.items())
    return f"CAST(CASE {value} {whens} END AS SMALLINT)" if numbers else "CAST(NULL AS SMALLINT)"


#: The most combinations of values that columns checked by value share one table for.
_GROUP_LIMIT = 10_000

_ERRORS = (checks.ERROR_COLUMN, checks.ERROR_CODE, checks.ERROR_ZH, checks.ERROR_EN)


def drop_stage(con: duckdb.DuckDBPyConnection, stage: str) -> None:
    """Remove one file's working tables and views (``<stage>_…``)."""
    pattern = f"^{stage}_(rows|values|checked|repeated|order|[vg][0-9]+)$"
    for name, kind in _stage_relations(con, pattern):
        con.execute(f"DROP {kind} IF EXISTS {quote(name)}")
    con.execute(f"DROP VIEW IF EXISTS {stage}_classified")


def drop_stages(con: duckdb.DuckDBPyConnection) -> None:
    """Remove every stage: those of this connection, and those an older version of the
    loader left in the warehouse file when it was killed."""
    for name, kind in _stage_relations(con, f"^{STAGE_PREFIX}"):
        con.execute(f"DROP {kind} IF EXISTS {quote(name)}")


def _stage_relations(con: duckdb.DuckDBPyConnection, pattern: str) -> list[tuple[str, str]]:
    """(name, VIEW or TABLE) of the relations whose name matches ``pattern``, views first."""
    rows = con.execute(
        "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE regexp_matches(view_name, $1) "
        "AND NOT internal UNION ALL "
        "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE regexp_matches(table_name, $1)",
        [pattern],
    ).fetchall()
    return sorted(((str(n), str(k)) for n, k in rows), key=lambda r: r[1] != "VIEW")


def _load_file(
    con: duckdb.DuckDBPyConnection, source: FeedSource, stage: str, delivery_id: str
) -> FeedCounts:
    """Quarantine and merge one checked file (inside the delivery's transaction).

    Each good row gets its fingerprint (``_row_hash``), the fingerprint held before it for
    its key (the previous row of this delivery, else the warehouse's row), and whether it
    is the last of its key here (the one that stays). Most keys occur once in a file, so
    the ordering by key that this needs is done only for the rows of keys that repeat.
    """
    feed = FEEDS[source.feed]
    table, checked = table_name(feed), f"{stage}_checked"
    con.execute(
        f"""
        INSERT INTO quarantine
        SELECT $1, $2, $3, c._row, {", ".join("f." + e for e in _ERRORS[:1] + _ERRORS[2:])},
               c._record
        FROM {checked} c JOIN {failures_sql(feed)} ON f._failure = c._failure
        ORDER BY c._row
        """,
        [delivery_id, feed.name, source.path.name],
    )
    counts = con.execute(f"SELECT count(*), count(_failure) FROM {checked}").fetchall()
    read, quarantined = counts[0]
    good = "g._failure IS NULL"
    g_key = key_exprs(feed, "g")
    # Keys that repeat, by their 64-bit number (a collision only adds rows to order).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {stage}_repeated AS
        SELECT _key_hash FROM {checked} WHERE _key_hash IS NOT NULL
        GROUP BY _key_hash HAVING count(*) > 1
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {stage}_order AS
        SELECT g._row, g._row_hash, lag(g._row_hash) OVER w AS _previous_in_file,
               lead(g._row) OVER w IS NULL AS _final
        FROM {checked} g SEMI JOIN {stage}_repeated r ON g._key_hash = r._key_hash
        WINDOW w AS (PARTITION BY {", ".join(g_key)} ORDER BY g._row)
        """
    )
    names = [name for name, _ in stored_columns(feed)] + ["extra"]
    columns = ", ".join(quote(n) for n in names)
    values = ", ".join("c." + quote(n) for n in names)
    lineage = "_delivery_id, _file, _row, _loaded_at, _row_hash"
    params = [delivery_id, source.path.name]
    if not con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall():
        # First delivery of this feed: no warehouse row to compare with, so no join. A row
        # is unchanged only as a repeat of the row before it; the last row of a key stays.
        unchanged = int(
            scalar(con, f"SELECT count(*) FROM {stage}_order WHERE _row_hash = _previous_in_file")
        )
        con.execute(
            f"""
            INSERT INTO {table} ({columns}, {lineage})
            SELECT {values}, $1, $2, c._row, now(), c._row_hash
            FROM {checked} c
            ANTI JOIN (SELECT _row FROM {stage}_order WHERE NOT _final) o ON o._row = c._row
            WHERE c._failure IS NULL
            """,
            params,
        )
    else:
        e_key = key_exprs(feed, "e")
        match = " AND ".join(f"{a} = {b}" for a, b in zip(g_key, e_key, strict=True))
        con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW {stage}_classified AS
            SELECT g.*, e._row_hash AS _existing_hash,
                   coalesce(o._previous_in_file, e._row_hash) AS _previous_hash,
                   coalesce(o._final, TRUE) AS _final
            FROM {checked} g
            LEFT JOIN {table} e ON {match}
            LEFT JOIN {stage}_order o ON o._row = g._row
            WHERE {good}
            """
        )
        unchanged = int(
            scalar(
                con,
                f"SELECT count(*) FROM {stage}_classified "
                "WHERE _row_hash IS NOT DISTINCT FROM _previous_hash",
            )
        )
        # Replace the warehouse row of every key whose final row here differs from it.
        c_key, t_key = key_exprs(feed, "c"), key_exprs(feed, table)
        t_match = " AND ".join(f"{a} = {b}" for a, b in zip(t_key, c_key, strict=True))
        changed = "c._final AND c._row_hash IS DISTINCT FROM c._existing_hash"
        con.execute(f"DELETE FROM {table} USING {stage}_classified c WHERE {changed} AND {t_match}")
        con.execute(
            f"""
            INSERT INTO {table} ({columns}, {lineage})
            SELECT {values}, $1, $2, c._row, now(), c._row_hash
            FROM {stage}_classified c WHERE {changed}
            """,
            params,
        )
    drop_stage(con, stage)
    return FeedCounts(
        read=int(read),
        loaded=int(read) - int(quarantined) - unchanged,
        unchanged=unchanged,
        quarantined=int(quarantined),
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
    # Only landing a CSV needs file order (it numbers the rows); checking and merging do
    # not, and DuckDB spends less memory and time when it need not keep it.
    con.execute("SET preserve_insertion_order = false")
    try:
        for done, path in enumerate(files):
            if progress:
                progress(f"读取 reading {path.name}", done, steps)
            try:
                source = open_feed(path)
                stage = f"{STAGE_PREFIX}{source.feed}"
                _check_file(con, source, stage)
            except UnreadableFile as error:
                report.file_errors.append(FileError(path.name, error.reason_zh, error.reason_en))
                continue
            staged.append((source, stage))
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
            raise
    except BaseException:
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

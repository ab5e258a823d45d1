"""The warehouse on DuckDB: one table per feed, typed from the contract, plus the ledger.

The table layout declared here (:func:`table_columns`) is also the Spark warehouse's
(:mod:`puhui.ingest.spark_warehouse`), in Spark's type names.

Tables
    ``feed_<name>``   the current rows of a feed, one per contract key; contract columns
                      typed, personal columns only as ``<col>_hash`` + ``<col>_masked``,
                      then ``extra`` (other columns of the file, as JSON) and lineage
                      (``_delivery_id``, ``_file``, ``_row``, ``_loaded_at``, ``_row_hash``).
    ``deliveries``    one row per ingest run of a delivery, with its report.
    ``quarantine``    every rejected row, whole (personal values masked), with its reason.
    ``file_errors``   files of a delivery that could not be read at all.

Person ids and phones are hashed inside DuckDB with HMAC-SHA256 under the region's key,
which is held in a session variable rather than in any SQL text, so it is never logged.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import duckdb

from puhui.ingest.checks import SQL_TYPES
from puhui.ingest.contract import FEEDS, Column, Feed, Kind

LINEAGE = (
    ("extra", "JSON"),
    ("_delivery_id", "VARCHAR NOT NULL"),
    ("_file", "VARCHAR NOT NULL"),
    ("_row", "BIGINT NOT NULL"),
    ("_loaded_at", "TIMESTAMP NOT NULL"),
    ("_row_hash", "UBIGINT NOT NULL"),  # DuckDB hash() of the stored values: change detection
)

#: The ledger tables, (name, DuckDB type) per column.
LEDGER: dict[str, tuple[tuple[str, str], ...]] = {
    # One row per ingest run of a delivery.
    "deliveries": (
        ("delivery_id", "VARCHAR NOT NULL"),
        ("source", "VARCHAR NOT NULL"),
        ("fingerprint", "VARCHAR NOT NULL"),
        ("loaded_at", "TIMESTAMP NOT NULL"),
        ("report", "JSON NOT NULL"),
    ),
    "quarantine": (
        ("delivery_id", "VARCHAR NOT NULL"),
        ("feed", "VARCHAR NOT NULL"),
        ("file", "VARCHAR NOT NULL"),
        ("row", "BIGINT NOT NULL"),
        ("column", "VARCHAR NOT NULL"),
        ("reason_zh", "VARCHAR NOT NULL"),
        ("reason_en", "VARCHAR NOT NULL"),
        ("record", "JSON NOT NULL"),
    ),
    "file_errors": (
        ("delivery_id", "VARCHAR NOT NULL"),
        ("file", "VARCHAR NOT NULL"),
        ("reason_zh", "VARCHAR NOT NULL"),
        ("reason_en", "VARCHAR NOT NULL"),
    ),
}

#: Tables the steps after ingest write (``puhui link``), one part each on Spark.
DERIVED: dict[str, tuple[tuple[str, str], ...]] = {
    # One row per resolved record (see puhui.link.service).
    "links": (
        ("feed", "VARCHAR NOT NULL"),
        ("record_key", "VARCHAR NOT NULL"),
        ("given", "VARCHAR NOT NULL"),  # what identified the record: uscc, person or none
        ("uscc", "VARCHAR"),  # the linked business, NULL when unlinked
        ("method", "VARCHAR"),  # uscc, person or probabilistic; NULL when unlinked
        ("probability", "DOUBLE"),
        ("status", "VARCHAR NOT NULL"),  # linked, review or unlinked
        ("candidate_uscc", "VARCHAR"),  # best candidate of a record under review
        ("candidate_probability", "DOUBLE"),
        ("reason", "VARCHAR"),  # why a record is not linked
    ),
    # One row per link run, with its report and fitted model.
    "link_runs": (
        ("run_id", "VARCHAR NOT NULL"),
        ("linked_at", "TIMESTAMP NOT NULL"),
        ("report", "JSON NOT NULL"),
    ),
}

HMAC_BLOCK = 64  # SHA-256 block size in bytes

#: Body of ``mask_identifier(value)``, the same SQL on DuckDB and Spark, and the same result
#: as :func:`puhui.identifiers.mask_identifier`: the first 4 and last 4 characters with stars
#: between; 8 characters or fewer all stars.
MASK_SQL = """CASE
            WHEN value IS NULL THEN NULL
            WHEN length(value) <= 8 THEN repeat('*', length(value))
            ELSE left(value, 4) || repeat('*', length(value) - 8) || right(value, 4)
        END"""


def table_name(feed: Feed) -> str:
    return f"feed_{feed.name}"


def all_columns(feed: Feed) -> tuple[Column, ...]:
    return (*feed.columns, *feed.extensions)


def stored_columns(feed: Feed) -> list[tuple[str, str]]:
    """(name, SQL type) of the stored form of every contract and extension column.

    A personal column is stored as its keyed hash and masked form only. A party id keeps
    the value when it is a USCC (a business's code is public) and hashes it when it is a
    person's id.
    """
    out: list[tuple[str, str]] = []
    for column in all_columns(feed):
        if column.personal:
            if column.kind is Kind.PARTY_ID:
                out.append((column.name, "VARCHAR"))
            out.append((f"{column.name}_hash", "VARCHAR"))
            out.append((f"{column.name}_masked", "VARCHAR"))
        else:
            out.append((column.name, SQL_TYPES[column.kind]))
    return out


def table_columns() -> dict[str, list[tuple[str, str]]]:
    """Every warehouse table: name -> (column, DuckDB type), feed tables first."""
    tables = {table_name(feed): [*stored_columns(feed), *LINEAGE] for feed in FEEDS.values()}
    return tables | {name: list(columns) for name, columns in (LEDGER | DERIVED).items()}


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that does not exist yet (idempotent)."""
    for table, columns in table_columns().items():
        ddl = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({ddl})")


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The HMAC-SHA256 inner and outer pads of ``key`` (RFC 2104).

    With them, HMAC(key, m) = SHA256(opad || SHA256(ipad || m)): what the engines compute in
    SQL, with the pads bound as data so that the key appears in no SQL text.
    """
    if len(key) > HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


def set_hash_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Make ``person_hash(text)`` available: HMAC-SHA256 under ``key``, first 32 hex chars.

    Equal to :func:`puhui.identifiers.hash_person_id` for the same key and value. The pads
    live in session variables, so the key appears in no SQL text.
    """
    ipad, opad = hmac_pads(key)
    con.execute("SET VARIABLE puhui_ipad = $1::BLOB", [ipad])
    con.execute("SET VARIABLE puhui_opad = $1::BLOB", [opad])
    con.execute(
        """
        CREATE OR REPLACE TEMP MACRO person_hash(value) AS left(sha256(
            getvariable('puhui_opad') || unhex(sha256(
                getvariable('puhui_ipad') || encode(upper(trim(value)))))), 32)
        """
    )
    con.execute(f"CREATE OR REPLACE TEMP MACRO mask_identifier(value) AS {MASK_SQL}")


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> Any:
    """The single value of a query, with the result fully fetched.

    DuckDB 2 refuses further work on a connection while a result is only partly fetched
    (``fetchone`` on a one-row result leaves it open), so results are always drained.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def memory_share(fraction: float) -> str:
    """A DuckDB ``memory_limit`` of ``fraction`` of the machine's memory (at least 512 MB)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(int(total * fraction) // 2**20, 512)}MB"


#: Share of the machine's memory the warehouse connection may hold before it spills to
#: disk. DuckDB's default (80 %) let a 1,000,000-business ingest, whose checked stages wait
#: in temporary tables until the transaction, grow to 18.7 GiB and be killed for memory on a
#: 24 GiB machine shared with other work; Splink's own database takes another two fifths.
WAREHOUSE_MEMORY_SHARE = 0.4


def connect(path: Path, key: bytes) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse file, with its schema and hashing macros."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The CLI draws its own progress; DuckDB's bar would print over it on long queries.
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_share(WAREHOUSE_MEMORY_SHARE)}'")
    create_schema(con)
    set_hash_key(con, key)
    return con

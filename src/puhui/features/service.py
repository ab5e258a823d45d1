"""``puhui features`` and ``puhui publish``: the point-in-time feature table and profiles.

Features of one as-of date are kept in the warehouse table ``features`` (one row per
business and as-of date; computing a date again replaces its rows). They need the links
(``puhui link``): utilities, penalties, court and property records count for the business
they are linked to.

Profiles (画像) of one as-of date are published to the app database (``profiles``), where
:func:`get_profile` reads one by its uscc.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from sqlalchemy import delete, insert, inspect
from sqlalchemy.orm import Session

from puhui.engine import DuckDBEngine, SparkEngine
from puhui.errors import PuhuiError
from puhui.features.models import Profile
from puhui.features.pipeline import features_sql
from puhui.features.profile import profiles_sql
from puhui.features.registry import feature_names
from puhui.ingest.checks import literal
from puhui.ingest.warehouse import scalar
from puhui.link.service import require_links

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TABLE = "features"


def _table_matches(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``features`` exists with exactly the registry's columns."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
        "ORDER BY ordinal_position",
        [TABLE],
    ).fetchall()
    return [r[0] for r in rows] == ["as_of", "uscc", *feature_names()]


def has_features(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    """Whether ``features`` holds rows of ``as_of`` computed with today's registry."""
    return _table_matches(con) and bool(
        scalar(con, f"SELECT count(*) FROM {TABLE} WHERE as_of = $1", [as_of])
    )


def compute_features(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """Compute the features as of ``as_of`` into ``features``; returns the businesses."""
    require_links(DuckDBEngine(con))
    query = features_sql(as_of)
    con.execute("BEGIN TRANSACTION")
    try:
        if not _table_matches(con):
            # The registry changed since the table was made: its old rows cannot be kept.
            con.execute(f"DROP TABLE IF EXISTS {TABLE}")
            con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM ({query}) AS f LIMIT 0")
        con.execute(f"DELETE FROM {TABLE} WHERE as_of = $1", [as_of])
        con.execute(f"INSERT INTO {TABLE} {query}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(scalar(con, f"SELECT count(*) FROM {TABLE} WHERE as_of = $1", [as_of]))


def export_features(con: duckdb.DuckDBPyConnection, as_of: date, out: Path) -> int:
    """Write the features of ``as_of`` (computed first if missing) to a Parquet file."""
    if not has_features(con, as_of):
        compute_features(con, as_of)
    out.parent.mkdir(parents=True, exist_ok=True)
    day = literal(as_of.isoformat())
    con.execute(
        f"COPY (SELECT * FROM {TABLE} WHERE as_of = CAST({day} AS DATE) ORDER BY uscc) "
        f"TO {literal(str(out))} (FORMAT parquet)"
    )
    return int(scalar(con, f"SELECT count(*) FROM {TABLE} WHERE as_of = $1", [as_of]))


def features_on_spark(spark: SparkSession, as_of: date) -> DataFrame:
    """The same feature table on Spark, over tables registered as views of the same names
    (``feed_*`` and ``links``; see :data:`puhui.features.pipeline.SOURCE_TABLES`)."""
    return SparkEngine(spark).frame(features_sql(as_of))


# --------------------------------------------------------------------------- profiles

#: Profiles sent to the app database per INSERT batch.
PUBLISH_BATCH = 5_000


def publish_profiles(con: duckdb.DuckDBPyConnection, session: Session, as_of: date) -> int:
    """Replace every published profile with those assembled as of ``as_of``.

    Runs in the caller's transaction (the session is flushed, not committed): the app
    database shows the old profiles or the new ones, never a mix.
    """
    require_links(DuckDBEngine(con))
    if not inspect(session.connection()).has_table(Profile.__tablename__):
        raise PuhuiError(
            "应用数据库尚未升级，请先运行 puhui db upgrade",
            "the app database is not migrated yet: run puhui db upgrade first",
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    session.execute(delete(Profile))
    stamped = f"SELECT *, $1 AS as_of, $2 AS published_at FROM ({profiles_sql(as_of)}) AS p"
    reader = con.sql(stamped, params=[as_of, now]).to_arrow_reader(PUBLISH_BATCH)
    published = 0
    for batch in reader:
        session.execute(insert(Profile), batch.to_pylist())
        published += batch.num_rows
    session.flush()
    return published


@dataclass(frozen=True)
class ProfileView:
    """One business's profile as a reader gets it."""

    uscc: str
    as_of: date
    name: str
    entity_type: str
    district: str
    industry_code: str
    document: dict[str, Any]
    published_at: datetime


def get_profile(session: Session, uscc: str) -> ProfileView | None:
    """The published profile of ``uscc`` (None if it has none): one primary-key read.

    Whoever may see it (a bank with the business's consent, the business itself, an
    operator) is for the caller to decide and record; this returns the stored document.
    """
    row = session.get(Profile, uscc)
    if row is None:
        return None
    return ProfileView(
        uscc=row.uscc,
        as_of=row.as_of,
        name=row.name,
        entity_type=row.entity_type,
        district=row.district,
        industry_code=row.industry_code,
        document=json.loads(row.document),
        published_at=row.published_at,
    )

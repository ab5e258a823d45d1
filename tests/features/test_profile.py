"""Publishing profiles (画像) to the app database and reading one back, on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from sqlalchemy.orm import Session

from puhui.features.registry import feature_names
from puhui.features.service import get_profile, publish_profiles
from puhui.identifiers import is_valid_person_id
from puhui.ingest.warehouse import connect
from tests.conftest import WAREHOUSE_KEY

AS_OF = date(2026, 1, 15)
_CLEAR_ID = re.compile(r"(?<![0-9A-Z])[0-9]{17}[0-9X](?![0-9A-Z])")


@pytest.fixture(scope="module")
def warehouse(linked_region: tuple[Path, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(linked_region[1], WAREHOUSE_KEY)
    yield con
    con.close()


def test_publish_and_read_a_profile(warehouse: duckdb.DuckDBPyConnection, session: Session) -> None:
    count = publish_profiles(warehouse, session, AS_OF)
    registered = warehouse.sql(
        "SELECT count(*) FROM feed_registrations WHERE established < DATE '2026-01-15'"
    ).fetchall()[0][0]
    assert count == registered
    # A business with a court case, a shareholder and revenue: every section filled.
    uscc = warehouse.sql(
        """
        SELECT g.uscc FROM feed_registrations g
        JOIN links l ON l.uscc = g.uscc AND l.feed = 'court'
        JOIN feed_shareholders s ON s.uscc = g.uscc
        WHERE g.established < DATE '2023-01-01' ORDER BY g.uscc LIMIT 1
        """
    ).fetchall()[0][0]
    profile = get_profile(session, uscc)
    assert profile is not None
    assert profile.as_of == AS_OF
    doc = profile.document
    assert set(doc) == {
        "as_of", "registration", "relations", "operations", "assets", "risk", "tags", "features"
    }  # fmt: skip
    assert doc["registration"]["uscc"] == uscc
    assert re.fullmatch(r"[0-9]{4}\*+[0-9X]{4}", doc["registration"]["legal_rep_id"])
    assert doc["relations"]["shareholders"]
    assert list(doc["features"]) == feature_names()
    revenue = doc["operations"]["revenue"]
    assert len(revenue) == 24
    assert revenue[-1]["period"] == "2025-12"  # the month before the as-of month
    assert Decimal(revenue[0]["value"]).as_tuple().exponent == -2  # money to the fen
    for case in doc["risk"]["court"]:
        assert case["filed_on"] < "2026-01-15"
        assert case["closed_on"] is None or case["closed_on"] < "2026-01-15"
    assert get_profile(session, "91330000000000000X") is None


def test_no_clear_person_id_in_any_profile(
    warehouse: duckdb.DuckDBPyConnection, session: Session
) -> None:
    publish_profiles(warehouse, session, AS_OF)
    from puhui.features.models import Profile

    documents = [p.document for p in session.query(Profile).limit(2000)]
    leaked = [m for d in documents for m in _CLEAR_ID.findall(d) if is_valid_person_id(m)]
    assert leaked == []


def test_publishing_again_replaces(warehouse: duckdb.DuckDBPyConnection, session: Session) -> None:
    first = publish_profiles(warehouse, session, AS_OF)
    second = publish_profiles(warehouse, session, date(2026, 6, 30))
    from puhui.features.models import Profile

    assert session.query(Profile).count() == second >= first
    assert {p.as_of for p in session.query(Profile).limit(50)} == {date(2026, 6, 30)}

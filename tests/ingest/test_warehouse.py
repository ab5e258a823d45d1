from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.identifiers import hash_person_id, mask_identifier
from puhui.ingest.contract import FEEDS
from puhui.ingest.warehouse import connect, stored_columns, table_name


def test_schema_is_made_from_the_contract_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path, b"k").close()
    con = connect(path, b"k")  # a second open creates nothing twice
    tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    assert {table_name(f) for f in FEEDS.values()} <= tables
    assert {"deliveries", "quarantine", "file_errors"} <= tables
    columns = [row[0] for row in con.execute("DESCRIBE feed_registrations").fetchall()]
    assert "legal_rep_id" not in columns  # a person id is never stored in clear
    assert {"legal_rep_id_hash", "legal_rep_id_masked", "phone_hash"} <= set(columns)
    court = dict(stored_columns(FEEDS["court"]))
    assert {"party_id", "party_id_hash", "party_id_masked"} <= set(court)
    utilities = dict(stored_columns(FEEDS["utilities"]))
    assert "holder_id" not in utilities
    assert "holder_id_hash" in utilities


@settings(max_examples=50, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=100),
    value=st.text(alphabet="0123456789Xx ", min_size=1, max_size=20),
)
def test_sql_hash_and_mask_equal_the_python_ones(key: bytes, value: str) -> None:
    import duckdb

    from puhui.ingest.warehouse import set_hash_key

    con = duckdb.connect()
    set_hash_key(con, key)
    hashed, masked = con.execute(
        "SELECT person_hash($1), mask_identifier($2)", [value, value.strip().upper()]
    ).fetchall()[0]
    assert hashed == hash_person_id(value, key)
    assert masked == mask_identifier(value.strip().upper())

"""The DuckDB load's shortcuts give what the plain checks give, row by row.

The loader checks repeating columns once per distinct value, reads Parquet doubles as
numbers rather than text, reads UTF-8 CSV and Parquet where they lie, numbered by DuckDB,
keeps a row's first failure as a number, and loads a feed's first delivery without
comparing with the warehouse. Each shortcut is compared here with the plain path it
replaces: the checks of :func:`compile_checks` over every row's text (for CSV, the text and
row numbers of the reader's own stream), the stored form of :func:`stored_exprs`, and the
load into a warehouse that already holds rows of the feed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from puhui.identifiers import make_person_ids
from puhui.ingest import checks, service
from puhui.ingest.contract import FEEDS
from puhui.ingest.readers import list_delivery, open_feed
from puhui.ingest.warehouse import connect, stored_columns
from puhui.reference.data import industry_class_codes
from puhui.simulate.service import SimulationConfig, simulate

KEY = b"test-key-for-person-hashes-00000"
_ERRORS = (checks.ERROR_COLUMN, checks.ERROR_CODE, checks.ERROR_ZH, checks.ERROR_EN)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("delivery")
    simulate(out, SimulationConfig(entities=400, seed=5, as_of=date(2026, 6, 30)))
    return out


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "w.duckdb", KEY)
    checks.register_reference(con)
    return con


def _plain(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[object, ...]]:
    """Per row: the failure, the row fingerprint of a good row and the record of a bad one,
    by the plain path: every row's text through compile_checks, then stored_exprs."""
    source = open_feed(path)
    feed = FEEDS[source.feed]
    # Parquet: the text DuckDB's reader gives; other formats: the reader's own stream.
    numbered = source.native_rows_sql() if source.fmt == "parquet" else None
    if numbered is not None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE plain_rows AS {numbered}")
    else:
        con.register("incoming", source.batches())
        con.execute("CREATE OR REPLACE TEMP TABLE plain_rows AS SELECT * FROM incoming")
        con.unregister("incoming")
    names = [n for n, _ in stored_columns(feed)] + ["extra"]
    fingerprint = checks.DUCKDB.hash_of(["s." + checks.quote(n) for n in names])
    sql = checks.compile_checks(feed, "plain_rows", source.columns)
    return con.execute(
        f"""
        SELECT s._row, {", ".join("s." + e for e in _ERRORS)},
               CASE WHEN s._error_column IS NULL THEN {fingerprint} END,
               CASE WHEN s._error_column IS NOT NULL THEN {service.record_json(feed, source)} END
        FROM (
            SELECT {", ".join(service.stored_exprs(feed))},
                   {service.extra_json(feed, source)}::JSON AS extra, _row,
                   {", ".join(_ERRORS)}
            FROM ({sql})
        ) s JOIN plain_rows r USING (_row)
        ORDER BY s._row
        """
    ).fetchall()


def _loaded(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[object, ...]]:
    """The same, from the loader's checked table."""
    source = open_feed(path)
    service._check_file(con, source, "stage_t")
    failures = service.failures_sql(FEEDS[source.feed])
    rows = con.execute(
        f"SELECT c._row, {', '.join('f.' + e for e in _ERRORS)}, c._row_hash, c._record "
        f"FROM stage_t_checked c LEFT JOIN {failures} ON f._failure = c._failure ORDER BY c._row"
    ).fetchall()
    service.drop_stage(con, "stage_t")
    return rows


def test_checks_by_value_give_what_the_plain_checks_give(
    delivery: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    files, _ = list_delivery(delivery)
    assert len(files) == 15
    broken = 0
    for path in files:
        plain, loaded = _plain(warehouse, path), _loaded(warehouse, path)
        assert len(loaded) == len(plain), path.name
        assert loaded == plain, path.name
        broken += any(row[1] is not None for row in plain)
    assert broken >= 10  # the simulator breaks rows of most files


def _doubles(tmp_path: Path) -> list[Path]:
    """Parquet files whose numeric columns are doubles, with every awkward value."""
    tricky = [
        1.0, 0.0, -0.0, 1.005, 2.675, 0.125, 12.5, -1.0, 1e16, 1e300, 123456789012.345,
        99999999999.99, 2.0**31, 1.5e-7, float("nan"), float("inf"), float("-inf"), 40.0,
    ]  # fmt: skip
    n = len(tricky)
    loans = pa.table(
        {
            "bank": ["b"] * n,
            "loan_id": [f"L{i}" for i in range(n)],
            "borrower_id": ["91110000600037341L"] * n,
            "guarantee": ["credit"] * n,
            "amount": pa.array(tricky, pa.float64()),
            "rate": pa.array(list(reversed(tricky)), pa.float64()),
            "start": ["2024-01-01"] * n,
            "maturity": ["2025-01-01"] * n,
            "status": ["current"] * n,
            "max_dpd": pa.array(tricky, pa.float64()),
        }
    )
    person = str(
        make_person_ids(
            np.array([331082]), np.array(["1998-05-06"], dtype="datetime64[D]"), np.array([123])
        )[0]
    )
    registrations = pa.table(
        {
            "uscc": ["91110000600037341L"] * n,
            "name": ["某公司"] * n,
            "entity_type": ["enterprise"] * n,
            "legal_rep": ["张三"] * n,
            "legal_rep_id": [person] * n,
            "industry_code": [sorted(industry_class_codes())[0]] * n,
            "established": ["2020-01-01"] * n,
            "status": ["active"] * n,
            "division": ["331082"] * n,
            "address": ["某地"] * n,
            "registered_capital": pa.array(tricky, pa.float64()),
            "lon": pa.array([120.5, *tricky[1:]], pa.float64()),
            "lat": pa.array([30.25] * n, pa.float32()),  # float32 stays text
            "备注": pa.array(tricky, pa.float64()),  # an extra column stays text
        }
    )
    paths = []
    for name, table in (("loans", loans), ("registrations", registrations)):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table, path, row_group_size=5)
        paths.append(path)
    return paths


def test_parquet_doubles_are_checked_as_their_text_would_be(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    for path in _doubles(tmp_path):
        source = open_feed(path)
        assert source.native_doubles(), path.name
        plain, loaded = _plain(warehouse, path), _loaded(warehouse, path)
        assert {row[1] for row in loaded} > {None}, path.name
        assert loaded == plain, path.name
        # And the typed values stored are those of the text path.
        service._check_file(warehouse, source, "stage_a")
        text = source.native_rows_sql()
        assert text is not None
        service._check_rows(warehouse, source, "stage_b", f"({text})")
        differ = warehouse.execute(
            "SELECT count(*) FROM (SELECT * FROM stage_a_checked EXCEPT ALL "
            "SELECT * FROM stage_b_checked)"
        ).fetchall()
        assert differ == [(0,)], path.name
        service.drop_stages(warehouse)


def _write_tax(directory: Path, lines: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = "uscc,period,revenue,tax_paid,arrears\n" + "\n".join(lines) + "\n"
    (directory / "tax.csv").write_text(text, encoding="utf-8")


def test_a_first_delivery_loads_as_a_later_one_would(tmp_path: Path) -> None:
    """Into an empty feed table (no comparison with the warehouse) or into one holding
    other keys (compared row by row): the same counts and the same stored rows."""
    a, b, c = "91110000600037341L", "91331002123456788L", "91110000600037341X"
    delivery = tmp_path / "delivery"
    _write_tax(
        delivery,
        [
            f"{a},2025-01,1.00,0,0",
            f"{a},2025-01,1.00,0,0",  # re-sent in the same file: unchanged
            f"{b},2025-01,1.00,0,0",
            f"{b},2025-01,2.00,0,0",  # the last row of a key wins
            f"{c},2025-01,1.00,0,0",  # wrong check character: quarantined
            f"{b},2025-02,3.00,0,0",
            f"{b},2025-02,3.00,0,0",
            f"{b},2025-02,4.00,0,0",
        ],
    )
    other = tmp_path / "other"
    _write_tax(other, [f"{a},2024-12,9.00,0,0"])
    results = []
    for name, earlier in (("first", None), ("later", other)):
        con = connect(tmp_path / f"{name}.duckdb", KEY)
        if earlier is not None:
            service.ingest_delivery(con, earlier)
        report = service.ingest_delivery(con, delivery)
        rows = con.execute(
            "SELECT * EXCLUDE (_loaded_at) FROM feed_tax WHERE period >= '2025-01' "
            "ORDER BY uscc, period"
        ).fetchall()
        quarantine = con.execute(
            'SELECT "row", "column", reason_en, record FROM quarantine ORDER BY "row"'
        ).fetchall()
        results.append((report.feeds["tax"], rows, quarantine))
        # Again: the table does not change. A row that differs from the one before it
        # still counts as loaded (docs/ingest.md §5), so only keys sent once load nothing.
        again = service.ingest_delivery(con, delivery).feeds["tax"]
        assert (again.read, again.loaded, again.unchanged, again.quarantined) == (8, 4, 3, 1)
        after = con.execute(
            "SELECT * EXCLUDE (_loaded_at) FROM feed_tax WHERE period >= '2025-01' "
            "ORDER BY uscc, period"
        ).fetchall()
        assert after == rows
        con.close()
    (counts, rows, quarantine), later = results
    assert (counts.read, counts.loaded, counts.unchanged, counts.quarantined) == (8, 5, 2, 1)
    assert [(r[0], r[1], float(r[2]), r[-2]) for r in rows] == [
        (a, "2025-01", 1.0, 2),
        (b, "2025-01", 2.0, 4),
        (b, "2025-02", 4.0, 8),
    ]
    assert [q[:2] for q in quarantine] == [(5, "uscc")]
    assert later == results[0]


def test_files_without_rows_load_nothing(tmp_path: Path) -> None:
    delivery = tmp_path / "d"
    delivery.mkdir()
    (delivery / "tax.csv").write_text("uscc,period,revenue,tax_paid,arrears\n", encoding="utf-8")
    (delivery / "court.jsonl").write_bytes(b"")
    pq.write_table(pa.table({"uscc": pa.array([], pa.string())}), delivery / "carbon.parquet")
    con = connect(tmp_path / "w.duckdb", KEY)
    report = service.ingest_delivery(con, delivery)
    assert report.file_errors == []
    assert {f: (c.read, c.loaded) for f, c in report.feeds.items()} == {
        "tax": (0, 0),
        "court": (0, 0),
        "carbon": (0, 0),
    }


def test_parquet_rows_are_numbered_by_the_reader_as_the_stream_numbers_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tax.parquet"
    n = 2_500
    table = pa.table(
        {
            "uscc": [f"U{i}" for i in range(n)],
            "period": ["2025-01"] * n,
            "revenue": pa.array([i / 7 if i % 11 else float("nan") for i in range(n)]),
        }
    )
    pq.write_table(table, path, row_group_size=300)
    source = open_feed(path)
    assert source.native_doubles() == ["revenue"]
    streamed = source.batches().read_all().to_pylist()
    numbered = source.native_rows_sql()
    assert numbered is not None
    native = duckdb.connect().sql(f"{numbered} ORDER BY _row").to_arrow_table().to_pylist()
    assert native == streamed
    typed = source.native_rows_sql(["revenue"])
    assert typed is not None
    values = duckdb.connect().sql(f"SELECT revenue FROM ({typed}) ORDER BY _row").fetchall()
    assert values == [(None if i % 11 == 0 else i / 7,) for i in range(n)]


def test_csv_rows_are_numbered_in_file_order_as_the_stream_numbers_them(
    tmp_path: Path,
) -> None:
    """DuckDB's CSV reader has no row number: ``row_number() OVER ()`` over it is the file
    order while insertion order is preserved, also when several threads read a file of
    several buffers; blank lines are no rows, and a quoted line break is inside a row."""
    path = tmp_path / "tax.csv"
    n = 1_200_000  # about 50 MB: DuckDB reads it in several buffers, in parallel
    lines = ["uscc,period,revenue,tax_paid,arrears,n"]
    for i in range(1, n + 1):
        if i % 100_000 == 0:
            lines.append("")
        arrears = f'"line\nbreak {i}"' if i % 250_000 == 0 else "0"
        lines.append(f"U{i},2025-01,{i % 997}.5,0,{arrears},{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = open_feed(path)
    assert source.rows_need_order
    numbered = source.native_rows_sql()
    assert numbered is not None
    con = duckdb.connect()
    con.execute("SET threads = 4")
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"CREATE TABLE native AS {numbered}")
    con.register("streamed", source.batches().read_all())
    differ = con.execute(
        "SELECT count(*) FROM streamed s FULL JOIN native d USING (_row) "
        "WHERE s.n IS DISTINCT FROM d.n OR s.arrears IS DISTINCT FROM d.arrears "
        "OR s.uscc IS DISTINCT FROM d.uscc"
    ).fetchall()
    assert differ == [(0,)]
    assert con.execute("SELECT count(*), max(_row) FROM native").fetchall() == [(n, n)]
    assert con.execute(
        "SELECT count(*) FROM native WHERE _row <> CAST(n AS BIGINT)"
    ).fetchall() == [(0,)]

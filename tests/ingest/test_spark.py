"""The Spark path of ingest: the same delivery gives the same results as on DuckDB.

One Spark session serves the whole module (it takes several seconds to start). The
compiled checks are compared value by value on tricky cells of every kind; a simulated
delivery is loaded on both engines and the reports, the quarantine and every feed table
are compared; then re-delivery, replacement by a later delivery, a failure part way and
the command line are checked on Spark.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pytest

from puhui.identifiers import hash_person_id, mask_identifier
from puhui.ingest import spark_service
from puhui.ingest.checks import (
    ERROR_CODE,
    ERROR_COLUMN,
    PARSE_ERROR,
    ROW,
    SPARK,
    compile_checks,
)
from puhui.ingest.contract import FEEDS, Column, Feed, Kind
from puhui.ingest.service import IngestReport, export_quarantine, ingest_delivery
from puhui.ingest.spark_service import ingest_delivery_spark
from puhui.ingest.spark_warehouse import (
    MANIFEST,
    PADS_VIEW,
    SparkWarehouse,
    register_reference_views,
)
from puhui.ingest.warehouse import connect, hmac_pads, table_columns
from puhui.simulate.service import SimulationConfig, simulate
from puhui.spark import spark_session, stop_spark_session
from tests.ingest.test_checks import (
    BAD_VALUES,
    GOOD_VALUES,
    _letter_authority_uscc,
    good_row,
    person_id,
    uscc,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

KEY = b"test-key-for-person-hashes-00000"
#: Lineage that differs between runs by design.
VOLATILE = {"_loaded_at", "_row_hash"}


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = spark_session()
    register_reference_views(session)
    yield session
    stop_spark_session()


# --------------------------------------------------------------------------- checks


def _person_id_ending_in_x() -> str:
    for sequence in range(1000):
        code = person_id(sequence=sequence)
        if code.endswith("X"):
            return code
    raise AssertionError("no check character X in 1000 sequences")


#: Cells every kind is tried on: blanks, padding, and what a sloppy cast would accept.
COMMON = [
    None,
    "",
    "   ",
    "\u3000",
    "\u00a0\t\n",
    "x",
    "1_000",
    "1,000",
    "inf",
    "-Infinity",
    "NaN",
    "0x10",
    "1e400",
    "1e-400",
    "-0",
    "+5",
    "5.",
    ".5e1",
    "4.0",
    "2147483647",
    "99999999999999999",
    "１２３",
    "20230230",
    "20240229",
    "2024/02/29",
    "2023-02-30",
    "2022-13-05",
    "99991231",
    "it's",
    "back\\slash",
    "line\nbreak",
    "是",
    "YES",
    "注销",
    "A",
    "e",
]


def _padded(value: str) -> list[str]:
    return [f"\u3000{value}\u3000", f"\u00a0{value} ", f" \t{value}\r\n", f"{value}\n"]


def _cases(kind: Kind) -> list[str | None]:
    """Good and bad values of the kind (from the DuckDB tests), padded and lower-cased
    forms of its first good value, and the common tricky cells."""
    values: list[str | None] = [v for k, v, _ in GOOD_VALUES if k is kind and not v.endswith("?")]
    values += [v for k, v, _ in BAD_VALUES if k is kind]
    if kind is Kind.USCC:
        values += [_letter_authority_uscc(), _letter_authority_uscc().lower()]
    if kind in (Kind.PERSON_ID, Kind.PARTY_ID):
        values += [_person_id_ending_in_x(), _person_id_ending_in_x().lower(), uscc().lower()]
    if kind is Kind.ENUM:
        values += ["active", "Revoked", "注销", "歇业"]
    first = next((v for v in values if v), None)
    if first is not None:
        values += [*_padded(first), first.lower(), first.upper()]
    return list(dict.fromkeys([*values, *COMMON]))


def _feed_of(kind: Kind) -> Feed:
    """A one-column feed of ``kind`` (enums: the registrations status; bounded numbers)."""
    extra: dict[str, Any] = {}
    if kind is Kind.ENUM:
        extra["choices"] = FEEDS["registrations"].column("status").choices
    if kind in (Kind.NUMBER, Kind.MONEY, Kind.INT):
        extra["minimum"] = 0
    if kind is Kind.RATIO:
        extra |= {"minimum": 0, "maximum": 100}
    column = Column("x", "某列", kind, True, **extra)
    return Feed("t", "测试", "a test row", ("x",), (column,))


def _run_both(
    spark: SparkSession,
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    rows: Sequence[dict[str, str | None]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The compiled checks' output on DuckDB and on Spark, in row order."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    table = pa.table(
        {
            ROW: pa.array(range(1, len(rows) + 1), pa.int64()),
            **{name: pa.array([r.get(name) for r in rows], pa.string()) for name in names},
        }
    )
    columns = [ROW, *names]
    con.register("src", table)
    try:
        on_duckdb = con.sql(f"SELECT * FROM ({compile_checks(feed, 'src', columns)}) ORDER BY 1")
        expected = on_duckdb.to_arrow_table().to_pylist()
    finally:
        con.unregister("src")
    spark.createDataFrame(table).createOrReplaceTempView("src")
    try:
        on_spark = spark.sql(compile_checks(feed, "src", columns, SPARK)).orderBy(ROW)
        got = on_spark.toArrow().to_pylist()
    finally:
        spark.catalog.dropTempView("src")
    return expected, got


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_is_checked_and_typed_alike_on_both_engines(
    spark: SparkSession, con: duckdb.DuckDBPyConnection, kind: Kind
) -> None:
    values = _cases(kind)
    expected, got = _run_both(spark, con, _feed_of(kind), [{"x": v} for v in values])
    for value, want, have in zip(values, expected, got, strict=True):
        assert have == want, value
    codes = {row[ERROR_CODE] for row in expected}
    assert None in codes, "no value of the kind passed"
    assert len(codes) > 1, "no value of the kind failed"


def test_rows_with_cross_rules_extras_and_parse_errors_alike_on_both_engines(
    spark: SparkSession, con: duckdb.DuckDBPyConnection
) -> None:
    registrations = FEEDS["registrations"]
    rows = [
        good_row(registrations, status="注销", closed_on=None),
        good_row(registrations, status="注销", closed_on="2025/01/02"),
        good_row(registrations, legal_rep_id=_person_id_ending_in_x().lower()),
        good_row(registrations, lon="200", lat="x", name="\u3000"),
    ]
    expected, got = _run_both(spark, con, registrations, rows)
    assert got == expected
    utilities = FEEDS["utilities"]
    rows = [good_row(utilities, **{"备 注": "x'\"y\\", "a.b": None, "holder_id": " 1 "})]
    expected, got = _run_both(spark, con, utilities, rows)
    assert got == expected
    court = FEEDS["court"]
    broken = dict.fromkeys(court.names) | {PARSE_ERROR: "Expecting ',' delimiter"}
    expected, got = _run_both(spark, con, court, [good_row(court, **{PARSE_ERROR: None}), broken])
    assert got == expected
    assert [r[ERROR_COLUMN] for r in got] == [None, "_line"]


def test_person_hash_and_mask_equal_the_python_ones_and_hide_the_key(
    spark: SparkSession, tmp_path: Path
) -> None:
    values = ["332601199001011234", " 33260119900101123x ", "13800138000", "1234", None]
    for key in (KEY, b"k", b"long key " * 20):
        SparkWarehouse(spark, tmp_path / "w", key)
        table = pa.table({"v": pa.array(values, pa.string())})
        frame = spark.createDataFrame(table).selectExpr(
            "person_hash(v) AS h", "mask_identifier(upper(trim(v))) AS m"
        )
        rows = frame.toArrow().to_pylist()
        assert [r["h"] for r in rows] == [
            hash_person_id(v, key) if v is not None else None for v in values
        ]
        assert [r["m"] for r in rows] == [
            mask_identifier(v.strip().upper()) if v is not None else None for v in values
        ]
        plan = frame._jdf.queryExecution().toString().lower()
        ipad, opad = hmac_pads(key)
        for secret in (key, ipad, opad):
            assert secret.hex() not in plan
            assert str(list(secret[:8]))[1:-1] not in plan
        assert PADS_VIEW in plan  # the pads are scanned from the view, not inlined


# --------------------------------------------------------------------------- a delivery


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """A table's rows, JSON texts parsed, in a fixed order."""
    columns = []
    for name in table.column_names:
        values = table.column(name).to_pylist()
        if name in ("extra", "record", "report"):
            values = [json.loads(v) if isinstance(v, str) else v for v in values]
        columns.append(values)
    return sorted(zip(*columns, strict=True), key=repr)


def _duck_table(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> pa.Table:
    listed = ", ".join(f'"{c}"' for c in columns)
    return con.sql(f"SELECT {listed} FROM {table}").to_arrow_table()


def _spark_table(warehouse: SparkWarehouse, table: str, columns: list[str]) -> pa.Table:
    return warehouse.table(table).select(*columns).toArrow()


def _stored(table: str) -> list[str]:
    return [name for name, _ in table_columns()[table] if name not in VOLATILE]


def _feeds_of(report: IngestReport) -> dict[str, tuple[int, int, int, int]]:
    return {f: (c.read, c.loaded, c.unchanged, c.quarantined) for f, c in report.feeds.items()}


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("delivery")
    simulate(out, SimulationConfig(entities=300, seed=21, as_of=date(2026, 6, 30)))
    return out


@pytest.fixture(scope="module")
def loaded(
    spark: SparkSession, delivery: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[duckdb.DuckDBPyConnection, IngestReport, SparkWarehouse, IngestReport]:
    """The delivery loaded on both engines (the Spark warehouse is also used by the
    re-delivery test below, which runs after the comparisons)."""
    home = tmp_path_factory.mktemp("both")
    con = connect(home / "w.duckdb", KEY)
    on_duckdb = ingest_delivery(con, delivery)
    warehouse = SparkWarehouse(spark, home / "spark-warehouse", KEY)
    on_spark = ingest_delivery_spark(warehouse, delivery)
    return con, on_duckdb, warehouse, on_spark


def test_the_reports_are_the_same(
    loaded: tuple[duckdb.DuckDBPyConnection, IngestReport, SparkWarehouse, IngestReport],
) -> None:
    _, on_duckdb, _, on_spark = loaded
    assert len(on_spark.feeds) == 15
    assert _feeds_of(on_spark) == _feeds_of(on_duckdb)
    assert on_spark.delivery_id == on_duckdb.delivery_id
    assert on_spark.file_errors == on_duckdb.file_errors
    assert {k: v for k, v in on_spark.to_json().items() if k != "seconds"} == {
        k: v for k, v in on_duckdb.to_json().items() if k != "seconds"
    }


def test_the_quarantine_is_the_same_row_by_row(
    loaded: tuple[duckdb.DuckDBPyConnection, IngestReport, SparkWarehouse, IngestReport],
) -> None:
    con, _, warehouse, _ = loaded
    columns = ["delivery_id", "feed", "file", "row", "column", "reason_zh", "reason_en", "record"]
    expected = _rows(_duck_table(con, "quarantine", columns))
    assert expected
    assert _rows(_spark_table(warehouse, "quarantine", columns)) == expected


@pytest.mark.parametrize("feed", list(FEEDS))
def test_every_feed_table_is_the_same_value_by_value(
    loaded: tuple[duckdb.DuckDBPyConnection, IngestReport, SparkWarehouse, IngestReport],
    feed: str,
) -> None:
    con, _, warehouse, _ = loaded
    columns = _stored(f"feed_{feed}")
    expected = _rows(_duck_table(con, f"feed_{feed}", columns))
    assert expected
    assert _rows(_spark_table(warehouse, f"feed_{feed}", columns)) == expected


def test_the_ledger_is_the_same(
    loaded: tuple[duckdb.DuckDBPyConnection, IngestReport, SparkWarehouse, IngestReport],
) -> None:
    con, _, warehouse, _ = loaded
    for table, columns in (
        ("deliveries", ["delivery_id", "source", "fingerprint"]),
        ("file_errors", _stored("file_errors")),
    ):
        expected = _rows(_duck_table(con, table, columns))
        assert _rows(_spark_table(warehouse, table, columns)) == expected, table


def test_a_second_ingest_loads_nothing_and_rewrites_no_feed_table(
    loaded: tuple[duckdb.DuckDBPyConnection, IngestReport, SparkWarehouse, IngestReport],
    delivery: Path,
) -> None:
    _, _, warehouse, first = loaded
    before = _feed_parts(warehouse)
    quarantined = warehouse.table("quarantine").count()
    second = ingest_delivery_spark(warehouse, delivery)
    assert second.delivery_id == first.delivery_id
    assert {f: c.loaded for f, c in second.feeds.items()} == dict.fromkeys(first.feeds, 0)
    assert {f: c.unchanged + c.quarantined for f, c in second.feeds.items()} == {
        f: c.read for f, c in first.feeds.items()
    }
    assert _feed_parts(warehouse) == before
    assert warehouse.table("quarantine").count() == quarantined  # replaced, not doubled
    assert warehouse.table("deliveries").count() == 2  # one row per run
    assert _on_disk(warehouse) == _named(warehouse)


def _feed_parts(warehouse: SparkWarehouse) -> dict[str, object]:
    return {t: parts for t, parts in warehouse.parts.items() if t.startswith("feed_")}


def _named(warehouse: SparkWarehouse) -> set[tuple[str, str]]:
    return {(t, part.version) for t, parts in warehouse.parts.items() for part in parts}


def _on_disk(warehouse: SparkWarehouse) -> set[tuple[str, str]]:
    """The table versions on disk: only those the manifest names may be there."""
    return {(p.parent.name, p.name) for p in (warehouse.root / "tables").glob("*/*")}


# --------------------------------------------------------------------------- small deliveries


def _write_tax(directory: Path, rows: list[tuple[str, str, str]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["uscc,period,revenue,tax_paid,arrears"]
    lines += [f"{u},{p},{r},1.00,0" for u, p, r in rows]
    (directory / "tax.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


CODE_A, CODE_B = "91110000600037341L", "91331002123456788L"


def test_a_later_delivery_replaces_rows_with_the_same_key(
    spark: SparkSession, tmp_path: Path
) -> None:
    _write_tax(tmp_path / "d1", [(CODE_A, "2025-01", "100.00"), (CODE_B, "2025-01", "5.00")])
    _write_tax(
        tmp_path / "d2",
        [(CODE_A, "2025-01", "250.00"), (CODE_B, "2025-01", "5.00"), (CODE_A, "2025-02", "7")],
    )
    warehouse = SparkWarehouse(spark, tmp_path / "spark", KEY)
    ingest_delivery_spark(warehouse, tmp_path / "d1")
    report = ingest_delivery_spark(warehouse, tmp_path / "d2")
    assert _feeds_of(report) == {"tax": (3, 2, 1, 0)}
    rows = warehouse.table("feed_tax").orderBy("uscc", "period").toArrow()
    kept = rows.select(["uscc", "period", "revenue"]).to_pydict().values()
    assert list(zip(*kept, strict=True)) == [
        (CODE_A, "2025-01", 250),
        (CODE_A, "2025-02", 7),
        (CODE_B, "2025-01", 5),
    ]
    assert rows.column("_delivery_id").to_pylist()[-1].startswith("d1-")  # B kept from d1


def _snapshot(warehouse: SparkWarehouse) -> dict[str, object]:
    """Everything a reader can see: the manifest, the files, and every table's rows."""
    return {
        "manifest": (warehouse.root / MANIFEST).read_bytes(),
        "files": sorted(str(p.relative_to(warehouse.root)) for p in warehouse.root.rglob("*")),
        **{t: _rows(warehouse.table(t).toArrow()) for t in table_columns()},
    }


def test_a_failure_part_way_leaves_the_warehouse_as_it_was(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_tax(tmp_path / "d1", [(CODE_A, "2025-01", "1")])
    _write_tax(tmp_path / "d2", [(CODE_A, "2025-01", "2"), (CODE_B, "2025-01", "x")])
    (tmp_path / "d2" / "carbon.csv").write_text(f"uscc,year,grade\n{CODE_B},2024,1\n")
    warehouse = SparkWarehouse(spark, tmp_path / "spark", KEY)
    ingest_delivery_spark(warehouse, tmp_path / "d1")
    before = _snapshot(warehouse)

    load_file = spark_service._load_file
    calls: list[str] = []

    def fail_after_the_first_file(*args: Any) -> Any:
        if calls:
            raise RuntimeError("injected failure")
        calls.append("loaded")
        return load_file(*args)

    monkeypatch.setattr(spark_service, "_load_file", fail_after_the_first_file)
    with pytest.raises(RuntimeError, match="injected"):
        ingest_delivery_spark(warehouse, tmp_path / "d2")
    assert calls == ["loaded"]  # carbon was merged, tax was not
    assert _snapshot(SparkWarehouse(spark, warehouse.root, KEY)) == before
    monkeypatch.undo()

    # What a kill before the manifest swap leaves behind: a version no manifest names, a
    # staging area, a temporary manifest. Readers ignore it; the next ingest removes it.
    (warehouse.root / "tables" / "feed_tax" / "v-killed").mkdir()
    (warehouse.root / "staging" / "run" / "tax.parquet").mkdir(parents=True)
    (warehouse.root / ".manifest-killed.tmp").write_text("{")
    assert _snapshot(SparkWarehouse(spark, warehouse.root, KEY)) | {"files": None} == before | {
        "files": None
    }
    report = ingest_delivery_spark(warehouse, tmp_path / "d2")
    assert _feeds_of(report) == {"carbon": (1, 1, 0, 0), "tax": (2, 1, 0, 1)}
    assert _on_disk(warehouse) == _named(warehouse)
    assert not (warehouse.root / "staging").exists()
    assert not list(warehouse.root.glob(".manifest-*"))


def test_the_commands_use_the_configured_engine(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from puhui.cli import app

    _write_tax(tmp_path / "d", [(CODE_A, "2025-01", "1"), (CODE_B, "2025-01", "约5万")])
    runner = CliRunner()
    outputs: dict[str, tuple[str, bytes]] = {}
    for engine in ("duckdb", "spark"):
        home = tmp_path / engine
        monkeypatch.setenv("PUHUI_ENGINE", engine)
        monkeypatch.setenv("PUHUI_SECRET_KEY", KEY.decode())
        ingested = runner.invoke(app, ["--home", str(home), "ingest", str(tmp_path / "d")])
        assert ingested.exit_code == 0, ingested.output
        listed = runner.invoke(app, ["--home", str(home), "quarantine", "list"])
        assert listed.exit_code == 0, listed.output
        out = home / "q.csv"
        exported = runner.invoke(
            app, ["--home", str(home), "quarantine", "export", "--out", str(out)]
        )
        assert exported.exit_code == 0, exported.output
        outputs[engine] = (ingested.output.split("完成")[0] + listed.output, out.read_bytes())
    assert (tmp_path / "spark" / "spark-warehouse" / MANIFEST).exists()
    assert not (tmp_path / "spark" / "warehouse" / "warehouse.duckdb").exists()
    assert outputs["spark"] == outputs["duckdb"]
    assert b"tax.csv,2,revenue" in outputs["spark"][1]


def test_export_writes_what_the_duckdb_engine_writes(
    loaded: tuple[duckdb.DuckDBPyConnection, IngestReport, SparkWarehouse, IngestReport],
    tmp_path: Path,
) -> None:
    con, _, warehouse, _ = loaded
    count = spark_service.export_quarantine_spark(warehouse, tmp_path / "spark.csv")
    assert count == export_quarantine(con, tmp_path / "duckdb.csv")
    # Rows of equal (feed, file, row) may come in either order: compare as sorted lines.
    spark_lines = (tmp_path / "spark.csv").read_text(encoding="utf-8").splitlines()
    duckdb_lines = (tmp_path / "duckdb.csv").read_text(encoding="utf-8").splitlines()
    assert spark_lines[0] == duckdb_lines[0] == "feed,file,row,column,reason"
    assert sorted(spark_lines) == sorted(duckdb_lines)


def test_without_pyspark_the_session_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from puhui import spark as spark_module
    from puhui.errors import PuhuiError

    monkeypatch.setattr(spark_module, "_session", None)  # as in a process without a session
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # what a missing package does
    with pytest.raises(PuhuiError, match=r"pip install 'puhui\[spark\]'") as raised:
        spark_session()
    assert raised.value.message_zh.startswith("Spark 引擎需要 pyspark")

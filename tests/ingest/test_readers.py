"""The reading layer: every format, encoding and header language streams as the same text.

Files are written by small factories into ``tmp_path``; one test reads a whole simulated
delivery and checks its row counts, columns and row numbers against the simulator's truth.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from puhui.ingest import readers
from puhui.ingest.contract import FEEDS
from puhui.ingest.readers import (
    PARSE_ERROR,
    ROW,
    FeedSource,
    UnreadableFile,
    arrow_text,
    detect_encoding,
    float_text,
    list_delivery,
    normalize_header,
    open_feed,
)
from puhui.simulate.service import SimulationConfig, simulate

USCC = "91330100MA27XYZ12F"  # shape only: readers check no values
PERSON_ID = "330102199001011234"

Rows = Sequence[Sequence[object]]


# --- factories ----------------------------------------------------------------------------


def write_csv(path: Path, header: Sequence[str], rows: Rows = (), encoding: str = "utf-8") -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header: Sequence[object], rows: Rows = ()) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def write_parquet(path: Path, columns: dict[str, Any], **kw: Any) -> Path:
    pq.write_table(pa.table(columns), path, **kw)
    return path


def write_jsonl(path: Path, lines: Sequence[str | bytes]) -> Path:
    data = b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines)
    path.write_bytes(data)
    return path


def read(path: Path) -> tuple[FeedSource, list[dict[str, Any]]]:
    source = open_feed(path)
    table = source.batches().read_all()
    assert table.schema.names == source.columns
    return source, table.to_pylist()


# --- CSV ----------------------------------------------------------------------------------


def test_csv_utf8_english_headers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "tax.csv",
        ["uscc", "period", "revenue", "tax_paid", "arrears"],
        [[USCC, "2024-01", "0012.50", "3", ""], [USCC, "2024-02", "7", "", "1"]],
    )
    source, rows = read(path)
    assert (source.feed, source.fmt, source.encoding) == ("tax", "csv", "utf-8")
    assert source.columns == [ROW, "uscc", "period", "revenue", "tax_paid", "arrears"]
    assert source.missing_columns == []
    assert rows == [
        {
            ROW: 1,
            "uscc": USCC,
            "period": "2024-01",
            "revenue": "0012.50",  # text as written: no type is guessed
            "tax_paid": "3",
            "arrears": None,
        },
        {
            ROW: 2,
            "uscc": USCC,
            "period": "2024-02",
            "revenue": "7",
            "tax_paid": None,
            "arrears": "1",
        },
    ]
    schema = source.batches().schema
    assert schema.field(ROW).type == pa.int64()
    assert all(schema.field(c).type == pa.string() for c in source.columns[1:])


def test_csv_utf8_bom_chinese_headers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "tax_grade.csv",
        ["统一社会信用代码", "年度", "等级"],
        [[USCC, "2024", "A"]],
        "utf-8-sig",
    )
    source, rows = read(path)
    assert source.encoding == "utf-8-sig"
    assert source.header_map == {"统一社会信用代码": "uscc", "年度": "year", "等级": "grade"}
    assert rows == [{ROW: 1, "uscc": USCC, "year": "2024", "grade": "A"}]


def test_csv_gb18030_chinese_headers_and_values(tmp_path: Path) -> None:
    header = ["决定书文号", "当事人名称", "处罚机关", "处罚日期", "处罚种类", "罚没金额"]
    rows_in = [
        [
            "台市监罚〔2024〕12号",
            "林记蔬菜种植场",
            "台州市市场监督管理局",
            "2024-03-01",
            "罚款",
            "5000",
        ]
    ]
    path = write_csv(tmp_path / "penalties.csv", header, rows_in, "gb18030")
    source, rows = read(path)
    assert source.encoding == "gb18030"
    assert rows[0]["name"] == "林记蔬菜种植场"
    assert rows[0]["kind"] == "罚款"
    assert source.missing_columns == ["uscc", "serious"]


def test_csv_headers_trimmed_folded_and_extras_kept(tmp_path: Path) -> None:
    header = [" USCC ", "\u3000所属期 ", "销售收入", "实缴税额", " 备注 ", "", "备注", "_row"]
    path = write_csv(
        tmp_path / "tax.csv", header, [[USCC, "2024-01", "1", "2", "a", "b", "c", "d"]]
    )
    source, rows = read(path)
    assert source.columns == [
        ROW,
        "uscc",
        "period",
        "revenue",
        "tax_paid",
        "备注",
        "column_6",
        "备注_2",
        "x_row",
    ]
    assert source.header_map[" USCC "] == "uscc"
    assert source.header_map["\u3000所属期 "] == "period"
    assert source.missing_columns == ["arrears"]
    assert rows[0] == {
        ROW: 1,
        "uscc": USCC,
        "period": "2024-01",
        "revenue": "1",
        "tax_paid": "2",
        "备注": "a",
        "column_6": "b",
        "备注_2": "c",
        "x_row": "d",
    }


def test_csv_full_width_alias_and_other_alias(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "registrations.csv", ["注册资本（万元）", "统一社会信用代码"], [["50", USCC]]
    )
    source, _ = read(path)
    assert source.header_map == {
        "注册资本（万元）": "registered_capital",
        "统一社会信用代码": "uscc",
    }
    path = write_csv(tmp_path / "utilities.csv", ["用水地址", "户主证件号码"], [["x", PERSON_ID]])
    source, rows = read(path)
    assert source.header_map == {"用水地址": "address", "户主证件号码": "holder_id"}
    assert rows[0]["holder_id"] == PERSON_ID


def test_csv_quoted_empty_and_newlines(tmp_path: Path) -> None:
    data = '"统一社会信用代码","名\n称"\n"",""\n"x","第一行\n第二行"\n\n"y",\n'
    path = tmp_path / "registrations.csv"
    path.write_text(data, encoding="utf-8")
    source, rows = read(path)
    assert source.header_map["名\n称"] == "名\n称"  # no alias: kept as an extra column
    assert [(r[ROW], r["uscc"], r["名\n称"]) for r in rows] == [
        (1, None, None),
        (2, "x", "第一行\n第二行"),
        (3, "y", None),  # the blank line is no row
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"uscc,period\r\nA,2024-01\r\nB,\r\n", [(1, "A", "2024-01"), (2, "B", None)]),
        (b"uscc,period\nA,2024-01", [(1, "A", "2024-01")]),
        (b"uscc,period", []),
    ],
)
def test_csv_line_endings(tmp_path: Path, data: bytes, expected: list[tuple[object, ...]]) -> None:
    path = tmp_path / "tax.csv"
    path.write_bytes(data)
    _, rows = read(path)
    assert [(r[ROW], r["uscc"], r["period"]) for r in rows] == expected


def test_csv_header_only_has_no_rows(tmp_path: Path) -> None:
    source, rows = read(write_csv(tmp_path / "honors.csv", ["uscc", "tag", "year"]))
    assert rows == []
    assert source.columns == [ROW, "uscc", "tag", "year"]


def test_csv_streams_in_batches_with_continuous_row_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    rows_in = [[USCC, f"{2000 + i // 12}-{i % 12 + 1:02d}", str(i), "0", ""] for i in range(3000)]
    path = write_csv(
        tmp_path / "tax.csv", ["uscc", "period", "revenue", "tax_paid", "arrears"], rows_in
    )
    batches = list(open_feed(path).batches())
    assert len(batches) > 10
    table = pa.Table.from_batches(batches)
    assert table.column(ROW).to_pylist() == list(range(1, 3001))
    assert table.column("revenue").to_pylist() == [str(i) for i in range(3000)]


# --- encoding detection -------------------------------------------------------------------

TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00\r\ufeff", exclude_categories=["Cs"]),
    max_size=60,
)
CHINESE = st.text(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=30
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_detects_utf8_and_bom(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tax.csv"
    path.write_bytes(f"uscc\n{text}\n".encode())
    assert detect_encoding(path) == "utf-8"
    path.write_bytes(f"\ufeffuscc\n{text}\n".encode())
    assert detect_encoding(path) == "utf-8-sig"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ascii_part=st.text(st.characters(max_codepoint=0x7E, min_codepoint=0x20)), chinese=CHINESE)
def test_detects_gb18030_unless_its_bytes_are_also_utf8(
    tmp_path: Path, ascii_part: str, chinese: str
) -> None:
    data = f"统一社会信用代码\n{ascii_part}{chinese}\n".encode("gb18030")
    path = tmp_path / "tax.csv"
    path.write_bytes(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert detect_encoding(path) == "gb18030"
    else:  # a few short GB18030 strings are valid UTF-8 too; UTF-8 wins by design
        assert detect_encoding(path) == "utf-8"


@pytest.mark.parametrize(
    ("encoding", "shortest"),
    # "统一" in GB18030 (CD B3 D2 BB) happens to be valid UTF-8 too; "社" (C9 E7) is not
    [("utf-8", 1), ("gb18030", 6)],
)
@given(data=st.data())
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sample_boundary_inside_a_character(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    encoding: str,
    shortest: int,
    data: st.DataObject,
) -> None:
    """A head sample cut inside a character is neither taken for another encoding nor refused."""
    monkeypatch.setattr(readers, "SAMPLE_BYTES", data.draw(st.integers(shortest, 60)))
    path = tmp_path / "tax.csv"
    path.write_bytes(("统一社会信用代码所属期" * 4).encode(encoding))  # one line, no newline
    assert detect_encoding(path) == encoding


def test_gb18030_found_beyond_an_ascii_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "SAMPLE_BYTES", 4096)
    monkeypatch.setattr(readers, "WINDOW_BYTES", 512)
    lines = ["uscc,name"] + [f"{USCC},shop{i}" for i in range(2000)] + [f"{USCC},林记"] * 50
    path = tmp_path / "registrations.csv"
    path.write_bytes("\n".join(lines).encode("gb18030"))
    assert detect_encoding(path) == "gb18030"
    _source, rows = read(path)
    assert rows[-1]["name"] == "林记"


# --- header matching ----------------------------------------------------------------------

ACCEPTED = [
    (feed.name, h, name) for feed in FEEDS.values() for h, name in feed.header_map().items()
]
PADDING = st.text(st.sampled_from(" \t\u3000"), max_size=3)


def test_normalized_headers_do_not_collide() -> None:
    for feed in FEEDS.values():
        by_form: dict[str, str] = {}
        for header, name in feed.header_map().items():
            assert by_form.setdefault(normalize_header(header), name) == name


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(accepted=st.sampled_from(ACCEPTED), left=PADDING, right=PADDING, upper=st.booleans())
def test_every_accepted_header_matches_padded(
    tmp_path: Path, accepted: tuple[str, str, str], left: str, right: str, upper: bool
) -> None:
    feed, header, name = accepted
    raw = left + (header.upper() if upper else header) + right
    path = write_csv(tmp_path / f"{feed}.csv", [raw, "额外"], [["v", "w"]], "gb18030")
    source, rows = read(path)
    assert source.header_map == {raw: name, "额外": "额外"}
    assert rows == [{ROW: 1, name: "v", "额外": "w"}]
    assert name not in source.missing_columns


# --- Parquet ------------------------------------------------------------------------------


def test_parquet_typed_columns_become_canonical_text(tmp_path: Path) -> None:
    shanghai = datetime(2024, 1, 31, 20, tzinfo=UTC)  # 2024-02-01 in Asia/Shanghai
    columns = {
        "统一社会信用代码": pa.array([USCC, ""], pa.large_string()),
        "年度": pa.array([2024, None], pa.int64()),
        "碳效等级": pa.array(["1", "2"]).dictionary_encode(),
        "amount": pa.array([1234.0, 123456789012.34]),
        "tiny": pa.array([0.1, float("nan")], pa.float32()),
        "negative_zero": pa.array([-0.0, 1e16]),
        "day": pa.array([date(2024, 2, 29), None], pa.date32()),
        "at": pa.array([datetime(2024, 3, 1, 23, 59), None], pa.timestamp("us")),
        "zoned": pa.array([shanghai, None], pa.timestamp("ms", tz="Asia/Shanghai")),
        "flag": pa.array([True, False]),
        "price": pa.array([Decimal("12.50"), None], pa.decimal128(10, 2)),
        "nothing": pa.nulls(2),
        "tags": pa.array([["a", "b"], None], pa.list_(pa.string())),
    }
    source, rows = read(write_parquet(tmp_path / "carbon.parquet", columns))
    assert source.fmt == "parquet"
    assert source.encoding is None
    assert source.columns[:4] == [ROW, "uscc", "year", "grade"]
    assert rows == [
        {
            ROW: 1,
            "uscc": USCC,
            "year": "2024",
            "grade": "1",
            "amount": "1234",
            "tiny": "0.1",
            "negative_zero": "0",
            "day": "2024-02-29",
            "at": "2024-03-01",
            "zoned": "2024-02-01",
            "flag": "true",
            "price": "12.50",
            "nothing": None,
            "tags": '["a", "b"]',
        },
        {
            ROW: 2,
            "uscc": None,
            "year": None,
            "grade": "2",
            "amount": "123456789012.34",
            "tiny": None,
            "negative_zero": "1e+16",
            "day": None,
            "at": None,
            "zoned": None,
            "flag": "false",
            "price": None,
            "nothing": None,
            "tags": None,
        },
    ]


def test_parquet_row_numbers_run_across_row_groups(tmp_path: Path) -> None:
    n = 200_000
    path = write_parquet(
        tmp_path / "tax.parquet",
        {"uscc": [USCC] * n, "revenue": list(range(n))},
        row_group_size=7_000,
    )
    batches = list(open_feed(path).batches())
    assert len(batches) > 1
    table = pa.Table.from_batches(batches)
    assert table.column(ROW).to_pylist() == list(range(1, n + 1))
    assert table.column("revenue").to_pylist()[-1] == str(n - 1)


@settings(max_examples=300)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20))
def test_float_text_is_the_same_in_arrow_and_python(values: list[float]) -> None:
    assert arrow_text(pa.array(values, pa.float64())).to_pylist() == [float_text(v) for v in values]
    for value, text in zip(values, map(float_text, values), strict=True):
        if text is not None and value == value:
            assert float(text) == value  # round trip
            assert not text.endswith(".0")


# --- JSON lines ---------------------------------------------------------------------------


def test_jsonl_values_bad_lines_and_key_languages(tmp_path: Path) -> None:
    lines: list[str | bytes] = [
        "\ufeff"
        + json.dumps(
            {
                "case_no": "（2024）浙1003民初1号",
                "party_name": "林记",
                "amount": 113800.0,
                "filed_on": "2024-01-02",
                "closed_on": None,
                "party_id": "",
                "urgent": True,
                "meta": {"n": 1.50, "l": [1, "x"]},
            },
            ensure_ascii=False,
        ),
        '{"案号": "2", "当事人": "王某", "标的金额": 1.50e3, "诉讼地位": "被告"}',
        "",
        "{not json",
        "[1, 2]",
        b'{"case_no": "\xff"}',
        '{"case_no": "3", "案号": "4"}',
        '{"case_no": "5", "amount": 12345678901234567890.10}',
    ]
    source, rows = read(write_jsonl(tmp_path / "court.jsonl", lines))
    assert source.columns == [
        ROW,
        "case_no",
        "party_name",
        "amount",
        "filed_on",
        "closed_on",
        "party_id",
        "urgent",
        "meta",
        "role",
        PARSE_ERROR,
    ]
    assert source.header_map["案号"] == "case_no"
    assert source.header_map["case_no"] == "case_no"
    assert source.missing_columns == []
    first, second, bad_json, array, bad_utf8, both_keys, big = rows
    assert first == {
        ROW: 1,
        "case_no": "（2024）浙1003民初1号",
        "party_name": "林记",
        "amount": "113800.0",  # numbers as written in the file
        "filed_on": "2024-01-02",
        "closed_on": None,
        "party_id": None,
        "urgent": "true",
        "meta": '{"n":1.5,"l":[1,"x"]}',
        "role": None,
        PARSE_ERROR: None,
    }
    assert (second[ROW], second["case_no"], second["amount"], second["role"]) == (
        2,
        "2",
        "1.50e3",
        "被告",
    )
    assert big["amount"] == "12345678901234567890.10"
    assert big[ROW] == 7  # the blank line is no row
    for row, word in [
        (bad_json, "not valid JSON"),
        (array, "not a JSON object but an array"),
        (bad_utf8, "not valid UTF-8"),
        (both_keys, "contract column 'case_no'"),
    ]:
        assert word in row[PARSE_ERROR]
        assert all(v is None for k, v in row.items() if k not in (ROW, PARSE_ERROR))
    assert [r[ROW] for r in rows] == list(range(1, 8))


def test_jsonl_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "JSONL_BATCH_LINES", 7)
    path = write_jsonl(tmp_path / "orders.jsonl", [json.dumps({"order_id": i}) for i in range(50)])
    batches = list(open_feed(path).batches())
    assert [b.num_rows for b in batches] == [7] * 7 + [1]
    table = pa.Table.from_batches(batches)
    assert table.column("order_id").to_pylist() == [str(i) for i in range(50)]
    assert table.column(ROW).to_pylist() == list(range(1, 51))


def test_empty_jsonl_is_a_feed_without_rows(tmp_path: Path) -> None:
    source, rows = read(write_jsonl(tmp_path / "orders.jsonl", []))
    assert rows == []
    assert source.columns == [ROW, PARSE_ERROR]
    assert source.missing_columns == FEEDS["orders"].names


# --- Excel --------------------------------------------------------------------------------


def test_xlsx_cells_become_canonical_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "BATCH_ROWS", 2)
    header = ["统一社会信用代码", " 列入日期", "列入原因", "移出日期", "件数", None, None]
    rows_in: list[list[object]] = [
        [USCC, datetime(2024, 5, 6, 13, 0), "原因", date(2024, 6, 1), 3],
        [USCC, "2024/05/07", 1234.0, None, 2.5],
        [None, None, None, None, None],
        [USCC, True, "", None, 0.1],
    ]
    source, rows = read(write_xlsx(tmp_path / "abnormal.xlsx", header, rows_in))
    assert (source.fmt, source.encoding) == ("xlsx", None)
    assert source.columns == [ROW, "uscc", "listed_on", "reason", "removed_on", "件数"]
    assert rows == [
        {
            ROW: 1,
            "uscc": USCC,
            "listed_on": "2024-05-06",
            "reason": "原因",
            "removed_on": "2024-06-01",
            "件数": "3",
        },
        {
            ROW: 2,
            "uscc": USCC,
            "listed_on": "2024/05/07",
            "reason": "1234",
            "removed_on": None,
            "件数": "2.5",
        },
        {
            ROW: 3,
            "uscc": USCC,
            "listed_on": "true",
            "reason": None,
            "removed_on": None,
            "件数": "0.1",
        },
    ]


# --- unreadable files ---------------------------------------------------------------------


def _unreadable(path: Path) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read(path)
    error = caught.value
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None
    assert path.name in str(error)
    assert error.message_zh
    assert error.message_en
    return error


def test_unknown_feed_and_extension(tmp_path: Path) -> None:
    assert "not a feed" in _unreadable(write_csv(tmp_path / "taxes.csv", ["uscc"])).message_en
    path = tmp_path / "tax.xls"
    path.write_bytes(b"x")
    assert "unsupported file type" in _unreadable(path).message_en
    assert "no such file" in _unreadable(tmp_path / "loans.csv").message_en


@pytest.mark.parametrize("data", [b"", b"\n", b" , \n1,2\n"])
def test_empty_csv_or_no_header(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "tax.csv"
    path.write_bytes(data)
    assert "no header" in _unreadable(path).message_en


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"uscc\n\x80\xff\x80\n", "neither in UTF-8 nor in GB18030"),
        ("uscc\n林\n".encode("utf-16"), "UTF-16 is not supported"),
        (b"uscc\n\x00\x01\n", "not a text file"),
        (b"\xef\xbb\xbfuscc\n\xc1\xd6\n", "byte-order mark"),
    ],
)
def test_csv_in_no_accepted_encoding(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "tax.csv"
    path.write_bytes(data)
    assert reason in _unreadable(path).message_en


def test_csv_bad_bytes_beyond_the_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "SAMPLE_BYTES", 64)
    monkeypatch.setattr(readers, "WINDOW_BYTES", 8)
    lines = [b"uscc,name"] + [b"a,b"] * 40 + [b"c,\x80\xff"] + [b"a,b"] * 400
    path = tmp_path / "registrations.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    source = open_feed(path)
    assert source.encoding == "utf-8"
    with pytest.raises(UnreadableFile) as caught:
        source.batches().read_all()
    assert "not valid utf-8" in caught.value.message_en
    assert source.error is caught.value


def test_ragged_csv_row_names_no_value(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "registrations.csv", ["uscc", "legal_rep_id"], [[USCC, PERSON_ID]])
    with path.open("a") as handle:
        handle.write(f"{USCC},{PERSON_ID},extra\n")
    error = _unreadable(path)
    assert "3 fields, the header has 2" in error.message_en
    assert PERSON_ID not in str(error)
    assert USCC not in str(error)


def test_duplicate_header_for_one_contract_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tax.csv", ["uscc", "统一社会信用代码"], [[USCC, USCC]])
    error = _unreadable(path)
    assert "both map to contract column 'uscc'" in error.message_en


@pytest.mark.parametrize("name", ["tax.parquet", "abnormal.xlsx"])
@pytest.mark.parametrize("data", [b"", b"PAR1 not really", b"PK\x03\x04 truncated zip"])
def test_corrupt_binary_files(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    _unreadable(path)


def test_truncated_parquet(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "tax.parquet", {"uscc": [USCC] * 1000})
    path.write_bytes(path.read_bytes()[:-100])
    assert "corrupt or truncated Parquet" in _unreadable(path).message_en


def test_parquet_corrupt_inside_is_unreadable_while_streaming(tmp_path: Path) -> None:
    values = [f"{i:018d}" for i in range(50_000)]
    path = write_parquet(tmp_path / "tax.parquet", {"uscc": values}, compression="snappy")
    data = bytearray(path.read_bytes())
    data[100:20_000] = bytes(19_900)  # data pages; the footer stays intact
    path.write_bytes(bytes(data))
    source = open_feed(path)  # the footer reads
    with pytest.raises(UnreadableFile) as caught:
        source.batches().read_all()
    assert "corrupt or truncated Parquet" in caught.value.message_en
    assert caught.value.__cause__ is None
    assert source.error is caught.value


def test_xlsx_corrupt_inside_is_unreadable_while_streaming(tmp_path: Path) -> None:
    good = write_xlsx(
        tmp_path / "good.xlsx",
        ["uscc", "listed_on"],
        [[USCC, f"2024-01-{d:02d}"] for d in range(1, 29)],
    )
    path = tmp_path / "abnormal.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]  # cut inside the rows
            dst.writestr(item, content)
    source = open_feed(path)
    assert source.columns == [ROW, "uscc", "listed_on"]
    with pytest.raises(UnreadableFile) as caught:
        source.batches().read_all()
    assert "corrupt or truncated Excel" in caught.value.message_en


# --- deliveries ---------------------------------------------------------------------------


def test_list_delivery(tmp_path: Path) -> None:
    for name in ["tax.csv", "carbon.parquet", "orders.jsonl", "Loans.CSV", "README.txt"]:
        (tmp_path / name).write_text("x")
    for name in ["honors.csv", "honors.xlsx", "taxes.csv", ".tax.csv", "~$abnormal.xlsx"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "registrations.csv").write_text("x")
    files, rejected = list_delivery(tmp_path)
    assert files == [
        tmp_path / n for n in ["Loans.CSV", "carbon.parquet", "orders.jsonl", "tax.csv"]
    ]
    reasons = {path.name: en for path, _, en in rejected}
    assert set(reasons) == {"README.txt", "honors.csv", "honors.xlsx", "taxes.csv"}
    assert "unsupported file type" in reasons["README.txt"]
    assert "several files for feed 'honors'" in reasons["honors.xlsx"]
    assert "not a feed" in reasons["taxes.csv"]
    assert all(zh for _, zh, _ in rejected)


def test_reads_a_simulated_delivery(tmp_path: Path) -> None:
    simulate(tmp_path, SimulationConfig(entities=300, seed=5))
    manifest = json.loads((tmp_path / "truth" / "manifest.json").read_text())
    files, rejected = list_delivery(tmp_path)
    assert rejected == []
    assert {p.stem for p in files} == set(FEEDS) == set(manifest["files"])
    tables: dict[str, Any] = {}
    for path in files:
        source = open_feed(path)
        expected = manifest["files"][source.feed]
        assert (path.name, source.fmt) == (expected["file"], expected["format"])
        assert source.encoding == expected["encoding"]
        assert source.missing_columns == []
        assert set(FEEDS[source.feed].names) <= set(source.columns)
        table = source.batches().read_all()
        assert table.num_rows == expected["rows"]
        assert table.column(ROW).to_pylist() == list(range(1, table.num_rows + 1))
        if source.fmt == "jsonl":
            assert table.column(PARSE_ERROR).null_count == table.num_rows
        tables[path.name] = table
    # The simulator's own record of broken rows points at the same cells.
    bad = pacsv.read_csv(
        tmp_path / "truth" / "bad_rows.csv",
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(["row", "value"], pa.string()), strings_can_be_null=True
        ),
    ).to_pylist()
    assert bad
    for entry in bad:
        cell = tables[entry["file"]].column(entry["column"])[int(entry["row"]) - 1].as_py()
        assert cell == entry["value"], entry


def test_duckdb_scans_a_source_and_the_failure_stays_on_it(tmp_path: Path) -> None:
    """The validator registers the stream in DuckDB, which wraps a failing stream's error."""
    import duckdb

    path = write_csv(tmp_path / "tax.csv", ["uscc", "period"], [[USCC, "2024-01"], [USCC, ""]])
    connection = duckdb.connect()
    connection.register("tax", open_feed(path).batches())
    assert connection.sql("SELECT _row, period FROM tax ORDER BY _row").fetchall() == [
        (1, "2024-01"),
        (2, None),
    ]
    with path.open("a") as handle:
        handle.write(f"{USCC},2024-03,{PERSON_ID}\n")
    source = open_feed(path)
    connection.register("broken", source.batches())
    with pytest.raises(duckdb.Error):
        connection.sql("SELECT count(*) FROM broken").fetchall()
    assert isinstance(source.error, UnreadableFile)
    assert "3 fields" in source.error.message_en


def test_native_parquet_text_matches_the_streamed_text(tmp_path: Path) -> None:
    """DuckDB's own Parquet read gives the same text as the Python stream."""
    import datetime as dt

    import duckdb

    path = tmp_path / "o'brien" / "carbon.parquet"  # a quote in the path must not break SQL
    path.parent.mkdir()
    table = pa.table(
        {
            "uscc": pa.array(["91110000600037341L", None, "X"]),
            "year": pa.array([2024.0, float("nan"), 2023.5]),
            "grade": pa.array([1, 2, None], pa.int64()),
            "seen": pa.array(
                [dt.datetime(2024, 5, 1, 13, 0), None, dt.datetime(2020, 1, 2)],
                pa.timestamp("s"),
            ),
        }
    )
    pq.write_table(table, path)
    source = open_feed(path)
    streamed = source.batches().read_all().to_pylist()
    native_sql = source.native_sql()
    assert native_sql is not None
    con = duckdb.connect()
    native = con.sql(native_sql).to_arrow_table().to_pylist()  # file order, no _row
    assert native == [{k: v for k, v in row.items() if k != "_row"} for row in streamed]


def test_native_csv_text_matches_the_streamed_text(tmp_path: Path) -> None:
    """DuckDB's own reader of a UTF-8 CSV gives the stream's text, in file order."""
    import duckdb

    path = tmp_path / "tax.csv"
    path.write_text(
        "\ufeff所属期, uscc ,revenue,备注\n"
        '2024-01,91110000600037341L,"1,5",\n'
        "\n"
        '2024-02,,"",x\n'
        '2024-03,A,"line\nbreak",y\n',
        encoding="utf-8",
    )
    source = open_feed(path)
    streamed = source.batches().read_all().to_pylist()
    native_sql = source.native_sql()
    assert native_sql is not None
    native = duckdb.connect().sql(native_sql).to_arrow_table().to_pylist()
    assert native == [{k: v for k, v in row.items() if k != "_row"} for row in streamed]
    assert len(native) == 3

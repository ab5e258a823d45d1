"""The compiled feed checks: each kind good and bad, typing, order, and the simulator's truth.

Rows are built by factories from the contract (no fixture files); the end-to-end test
simulates a region and demands that the checks flag exactly the rows the simulator broke.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from puhui.identifiers import USCC_ALPHABET, is_valid_uscc, make_person_ids, make_usccs
from puhui.ingest.checks import (
    CHECK_MESSAGES,
    DUCKDB,
    ERROR_CODE,
    ERROR_COLUMN,
    ERROR_EN,
    ERROR_ZH,
    LINE,
    NUMBER_PATTERN,
    PARSE_ERROR,
    ROW,
    SQL_TYPES,
    compile_checks,
    register_reference,
    render_message,
)
from puhui.ingest.contract import FEEDS, Column, Feed, Kind
from puhui.reference.data import division_uses, industry_class_codes

Row = dict[str, str | None]

# --------------------------------------------------------------------------- factories


def uscc(division: int = 331082, serial: int = 12345678, kind: int = 1) -> str:
    return str(
        make_usccs(np.array([9]), np.array([kind]), np.array([division]), np.array([serial]))[0]
    )


def person_id(division: int = 331082, birth: str = "1998-05-06", sequence: int = 123) -> str:
    return str(
        make_person_ids(
            np.array([division]), np.array([birth], dtype="datetime64[D]"), np.array([sequence])
        )[0]
    )


def wrong_last(code: str) -> str:
    """``code`` with a different last character (invalid as a USCC and as a person id)."""
    for ch in "0123456789X":
        candidate = code[:-1] + ch
        if ch != code[-1] and not is_valid_uscc(candidate) and not _ric_valid(candidate):
            return candidate
    raise AssertionError(code)


def _ric_valid(code: str) -> bool:
    # stdnum raises KeyError (not a ValidationError) for a county code it does not know
    # inside a province it knows; such a number is not valid.
    try:
        return bool(ric.is_valid(code))
    except KeyError:
        return False


def _with_check(body: str) -> str:
    """A 17-digit body with its GB 11643 check character (whatever the body says)."""
    return body + str(ric.calc_check_digit(body + "0"))


GOOD_BY_KIND: dict[Kind, str] = {
    Kind.TEXT: "某某",
    Kind.USCC: uscc(),
    Kind.PERSON_ID: person_id(),
    Kind.PARTY_ID: person_id(sequence=7),
    Kind.DATE: "2024-05-06",
    Kind.PERIOD: "2024-05",
    Kind.YEAR: "2024",
    Kind.INT: "3",
    Kind.NUMBER: "12.5",
    Kind.MONEY: "1234.56",
    Kind.MONEY_WAN: "50",
    Kind.RATE: "4.35",
    Kind.RATIO: "35.5",
    Kind.BOOL: "true",
    Kind.INDUSTRY: min(industry_class_codes()),
    Kind.DIVISION: "331082",
    Kind.VILLAGE: "331082101229",
    Kind.LON: "121.4",
    Kind.LAT: "28.6",
}


def good_value(column: Column) -> str:
    if column.kind is Kind.ENUM:
        return next(iter(column.choices))
    return GOOD_BY_KIND[column.kind]


def good_row(feed: Feed, **changes: str | None) -> Row:
    """A row that meets the contract, with ``changes`` applied."""
    row: Row = {col.name: good_value(col) for col in feed.columns}
    row.update(changes)
    return row


def single(kind: Kind, required: bool = True, **kw: Any) -> Feed:
    """A one-column feed: the plain way to test one kind's rule."""
    return Feed("t", "测试", "a test row", ("x",), (Column("x", "某列", kind, required, **kw),))


# --------------------------------------------------------------------------- running


def run(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    rows: Sequence[Mapping[str, str | None]],
    columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Check ``rows`` (all text) against ``feed``; results in row order."""
    names = (
        list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    )
    table = pa.table(
        {
            ROW: pa.array(range(1, len(rows) + 1), pa.int64()),
            **{name: pa.array([r.get(name) for r in rows], pa.string()) for name in names},
        }
    )
    con.register("src", table)
    try:
        sql = compile_checks(feed, "src", [ROW, *names])
        result: list[dict[str, Any]] = (
            con.sql(f"SELECT * FROM ({sql}) ORDER BY {ROW}").to_arrow_table().to_pylist()
        )
        return result
    finally:
        con.unregister("src")


def verdicts(
    con: duckdb.DuckDBPyConnection, kind: Kind, values: Sequence[str | None], **kw: Any
) -> list[str | None]:
    """The failure code of each value of a one-column feed (None: passes)."""
    out = run(con, single(kind, **kw), [{"x": v} for v in values])
    return [r[ERROR_CODE] for r in out]


# --------------------------------------------------------------------------- every feed


@pytest.mark.parametrize("feed_name", list(FEEDS))
def test_a_good_row_of_every_feed_passes(con: duckdb.DuckDBPyConnection, feed_name: str) -> None:
    feed = FEEDS[feed_name]
    (result,) = run(con, feed, [good_row(feed)])
    assert result[ERROR_COLUMN] is None, (result[ERROR_COLUMN], result[ERROR_ZH])
    assert result[ERROR_ZH] is None
    assert result[ERROR_EN] is None
    assert result[ERROR_CODE] is None


@pytest.mark.parametrize("feed_name", list(FEEDS))
def test_output_columns_are_typed_per_kind(con: duckdb.DuckDBPyConnection, feed_name: str) -> None:
    feed = FEEDS[feed_name]
    con.register(
        "src", pa.table({ROW: [1], **{c: [good_value(feed.column(c))] for c in feed.names}})
    )
    try:
        described = con.sql(
            f"DESCRIBE {compile_checks(feed, 'src', [ROW, *feed.names])}"
        ).fetchall()
    finally:
        con.unregister("src")
    types = {name: sql_type for name, sql_type, *_ in described}
    assert list(types)[: len(feed.names) + 1] == [ROW, *feed.names]
    for col in feed.columns:
        assert types[col.name] == SQL_TYPES[col.kind], col.name
    assert list(types)[-4:] == [ERROR_COLUMN, ERROR_CODE, ERROR_ZH, ERROR_EN]


# --------------------------------------------------------------------------- kinds


BAD_VALUES: list[tuple[Kind, str, str]] = [
    (Kind.USCC, wrong_last(uscc()), "uscc_check"),
    (Kind.USCC, uscc()[:17], "uscc_format"),
    (Kind.USCC, "91331082I2345678X1", "uscc_format"),  # I is not in the alphabet
    (Kind.USCC, "9133A082123456781X", "uscc_format"),  # region must be digits
    (Kind.PERSON_ID, wrong_last(person_id()), "person_id_check"),
    (Kind.PERSON_ID, "33108219800506123", "person_id_format"),
    (Kind.PERSON_ID, "33108219800506123Y", "person_id_format"),
    (Kind.PERSON_ID, _with_check("33108219980230123"), "person_id_birth_date"),
    (Kind.PERSON_ID, person_id(division=331082, birth="1990-01-01"), "person_id_birth_place"),
    (Kind.PERSON_ID, person_id(division=339999), "person_id_birth_place"),
    (Kind.PERSON_ID, person_id(division=110103, birth="2015-01-01"), "person_id_birth_place"),
    (Kind.PARTY_ID, wrong_last(person_id()), "person_id_check"),
    (Kind.PARTY_ID, wrong_last(uscc(serial=1234567)), "uscc_check"),
    (Kind.PARTY_ID, "not an id", "party_id_format"),
    (Kind.DATE, "2023-02-30", "date_invalid"),
    (Kind.DATE, "2024/02/30", "date_invalid"),
    (Kind.DATE, "20230230", "date_invalid"),
    (Kind.DATE, "2022-13-05", "date_invalid"),
    (Kind.DATE, "2023-2-3", "date_format"),
    (Kind.DATE, "2023-02/03", "date_format"),
    (Kind.DATE, "昨天", "date_format"),
    (Kind.PERIOD, "2023-13", "period_format"),
    (Kind.PERIOD, "2024-00", "period_format"),
    (Kind.PERIOD, "2024-1", "period_format"),
    (Kind.PERIOD, "202401", "period_format"),
    (Kind.YEAR, "24", "year_format"),
    (Kind.YEAR, "12..5", "year_format"),
    (Kind.YEAR, "1899", "below_minimum"),
    (Kind.YEAR, "2101", "above_maximum"),
    (Kind.NUMBER, "12..5", "not_a_number"),
    (Kind.NUMBER, "约5万", "not_a_number"),
    (Kind.NUMBER, "1,2,3", "not_a_number"),
    (Kind.NUMBER, "1,000", "not_a_number"),
    (Kind.NUMBER, "三千", "not_a_number"),
    (Kind.NUMBER, "1_000", "not_a_number"),
    (Kind.NUMBER, "inf", "not_a_number"),
    (Kind.NUMBER, "nan", "not_a_number"),
    (Kind.NUMBER, "0x10", "not_a_number"),
    (Kind.NUMBER, "1e400", "out_of_range"),
    (Kind.INT, "4.5", "not_an_integer"),
    (Kind.INT, "99999999999", "out_of_range"),
    (Kind.MONEY, "1e20", "out_of_range"),
    (Kind.BOOL, "maybe", "not_a_bool"),
    (Kind.BOOL, "对", "not_a_bool"),
    (Kind.INDUSTRY, "9911", "unknown_industry"),
    (Kind.INDUSTRY, "0000", "unknown_industry"),
    (Kind.INDUSTRY, "6X10", "unknown_industry"),
    (Kind.INDUSTRY, "C", "unknown_industry"),  # a section, not a class
    (Kind.DIVISION, "339999", "unknown_division"),
    (Kind.DIVISION, "331099", "unknown_division"),
    (Kind.DIVISION, "33108", "division_format"),
    (Kind.VILLAGE, "33100210120", "village_format"),
    (Kind.VILLAGE, "3310021012X1", "village_format"),
    (Kind.VILLAGE, "339999101229", "unknown_village"),
    (Kind.LON, "200", "above_maximum"),
    (Kind.LON, "12.5", "below_minimum"),
    (Kind.LAT, "60", "above_maximum"),
    (Kind.LAT, "1", "below_minimum"),
]


@pytest.mark.parametrize(("kind", "value", "code"), BAD_VALUES)
def test_a_bad_value_fails_with_its_reason(
    con: duckdb.DuckDBPyConnection, kind: Kind, value: str, code: str
) -> None:
    assert verdicts(con, kind, [value]) == [code]


GOOD_VALUES: list[tuple[Kind, str, object]] = [
    (Kind.TEXT, "  某某公司 \u3000", "某某公司"),
    (Kind.USCC, " " + uscc().lower() + " ", uscc()),
    (Kind.USCC, "N" + uscc()[1:-1] + "?", None),  # letter authority: check filled below
    (Kind.PERSON_ID, person_id(), person_id()),
    (Kind.PERSON_ID, person_id(division=110103, birth="1990-01-01"), None),
    (Kind.PARTY_ID, uscc(), uscc()),
    (Kind.PARTY_ID, person_id(), person_id()),
    (Kind.DATE, "2024-02-29", date(2024, 2, 29)),
    (Kind.DATE, "2024/02/29", date(2024, 2, 29)),
    (Kind.DATE, "20240229", date(2024, 2, 29)),
    (Kind.PERIOD, "2024-12", "2024-12"),
    (Kind.YEAR, "1900", 1900),
    (Kind.YEAR, "2100", 2100),
    (Kind.INT, "42", 42),
    (Kind.INT, "4.0", 4),
    (Kind.NUMBER, "-12.5", -12.5),
    (Kind.NUMBER, ".5", 0.5),
    (Kind.NUMBER, "1e3", 1000.0),
    (Kind.MONEY, "1234.5", Decimal("1234.50")),
    (Kind.MONEY, "56882.52", Decimal("56882.52")),
    (Kind.MONEY_WAN, "9.4925", Decimal("9.4925")),
    (Kind.RATE, "4.35", 4.35),
    (Kind.BOOL, "TRUE", True),
    (Kind.BOOL, "是", True),
    (Kind.BOOL, "1", True),
    (Kind.BOOL, "Yes", True),
    (Kind.BOOL, "false", False),
    (Kind.BOOL, "否", False),
    (Kind.BOOL, "0", False),
    (Kind.BOOL, "NO", False),
    (Kind.INDUSTRY, min(industry_class_codes()), min(industry_class_codes())),
    (Kind.DIVISION, "330000", "330000"),
    (Kind.DIVISION, "110103", "110103"),  # no longer in use, but a GB/T 2260 code
    (Kind.VILLAGE, "331082101229", "331082101229"),
    (Kind.LON, "73", 73.0),
    (Kind.LAT, "54", 54.0),
]


def _letter_authority_uscc() -> str:
    body = "N" + uscc()[1:-1]
    from puhui.identifiers import uscc_check_char

    return body + uscc_check_char(body)


@pytest.mark.parametrize(("kind", "value", "typed"), GOOD_VALUES)
def test_a_good_value_passes_and_is_typed(
    con: duckdb.DuckDBPyConnection, kind: Kind, value: str, typed: object
) -> None:
    if value.endswith("?"):
        value = _letter_authority_uscc()
        typed = value
    (result,) = run(con, single(kind), [{"x": value}])
    assert result[ERROR_CODE] is None, result[ERROR_EN]
    if typed is not None:
        assert result["x"] == typed


def test_numbers_respect_declared_bounds(con: duckdb.DuckDBPyConnection) -> None:
    codes = verdicts(con, Kind.RATIO, ["-0.5", "0", "100", "100.01"], minimum=0, maximum=100)
    assert codes == ["below_minimum", None, None, "above_maximum"]
    negative = verdicts(con, Kind.MONEY, ["-103.43", "0", "-0"], minimum=0)
    assert negative == ["below_minimum", None, None]


def test_enums_take_the_code_or_its_chinese_alias(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["registrations"]
    spellings = [
        "enterprise",
        "企业",
        "Enterprise",
        " 个体工商户 ",
        "coop",
        "农民专业合作社",
        "合伙企业",
    ]
    rows = [good_row(feed, entity_type=s) for s in spellings]
    out = run(con, feed, rows)
    assert [r["entity_type"] for r in out] == [
        "enterprise",
        "enterprise",
        "enterprise",
        "individual",
        "coop",
        "coop",
        None,
    ]
    assert [r[ERROR_CODE] for r in out] == [None] * 6 + ["unknown_code"]
    assert (
        out[-1][ERROR_ZH]
        == "主体类型不是允许的取值（enterprise/企业、individual/个体工商户、coop/农民专业合作社）"
    )


@pytest.mark.parametrize("feed_name", ["tax_grade", "carbon"])
def test_grades_are_their_own_aliases(con: duckdb.DuckDBPyConnection, feed_name: str) -> None:
    feed = FEEDS[feed_name]
    choices = list(feed.column("grade").choices)
    out = run(con, feed, [good_row(feed, grade=g) for g in [*choices, "E", "AA", "6"]])
    assert [r["grade"] for r in out[: len(choices)]] == choices
    assert [r[ERROR_COLUMN] for r in out[len(choices) :]] == ["grade"] * 3


def test_empty_optional_cells_pass_as_null(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["registrations"]
    out = run(con, feed, [good_row(feed, registered_capital="", lon=None, lat="  ", phone="")])
    assert out[0][ERROR_COLUMN] is None
    assert out[0]["registered_capital"] is None
    assert out[0]["lat"] is None


def test_blank_required_cells_are_missing(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["registrations"]
    out = run(con, feed, [good_row(feed, name=" \u3000 "), good_row(feed, address=None)])
    assert [(r[ERROR_COLUMN], r[ERROR_CODE]) for r in out] == [
        ("name", "missing"),
        ("address", "missing"),
    ]
    assert out[0][ERROR_ZH] == "名称为空（必填）"
    assert out[0][ERROR_EN] == "name is required but empty"


# --------------------------------------------------------------------------- rows


def test_closed_on_is_required_when_cancelled(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["registrations"]
    rows = [
        good_row(feed, status="cancelled", closed_on=None),
        good_row(feed, status="注销", closed_on=""),
        good_row(feed, status="注销", closed_on="2025/01/02"),
        good_row(feed, status="revoked", closed_on=None),
        good_row(feed, status="active", closed_on=None),
        good_row(feed, status="歇业", closed_on=None),
    ]
    out = run(con, feed, rows)
    assert [(r[ERROR_COLUMN], r[ERROR_CODE]) for r in out] == [
        ("closed_on", "required_when"),
        ("closed_on", "required_when"),
        (None, None),
        (None, None),
        (None, None),
        ("status", "unknown_code"),
    ]
    assert out[0][ERROR_ZH] == "登记状态为注销时注销日期必填"
    assert out[2]["closed_on"] == date(2025, 1, 2)


def test_the_first_failing_column_in_contract_order_is_named(
    con: duckdb.DuckDBPyConnection,
) -> None:
    feed = FEEDS["tax"]
    bad = {"uscc": wrong_last(uscc()), "period": "2023-13", "revenue": "约5万", "arrears": "-1"}
    rows = [
        good_row(feed, arrears="-1", period="2023-13"),  # period before arrears
        good_row(feed, revenue="约5万", uscc=bad["uscc"]),
        good_row(feed, **{k: v for k, v in bad.items() if k != "uscc"}),
    ]
    # the file's column order is not the contract's: the contract decides
    out = run(con, feed, rows, columns=["arrears", "revenue", "period", "tax_paid", "uscc"])
    assert [r[ERROR_COLUMN] for r in out] == ["period", "uscc", "period"]
    assert out[1][ERROR_ZH] == "统一社会信用代码校验位错误"
    assert out[1][ERROR_EN] == "uscc: unified social credit code has a wrong check character"


def test_extra_columns_pass_through_unchanged(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["utilities"]
    row = good_row(feed, **{"备 注": "x'\"y"})
    (result,) = run(con, feed, [row])
    assert result[ERROR_COLUMN] is None
    assert result["备 注"] == "x'\"y"


def test_extensions_are_checked_like_contract_columns(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["utilities"]
    good, bad = good_row(feed, holder_id=" 332626198011131622 "), good_row(feed, holder_id="1")
    results = sorted(run(con, feed, [good, bad]), key=lambda r: r[ROW])
    assert results[0][ERROR_COLUMN] is None
    assert results[0]["holder_id"] == "332626198011131622"
    assert results[1][ERROR_COLUMN] == "holder_id"


def test_a_missing_optional_column_is_null(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["utilities"]
    row = good_row(feed)
    del row["uscc"], row["overdue"]
    (result,) = run(con, feed, [row])
    assert result[ERROR_COLUMN] is None
    assert result["uscc"] is None
    assert result["overdue"] is None


def test_a_missing_required_column_fails_every_row(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["tax"]
    row = good_row(feed)
    del row["period"]
    out = run(con, feed, [row, row])
    assert {(r[ERROR_COLUMN], r[ERROR_CODE]) for r in out} == {("period", "column_absent")}
    assert out[0][ERROR_ZH] == "文件缺少必填列所属期"


def test_an_unparsed_line_fails_as_a_whole(con: duckdb.DuckDBPyConnection) -> None:
    feed = FEEDS["court"]
    good = good_row(feed, **{PARSE_ERROR: None})
    broken: Row = dict.fromkeys(feed.names) | {PARSE_ERROR: "Expecting ',' delimiter"}
    out = run(con, feed, [good, broken])
    assert out[0][ERROR_COLUMN] is None
    assert (out[1][ERROR_COLUMN], out[1][ERROR_CODE]) == (LINE, "bad_line")
    assert out[1][PARSE_ERROR] == "Expecting ',' delimiter"
    assert "无法解析" in out[1][ERROR_ZH]


def test_source_names_may_not_clash_with_the_outputs() -> None:
    with pytest.raises(ValueError, match="_row"):
        compile_checks(FEEDS["tax"], "src", ["uscc"])
    with pytest.raises(ValueError, match="clash"):
        compile_checks(FEEDS["tax"], "src", [ROW, ERROR_COLUMN])


def test_register_reference_can_run_twice(con: duckdb.DuckDBPyConnection) -> None:
    register_reference(con)
    count = con.execute("SELECT count(*) FROM puhui_ref_industry_class").fetchall()
    assert count == [(len(industry_class_codes()),)]


def test_every_reason_reads_in_both_languages() -> None:
    for feed in FEEDS.values():
        for col in feed.columns:
            from puhui.ingest.checks import failure_codes

            for code in failure_codes(feed, col):
                zh, en = render_message(feed, col.name, code)
                assert zh
                assert en
                assert "{" not in zh + en
                if code != "required_when":
                    assert col.alias in zh
                    assert col.name in en
    assert all(zh and en for zh, en in CHECK_MESSAGES.values())


# --------------------------------------------------------------------------- properties

DIVISIONS = sorted({int(u.code) for u in division_uses()})


def _mutate(code: str, position: int, char: str) -> str:
    return code[:position] + char + code[position + 1 :]


@st.composite
def usccs(draw: st.DrawFn) -> str:
    values = st.integers(0, len(USCC_ALPHABET) - 1)
    code = str(
        make_usccs(
            np.array([draw(values)]),
            np.array([draw(values)]),
            np.array([draw(st.integers(0, 999_999))]),
            np.array([draw(st.integers(0, 10**8 - 1))]),
        )[0]
    )
    if draw(st.booleans()):
        code = _mutate(
            code, draw(st.integers(0, 17)), draw(st.sampled_from(USCC_ALPHABET + "IOZa-"))
        )
    return code


@st.composite
def person_ids(draw: st.DrawFn) -> str:
    birth = draw(st.dates(date(1900, 1, 1), date(2030, 12, 31)))
    code = str(
        make_person_ids(
            np.array([draw(st.sampled_from(DIVISIONS))]),
            np.array([birth.isoformat()], dtype="datetime64[D]"),
            np.array([draw(st.integers(0, 999))]),
        )[0]
    )
    if draw(st.booleans()):
        code = _mutate(code, draw(st.integers(0, 17)), draw(st.sampled_from("0123456789XA")))
    return code


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(st.lists(usccs(), min_size=1, max_size=40))
def test_uscc_verdict_matches_python(con: duckdb.DuckDBPyConnection, codes: list[str]) -> None:
    # The checks upper-case codes first (a mutated ``a`` reads as ``A``); so does the oracle.
    got = verdicts(con, Kind.USCC, codes)
    assert [c is None for c in got] == [is_valid_uscc(c.upper()) for c in codes]


@PROPERTY_SETTINGS
@given(st.lists(person_ids(), min_size=1, max_size=40))
def test_person_id_verdict_matches_stdnum(con: duckdb.DuckDBPyConnection, codes: list[str]) -> None:
    got = verdicts(con, Kind.PERSON_ID, codes)
    assert [c is None for c in got] == [_ric_valid(c) for c in codes]


@PROPERTY_SETTINGS
@given(st.lists(st.one_of(usccs(), person_ids()), min_size=1, max_size=40))
def test_party_id_is_a_valid_uscc_or_person_id(
    con: duckdb.DuckDBPyConnection, codes: list[str]
) -> None:
    got = verdicts(con, Kind.PARTY_ID, codes)
    expected = [is_valid_uscc(c.upper()) or _ric_valid(c.upper()) for c in codes]
    assert [c is None for c in got] == expected


def _number_like_texts() -> list[str]:
    """Every text of up to 4 characters of digits, signs, points, exponents, underscores,
    blanks and ``x``, and 100,000 longer ones with letters DuckDB's casts know as well."""
    texts = {"".join(t) for n in range(5) for t in itertools.product("01+-.eE_ x", repeat=n)}
    alphabet = "0123456789+-.eE_ \txXbBoOnNaAiIfFdDlL,"
    draw = random.Random(7)
    for _ in range(100_000):
        texts.add("".join(draw.choice(alphabet) for _ in range(draw.randint(1, 12))))
    return sorted(texts)


def test_digit_bounded_texts_that_duckdb_casts_are_plain_numbers(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The claim behind ``SqlDialect.digits_cast_plainly``: a text that starts and ends with
    a digit and holds no ``_`` is a plain number whenever DuckDB's cast to DOUBLE takes it
    (so the checks may cast it without matching the pattern)."""
    assert DUCKDB.digits_cast_plainly
    con.execute(
        "CREATE OR REPLACE TEMP TABLE texts AS SELECT unnest($1::VARCHAR[]) AS t",
        [_number_like_texts()],
    )
    cast = con.execute(
        "SELECT t FROM texts WHERE ord(t) BETWEEN 48 AND 57 AND ord(t[-1]) BETWEEN 48 AND 57 "
        "AND NOT contains(t, '_') AND try_cast(t AS DOUBLE) IS NOT NULL"
    ).fetchall()
    assert len(cast) > 300  # the sample holds numbers, not only junk
    pattern = re.compile(NUMBER_PATTERN)
    assert [t for (t,) in cast if not pattern.fullmatch(t)] == []


def test_number_verdicts_follow_the_pattern(con: duckdb.DuckDBPyConnection) -> None:
    """With the shortcut, a number column still refuses exactly what the pattern refuses."""
    texts = [t for t in _number_like_texts() if t.strip()][::7]
    blanks = "".join(map(chr, range(1, 33)))
    pattern = re.compile(NUMBER_PATTERN)
    got = verdicts(con, Kind.NUMBER, texts, required=True)
    expected = [None if pattern.fullmatch(t.strip(blanks)) else "not_a_number" for t in texts]
    # A plain number may still be out of range (1e999) or fail a bound; none is declared.
    assert [g if g != "out_of_range" else None for g in got] == expected


# --------------------------------------------------------------------------- end to end


def _cell(value: object) -> str | None:
    """A cell as the text a department's CSV would hold (whole floats without ``.0``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    text = str(value)
    return text if text else None


def read_feed(path: Path, feed: Feed) -> pa.Table:
    """A feed file as all-text columns under contract names, plus ``_row``."""
    from puhui.simulate.writers import SPECS

    spec = SPECS[feed.name]
    frame: pd.DataFrame
    if spec.fmt == "csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=spec.encoding)
    elif spec.fmt == "xlsx":
        frame = pd.read_excel(path, dtype=object)
    elif spec.fmt == "parquet":
        frame = pq.read_table(path).to_pandas()
    else:
        records: list[dict[str, object]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError as error:
                records.append({PARSE_ERROR: str(error)})
        frame = pd.DataFrame(records)
    headers = feed.header_map()
    names = [headers.get(str(h).strip(), str(h).strip()) for h in frame.columns]
    columns = {
        name: pa.array([_cell(v) for v in frame[h].tolist()], pa.string())
        for name, h in zip(names, frame.columns, strict=True)
    }
    return pa.table({ROW: pa.array(range(1, len(frame) + 1), pa.int64()), **columns})


def test_checks_flag_exactly_the_rows_the_simulator_broke(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    from puhui.simulate.service import SimulationConfig, simulate
    from puhui.simulate.writers import SPECS

    simulate(tmp_path, SimulationConfig(entities=2_000))
    truth = pd.read_csv(tmp_path / "truth" / "bad_rows.csv", dtype=str)
    expected = {
        (f, int(r), c) for f, r, c in zip(truth["feed"], truth["row"], truth["column"], strict=True)
    }
    assert expected, "the simulator broke no rows"
    found: set[tuple[str, int, str]] = set()
    for name, feed in FEEDS.items():
        table = read_feed(tmp_path / SPECS[name].filename, feed)
        con.register("src", table)
        try:
            sql = compile_checks(feed, "src", table.column_names)
            failed = con.sql(
                f"SELECT {ROW}, {ERROR_COLUMN} FROM ({sql}) WHERE {ERROR_COLUMN} IS NOT NULL"
            ).fetchall()
            total = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()
        finally:
            con.unregister("src")
        assert total == [(table.num_rows,)]
        found |= {(name, int(row), column) for row, column in failed}
    assert sorted(found - expected) == []
    assert sorted(expected - found) == []

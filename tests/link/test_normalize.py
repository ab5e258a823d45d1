"""Name and address normalisation: golden cases, and properties over generated names."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.link.normalize import FULL_WIDTH, HALF_WIDTH, Places

TAIZHOU = Places.for_divisions(["331002", "331003", "331081", "331083"])


def _sql(expr: str, value: str | None) -> object:
    return (
        duckdb.execute(f"SELECT {expr}", []).fetchall()[0][0]
        if value is None
        else (duckdb.execute(f"SELECT {expr.replace('$v', '$1')}", [value]).fetchall()[0][0])
    )


def name(value: str) -> object:
    return _sql(TAIZHOU.name_sql("$v"), value)


def address(value: str) -> object:
    return _sql(TAIZHOU.address_sql("$v"), value)


def county(value: str) -> object:
    return _sql(TAIZHOU.county_sql("$v"), value)


def test_places_of_a_region_include_its_province_prefecture_and_counties() -> None:
    assert {"浙江省", "浙江", "台州市", "台州", "椒江区", "温岭市", "玉环市"} <= set(
        TAIZHOU.prefixes
    )
    assert TAIZHOU.counties["椒江区"] == "331002"
    assert TAIZHOU.counties["玉环市"] == "331083"  # the name in use now, not 玉环县's code
    assert "市辖区" not in TAIZHOU.prefixes
    # Longest first, so 台州市 is stripped whole rather than leaving 市.
    assert TAIZHOU.prefixes.index("台州市") < TAIZHOU.prefixes.index("台州")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("台州市利欣餐饮有限公司", "利欣餐饮"),
        ("浙江利欣餐饮股份有限公司", "利欣餐饮"),
        ("利欣餐饮", "利欣餐饮"),
        ("台州利欣餐饮", "利欣餐饮"),
        ("椒江区王记面馆", "王记面馆"),
        ("台州市椒江区王记面馆", "王记面馆"),
        ("温岭市森凯蔬菜种植专业合作社", "森凯蔬菜种植"),
        ("王记 面馆", "王记面馆"),
        ("王记\u3000面馆", "王记面馆"),
        ("ＡＢＣ超市（台州）有限公司", "ABC超市(台州)"),
        ("黄岩凯旺便利店", "黄岩凯旺便利店"),  # a county's short form is a trade name too
        ("王伟", "王伟"),
    ],
)
def test_name_keeps_only_what_identifies_the_business(written: str, expected: str) -> None:
    assert name(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("浙江省台州市椒江区海门街道解放路12号", "解放路12号"),
        ("椒江区解放路12号", "解放路12号"),
        ("台州市椒江区解放路１２号", "解放路12号"),
        ("解放路12号3楼", "解放路12号"),
        ("浙江省台州市温岭市箬横镇西环路210号", "西环路210号"),
        ("浙江省台州市黄岩区北城街道九龙大道220号", "九龙大道220号"),
        ("浙江省台州市椒江区路南街道机场路591号", "机场路591号"),  # a town named 路…
        ("镇海路8号", "镇海路8号"),  # a road named 镇… is not a town
    ],
)
def test_address_is_road_and_number(written: str, expected: str) -> None:
    assert address(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("台州市温岭市中山路725号", "331081"),
        ("椒江区生态环境局", "331002"),
        ("浙（2019）玉环市不动产权第00012345号", "331083"),
        ("解放路12号3楼", None),
    ],
)
def test_county_is_read_from_text(written: str, expected: str | None) -> None:
    assert county(written) == expected


def test_null_stays_null() -> None:
    assert _sql(TAIZHOU.name_sql("NULL::VARCHAR"), None) is None
    assert _sql(TAIZHOU.address_sql("NULL::VARCHAR"), None) is None


_han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_trade = st.text(_han, min_size=2, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    trade=_trade,
    prefix=st.sampled_from(["", "台州市", "台州", "浙江", "浙江省台州市椒江区", "温岭市"]),
    suffix=st.sampled_from(["", "有限公司", "股份有限公司", "有限责任公司", "专业合作社"]),
    full_width=st.booleans(),
)
def test_every_written_form_of_a_trade_name_normalises_alike(
    trade: str, prefix: str, suffix: str, full_width: bool
) -> None:
    # Trade names that start with a place name are out of scope: they are ambiguous.
    if any(trade.startswith(p) for p in TAIZHOU.prefixes) or any(
        trade.endswith(s) for s in ("有限公司", "合作社", "公司")
    ):
        return
    written = prefix + trade + suffix
    if full_width:
        written = written.translate(str.maketrans(HALF_WIDTH, FULL_WIDTH))
    once = name(written)
    assert once == name(trade)
    assert name(str(once)) == once  # normalising twice changes nothing


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("台州市利欣餐饮有限公司", "台州|有限公司"),
        ("浙江利欣餐饮股份有限公司", "浙江|股份有限公司"),
        ("浙江省台州市利欣餐饮有限责任公司", "浙江台州|有限责任公司"),
        ("温岭市森凯蔬菜种植专业合作社", "温岭|专业合作社"),
        ("利欣餐饮有限公司", "|有限公司"),
        ("台州利欣餐饮", None),  # a short name says nothing about the registered form
        ("椒江区王记面馆", None),
    ],
)
def test_form_is_region_and_legal_form_of_a_full_name(written: str, expected: str | None) -> None:
    assert _sql(TAIZHOU.form_sql("$v"), written) == expected

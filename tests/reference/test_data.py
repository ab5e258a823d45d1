from __future__ import annotations

from collections import Counter

from puhui.reference.data import (
    division_name,
    division_valid,
    industries,
    industry_class_codes,
    parse_loc_dat,
)
from puhui.simulate.vocab import DISTRICTS, INDUSTRIES

LOC_SAMPLE = """\
# comment
33 province="浙江省"
  0000 county="浙江省"
  1000 county="[1994-]台州市"
  1002 county="[1994-]椒江区"
  2600 county="[-1982]丽水地区,[1982-1994]台州地区"
"""


def test_parse_loc_dat_keeps_every_use_with_its_years() -> None:
    uses = parse_loc_dat(LOC_SAMPLE)
    assert [(u.code, u.name, u.level, u.valid_from, u.valid_to) for u in uses] == [
        ("330000", "浙江省", "province", None, None),
        ("331000", "台州市", "prefecture", 1994, None),
        ("331002", "椒江区", "county", 1994, None),
        ("332600", "丽水地区", "prefecture", None, 1982),
        ("332600", "台州地区", "prefecture", 1982, 1994),
    ]


def test_division_lookups_respect_years() -> None:
    assert division_name("331002") == "椒江区"
    assert division_valid("331002", 2020)
    assert not division_valid("331002", 1990)
    assert division_name("332600", 1990) == "台州地区"
    assert division_name("332600", 1970) == "丽水地区"
    assert not division_valid("339999")


def test_industry_table_is_the_whole_classification() -> None:
    rows = industries()
    counts = Counter(row.level for row in rows)
    assert counts == {"section": 20, "division": 97, "group": 473, "class": 1381}
    codes = {row.code: row for row in rows}
    assert len(codes) == len(rows)
    for row in rows:
        if row.level == "section":
            assert row.parent is None
        else:
            parent = codes[row.parent or ""]
            if row.level != "division":
                assert row.code.startswith(parent.code)
    assert codes["6210"].name_zh == "正餐服务"
    assert codes["3441"].name_zh == "泵及真空设备制造"


def test_simulator_uses_real_classes_and_divisions() -> None:
    assert {p.code for p in INDUSTRIES} <= industry_class_codes()
    for district in DISTRICTS:
        assert division_name(str(district.code)) == district.name

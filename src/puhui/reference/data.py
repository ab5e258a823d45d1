"""Reference data as shipped: parsed from files, with no database involved.

Divisions come from python-stdnum's ``cn/loc.dat`` (GB/T 2260 with historical codes);
industries from the project's own GB/T 4754-2017 table (no package ships it).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

_DATA = Path(__file__).parent / "data"
_USE = re.compile(r"^\[(?P<start>\d*)-(?P<end>\d*)\](?P<name>.+)$")
_LINE = re.compile(r'^(?P<indent>\s*)(?P<code>\d+)\s+(?P<kind>province|county)="(?P<names>[^"]*)"')


@dataclass(frozen=True, slots=True)
class DivisionUse:
    """One use of a division code: the name it had from ``valid_from`` to ``valid_to``."""

    code: str
    name: str
    level: str
    valid_from: int | None
    valid_to: int | None

    def valid_in(self, year: int) -> bool:
        return (self.valid_from is None or year >= self.valid_from) and (
            self.valid_to is None or year <= self.valid_to
        )

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def prefecture_code(self) -> str | None:
        return None if self.level == "province" else self.code[:4] + "00"


@dataclass(frozen=True, slots=True)
class IndustryRow:
    code: str
    level: str
    name_zh: str
    name_en: str | None
    parent: str | None


def _division_level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def parse_loc_dat(text: str) -> list[DivisionUse]:
    """Parse stdnum's ``cn/loc.dat``: a province line, then its 4-digit suffixes indented."""
    uses: list[DivisionUse] = []
    province = ""
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        if not match["indent"]:
            province = match["code"]
            continue
        code = province + match["code"]
        for part in match["names"].split(","):
            use = _USE.match(part)
            if use:
                start, end, name = use["start"], use["end"], use["name"]
            else:
                start, end, name = "", "", part
            uses.append(
                DivisionUse(
                    code=code,
                    name=name,
                    level=_division_level(code),
                    valid_from=int(start) if start else None,
                    valid_to=int(end) if end else None,
                )
            )
    return uses


@cache
def division_uses() -> tuple[DivisionUse, ...]:
    """Every (code, name, years) use of GB/T 2260 that stdnum knows."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    return tuple(parse_loc_dat(text))


@cache
def division_codes_by_year() -> dict[str, tuple[DivisionUse, ...]]:
    by_code: dict[str, list[DivisionUse]] = {}
    for use in division_uses():
        by_code.setdefault(use.code, []).append(use)
    return {code: tuple(uses) for code, uses in by_code.items()}


def division_valid(code: str, year: int | None = None) -> bool:
    """Whether ``code`` is a GB/T 2260 division (in use in ``year`` when given)."""
    uses = division_codes_by_year().get(code, ())
    return any(year is None or use.valid_in(year) for use in uses)


def division_name(code: str, year: int | None = None) -> str | None:
    """The division's name in ``year`` (its latest name when no year is given)."""
    uses = [u for u in division_codes_by_year().get(code, ()) if year is None or u.valid_in(year)]
    if not uses:
        return None
    return max(uses, key=lambda u: (u.valid_to is None, u.valid_to or 0)).name


@cache
def industries() -> tuple[IndustryRow, ...]:
    """The GB/T 4754-2017 classification, every level, as shipped in ``data/industries.csv``."""
    with (_DATA / "industries.csv").open(encoding="utf-8", newline="") as handle:
        return tuple(
            IndustryRow(
                code=row["code"],
                level=row["level"],
                name_zh=row["name_zh"],
                name_en=row["name_en"] or None,
                parent=row["parent"] or None,
            )
            for row in csv.DictReader(handle)
        )


@cache
def industry_class_codes() -> frozenset[str]:
    """The 4-digit class codes: the only level a registration's ``industry_code`` may take."""
    return frozenset(row.code for row in industries() if row.level == "class")

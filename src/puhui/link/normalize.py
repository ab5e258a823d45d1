"""Name and address normalisation, as SQL expressions over a region's place names.

Departments write the same business differently: ``台州市椒江区王记面馆`` in the register,
``王记面馆`` on a penalty, ``台州王记面馆`` on an electricity bill. Linking compares the
part that identifies the business, so every name loses its region prefixes (province,
prefecture and county names of the region, in full or short form), its legal-form suffix
(``有限公司``, ``专业合作社`` …), blanks and full-width forms. Addresses lose the region
prefixes and the town (``海门街道``), and keep road + number (``解放路12号``); a floor
(``3楼``) is dropped. What a full name says beyond its identifying part (region prefix and
legal form) is kept apart, to tell namesake companies apart.

The expressions use only functions that DuckDB and Spark SQL share (``translate``,
``regexp_replace``, ``regexp_extract``, ``replace``), so the same text runs on both engines.
The place names come from the reference divisions (:mod:`puhui.reference.data`), limited to
the region being linked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from puhui.ingest.checks import literal
from puhui.reference.data import division_uses

#: Full-width ASCII (U+FF01 … U+FF5E) and their half-width forms; the ideographic space and
#: full-width parentheses are the commonest in names.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
HALF_WIDTH = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F))

#: Legal-form suffixes, longest first (a name ends with at most one).
LEGAL_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份合作社",
    "专业合作社",
    "合作社",
    "(普通合伙)",
    "(有限合伙)",
)

#: A legal-form suffix at the end of a name, captured.
_LEGAL_FORM = "(" + "|".join(re.escape(f) for f in LEGAL_FORMS) + ")$"

#: Division-name suffixes that a short form drops (浙江省 → 浙江, 台州市 → 台州).
_PLACE_SUFFIXES = ("自治区", "特别行政区", "省", "市")

#: A town or street office at the start of an address (after the region prefix).
_TOWN = r"^[^0-9]{2,4}?(街道|镇|乡)"
#: Floor, room or unit after the house number.
_FLOOR = r"[0-9]+(楼|层|室|单元)$"
#: Characters that never tell two names apart.
_BLANKS = (" ", "\u3000", "\u00a0", "\t", "·", "•")


@dataclass(frozen=True)
class Places:
    """The region's place names: what a name or address may start with.

    ``prefixes``: names stripped from the start of names and addresses, longest first.
    ``counties``: county-level name → division code (to read a district from text).
    """

    prefixes: tuple[str, ...]
    counties: dict[str, str]

    @classmethod
    def for_divisions(cls, codes: Iterable[str]) -> Places:
        """The places of the province, prefectures and counties of ``codes`` (6 digits)."""
        codes = {c for c in codes if c and len(c) == 6}
        provinces = {c[:2] + "0000" for c in codes}
        prefectures = {c[:4] + "00" for c in codes}
        prefixes: set[str] = set()
        counties: dict[str, str] = {}
        for use in division_uses():
            if use.code in provinces or use.code in prefectures:
                prefixes.add(use.name)
                prefixes.add(_short(use.name))
            elif use.code in codes and use.name != "市辖区":
                prefixes.add(use.name)
                # A name used by several codes over the years means the one in use now.
                if use.valid_to is None or use.name not in counties:
                    counties[use.name] = use.code
        ordered = sorted((p for p in prefixes if len(p) >= 2), key=lambda p: (-len(p), p))
        return cls(prefixes=tuple(ordered), counties=counties)

    def _prefix_pattern(self) -> str:
        alternation = "|".join(re.escape(p) for p in self.prefixes)
        return f"^({alternation})+" if alternation else "^$"

    def name_sql(self, expr: str) -> str:
        """SQL: the identifying part of a business name (NULL stays NULL)."""
        return (
            f"regexp_replace(regexp_replace({_clean(expr)}, {literal(self._prefix_pattern())}, ''),"
            f" {literal(_LEGAL_FORM)}, '')"
        )

    def form_sql(self, expr: str) -> str:
        """SQL: what a full registered name says beyond its identifying part, or NULL.

        For a name with a legal-form suffix, its region prefix (without 省 and 市, so that
        台州市 and 台州 read alike) and the suffix: ``台州|有限公司`` for
        台州市利欣餐饮有限公司, ``浙江|股份有限公司`` for 浙江利欣餐饮股份有限公司. Two
        companies that share a trade name differ here; a name written without its legal
        form (a short name) says nothing, and gets NULL.
        """
        clean = _clean(expr)
        form = f"regexp_extract({clean}, {literal(_LEGAL_FORM)}, 1)"
        prefix = f"regexp_extract({clean}, {literal(self._prefix_pattern())}, 0)"
        region = f"replace(replace({prefix}, '省', ''), '市', '')"
        return f"CASE WHEN {form} <> '' THEN {region} || '|' || {form} END"

    def address_sql(self, expr: str) -> str:
        """SQL: road and house number of an address, without region, town or floor."""
        stripped = f"regexp_replace({_clean(expr)}, {literal(self._prefix_pattern())}, '')"
        no_town = f"regexp_replace({stripped}, {literal(_TOWN)}, '')"
        return f"regexp_replace({no_town}, {literal(_FLOOR)}, '')"

    def county_sql(self, expr: str) -> str:
        """SQL: the division code of the first county name found in ``expr`` (else NULL)."""
        if not self.counties:
            return "CAST(NULL AS VARCHAR)"
        names = sorted(self.counties, key=lambda n: (-len(n), n))
        pattern = "(" + "|".join(re.escape(n) for n in names) + ")"
        found = f"regexp_extract({_clean(expr)}, {literal(pattern)}, 1)"
        whens = " ".join(
            f"WHEN {literal(n)} THEN {literal(code)}" for n, code in sorted(self.counties.items())
        )
        return f"CASE {found} {whens} END"


def _short(name: str) -> str:
    for suffix in _PLACE_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _clean(expr: str) -> str:
    """Half-width forms and no blanks."""
    value = f"translate({expr}, {literal(FULL_WIDTH)}, {literal(HALF_WIDTH)})"
    for blank in _BLANKS:
        value = f"replace({value}, {literal(blank)}, '')"
    return value

"""The mess real feeds have: rows that break the contract, and re-sent duplicates.

Each bad row breaks exactly one rule in exactly one column, so that ``truth/bad_rows.csv``
names the column a validator must name. Duplicates are exact copies of good rows,
appended as a re-sent batch would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puhui.identifiers import USCC_ALPHABET, is_valid_person_id, is_valid_uscc
from puhui.simulate.activity import Columns
from puhui.simulate.population import IntArray, StrArray

# Problems, with the words a validator would use (truth keeps the code).
CHECK_CHARACTER = "check_character"
BAD_DATE = "bad_date"
BAD_PERIOD = "bad_period"
UNKNOWN_CODE = "unknown_code"
NOT_A_NUMBER = "not_a_number"
MISSING = "missing"
NEGATIVE = "negative"

_BAD_DATES = np.array(["2023-02-30", "2022-13-05", "2021-04-31", "2024/02/30", "20230230"])
_BAD_PERIODS = np.array(["2023-13", "2024-00", "2022-14"])
_NOT_NUMBERS = np.array(["12..5", "约5万", "三千", "1,2,3"])

#: Codes that are no value of the contract's list for the column.
_UNKNOWN: dict[str, tuple[str, ...]] = {
    "entity_type": ("合伙企业", "分公司"),
    "status": ("迁出", "歇业"),
    "industry_code": ("9911", "0000", "6X10"),
    "division": ("339999", "331099"),
    "grade": ("E", "AA"),
    "utility": ("燃气", "gas"),
    "kind": ("通报批评", "其他"),
    "role": ("第三人", "witness"),
    "guarantee": ("其他", "combo"),
    "village": ("33100210120", "3310021012X1"),
}

#: What can go wrong in each feed: (column, problem). Parquet feeds keep their types,
#: so only their text columns break.
CORRUPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "registrations": (
        ("uscc", CHECK_CHARACTER),
        ("name", MISSING),
        ("entity_type", UNKNOWN_CODE),
        ("legal_rep_id", CHECK_CHARACTER),
        ("industry_code", UNKNOWN_CODE),
        ("registered_capital", NOT_A_NUMBER),
        ("established", BAD_DATE),
        ("division", UNKNOWN_CODE),
        ("status", UNKNOWN_CODE),
    ),
    "shareholders": (
        ("uscc", CHECK_CHARACTER),
        ("holder_id", CHECK_CHARACTER),
        ("ratio", NOT_A_NUMBER),
    ),
    "abnormal": (("uscc", CHECK_CHARACTER), ("listed_on", BAD_DATE)),
    "tax": (("uscc", CHECK_CHARACTER), ("period", BAD_PERIOD)),
    "tax_grade": (("uscc", CHECK_CHARACTER), ("grade", UNKNOWN_CODE), ("year", NOT_A_NUMBER)),
    "social_insurance": (
        ("uscc", CHECK_CHARACTER),
        ("period", BAD_PERIOD),
        ("insured", NOT_A_NUMBER),
    ),
    "utilities": (
        ("utility", UNKNOWN_CODE),
        ("period", BAD_PERIOD),
        ("usage", NOT_A_NUMBER),
        ("amount", NEGATIVE),
        ("account_no", MISSING),
    ),
    "penalties": (
        ("decided_on", BAD_DATE),
        ("kind", UNKNOWN_CODE),
        ("uscc", CHECK_CHARACTER),
        ("amount", NOT_A_NUMBER),
        ("name", MISSING),
    ),
    "court": (("role", UNKNOWN_CODE), ("filed_on", BAD_DATE), ("party_id", CHECK_CHARACTER)),
    "property": (("owner_id", CHECK_CHARACTER), ("kind", UNKNOWN_CODE), ("value", NOT_A_NUMBER)),
    "honors": (("uscc", CHECK_CHARACTER), ("year", NOT_A_NUMBER)),
    "carbon": (("uscc", CHECK_CHARACTER),),
    "loans": (
        ("borrower_id", CHECK_CHARACTER),
        ("start", BAD_DATE),
        ("guarantee", UNKNOWN_CODE),
        ("rate", NOT_A_NUMBER),
    ),
    "orders": (("buyer_id", CHECK_CHARACTER), ("ordered_on", BAD_DATE), ("amount", NOT_A_NUMBER)),
    "households": (
        ("head_id", CHECK_CHARACTER),
        ("village", UNKNOWN_CODE),
        ("annual_income", NOT_A_NUMBER),
    ),
}


@dataclass(frozen=True, slots=True)
class BadRows:
    """Rows of a chunk (local positions) that were broken, and how."""

    rows: IntArray
    columns: StrArray
    problems: StrArray
    values: StrArray


def as_text(values: np.ndarray) -> np.ndarray:
    """A column as text cells (object array); NaN becomes an empty cell."""
    if values.dtype.kind == "f":
        text = values.astype(str).astype(object)
        text[np.isnan(values)] = ""
        return text
    return values.astype(str).astype(object)


def _wrong_check(values: np.ndarray) -> np.ndarray:
    """Each identifier with its last character replaced by another that makes it invalid.

    The new value must be invalid both as a USCC and as a person id: a party id may be
    either, and a person id with a changed check digit can be a valid USCC by chance.
    """
    out = []
    for value in values:
        last = value[-1]
        is_person = len(value) == 18 and value[:17].isdigit() and last in "0123456789X"
        choices = "0123456789X" if is_person else USCC_ALPHABET
        start = choices.index(last) if last in choices else 0
        for step in range(1, len(choices)):
            candidate = value[:-1] + choices[(start + step) % len(choices)]
            if not is_valid_uscc(candidate) and not is_valid_person_id(candidate):
                break
        out.append(candidate)
    return np.array(out, dtype=object)


def _bad_values(
    column: str, problem: str, current: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = len(current)
    if problem == CHECK_CHARACTER:
        return _wrong_check(current)
    if problem == BAD_DATE:
        return _BAD_DATES[rng.integers(0, len(_BAD_DATES), size=n)].astype(object)
    if problem == BAD_PERIOD:
        return _BAD_PERIODS[rng.integers(0, len(_BAD_PERIODS), size=n)].astype(object)
    if problem == UNKNOWN_CODE:
        codes = np.array(_UNKNOWN[column])
        return codes[rng.integers(0, len(codes), size=n)].astype(object)
    if problem == NOT_A_NUMBER:
        return _NOT_NUMBERS[rng.integers(0, len(_NOT_NUMBERS), size=n)].astype(object)
    if problem == MISSING:
        return np.full(n, "", dtype=object)
    if problem == NEGATIVE:  # a zero would become -0, which is not below zero
        return np.array([f"-{max(abs(float(v)), 1.0)}" for v in current], dtype=object)
    raise ValueError(problem)


def corrupt(
    feed: str, rows: Columns, rng: np.random.Generator, rate: float, typed: bool
) -> tuple[Columns, BadRows]:
    """Break about ``rate`` of the rows, one column each.

    ``typed`` (Parquet) restricts breakage to columns that are text anyway. A column that
    breaks becomes a text column; optional columns break only where they hold a value.
    """
    n = len(next(iter(rows.values())))
    chosen = np.nonzero(rng.random(n) < rate)[0]
    options = [
        (col, problem)
        for col, problem in CORRUPTIONS[feed]
        if not typed or rows[col].dtype.kind in "UO"
    ]
    pick = rng.integers(0, len(options), size=len(chosen))
    out = dict(rows)
    bad_rows: list[IntArray] = []
    bad_cols: list[str] = []
    problems: list[str] = []
    values: list[np.ndarray] = []
    for k, (column, problem) in enumerate(options):
        target = chosen[pick == k]
        text = as_text(out[column]) if out[column].dtype.kind != "O" else out[column]
        target = target[text[target] != ""]  # an empty optional cell cannot break this way
        if len(target) == 0:
            continue
        text = text.copy()
        text[target] = _bad_values(column, problem, text[target].astype(str), rng)
        out[column] = text
        bad_rows.append(target)
        bad_cols += [column] * len(target)
        problems += [problem] * len(target)
        values.append(text[target])
    if not bad_rows:
        empty = np.zeros(0, dtype=np.int64)
        return out, BadRows(
            empty, np.zeros(0, dtype=str), np.zeros(0, dtype=str), np.zeros(0, dtype=str)
        )
    return out, BadRows(
        np.concatenate(bad_rows),
        np.array(bad_cols),
        np.array(problems),
        np.concatenate(values).astype(str),
    )


def duplicate(
    rows: Columns, rng: np.random.Generator, rate: float, exclude: IntArray
) -> tuple[Columns, IntArray]:
    """Append exact copies of about ``rate`` of the good rows (a re-sent batch).

    Returns the rows and, for each appended copy, the local position of its original.
    """
    n = len(next(iter(rows.values())))
    chosen = rng.random(n) < rate
    chosen[exclude] = False
    originals = np.nonzero(chosen)[0]
    if len(originals) == 0:
        return rows, originals
    out: Columns = {}
    for name, values in rows.items():
        out[name] = np.concatenate([values, values[originals]])
    return out, originals

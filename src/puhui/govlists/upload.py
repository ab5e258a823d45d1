"""Reading an uploaded list of businesses (CSV or XLSX) and checking every row. No database.

The file's first row names the columns: ``uscc`` or ``统一社会信用代码`` (required; case,
full-width forms and spaces do not matter), and optionally ``note`` or ``备注``. Every data
row's code is checked with the rules of :mod:`puhui.identifiers` (18 characters of the USCC
alphabet, a numeric region, the GB 32100 check character) in one vectorised pass; a bad row
is reported with its 1-based data-row number (the header is not counted) and a reason in
Chinese and English, and the good rows are kept. A code that appears more than once is kept
once and reported once, naming the rows it repeats on. Wholly blank rows are skipped.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from puhui.errors import PuhuiError
from puhui.identifiers import USCC_ALPHABET, uscc_check_values
from puhui.ingest.readers import cell_text, normalize_header

#: Headers that name the code column, and the note column (compared normalised).
USCC_HEADERS = frozenset({"uscc", "统一社会信用代码"})
NOTE_HEADERS = frozenset({"note", "备注"})
#: The largest file and the most data rows one upload may have.
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
MAX_NOTE = 500

_LOOKUP = np.full(128, -1, dtype=np.int64)
_LOOKUP[np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(USCC_ALPHABET))


class BadFileError(PuhuiError):
    """The upload cannot be read as a list (HTTP 422): nothing was added."""

    http_status = 422


class FileTooLargeError(BadFileError):
    """The upload is larger than :data:`MAX_BYTES` (HTTP 413)."""

    http_status = 413

    def __init__(self) -> None:
        mb = MAX_BYTES // (1024 * 1024)
        super().__init__(f"文件过大（上限 {mb} MB）", f"the file is too large (at most {mb} MB)")


@dataclass(frozen=True)
class RowProblem:
    """One data row that was not kept: its 1-based number, the value, why (code and text)."""

    row: int
    value: str
    code: str
    zh: str
    en: str

    def text(self, locale: str) -> str:
        return self.zh if locale == "zh_CN" else self.en


@dataclass(frozen=True)
class ParsedMembers:
    """The good rows (unique codes in file order, with their notes) and the bad ones."""

    usccs: list[str]
    notes: list[str]
    rows: int
    problems: list[RowProblem] = field(default_factory=list)


def _problem(code: str, row: int, value: str, **values: object) -> RowProblem:
    texts = {
        "empty": ("统一社会信用代码为空", "the unified social credit code is empty"),
        "length": (
            "统一社会信用代码应为18位，实为{length}位",
            "a unified social credit code has 18 characters, this has {length}",
        ),
        "characters": (
            "含有统一社会信用代码不使用的字符（如 I、O、S、V、Z、标点或汉字）",
            "has characters a unified social credit code never uses (I, O, S, V, Z, "
            "punctuation, Chinese characters …)",
        ),
        "region": (
            "第3至8位（登记管理机关行政区划码）应为数字",
            "characters 3 to 8 (the region code) must be digits",
        ),
        "check": (
            "校验位错误（应为 {expected}）",
            "wrong check character (it should be {expected})",
        ),
        "duplicate": (
            "与第{first}行重复（重复出现在第{rows_zh}行），只保留一次",
            "repeats row {first} (again on rows {rows_en}); kept once",
        ),
    }
    zh, en = texts[code]
    return RowProblem(row, value, code, zh.format(**values), en.format(**values))


def check_usccs(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Check codes (already trimmed and upper-cased) in one vectorised pass.

    Returns ``(reason, expected)``: ``reason`` is ``""`` for a valid code, else one of
    ``empty``, ``length``, ``characters``, ``region``, ``check`` (the first that applies);
    ``expected`` is the right check character where the reason is ``check``.
    """
    text = np.asarray(list(values), dtype=str) if len(values) else np.empty(0, dtype="U18")
    lengths = np.char.str_len(text)
    n = len(text)
    points = np.ascontiguousarray(text.astype("U18")).view(np.uint32).reshape(n, 18)
    ascii_ = points < 128
    numbers = np.where(ascii_, _LOOKUP[np.minimum(points, 127)], -1)
    right_length = lengths == 18
    bad_characters = right_length & (numbers < 0).any(axis=1)
    digits = (points[:, 2:8] >= ord("0")) & (points[:, 2:8] <= ord("9"))
    bad_region = right_length & ~bad_characters & ~digits.all(axis=1)
    check = uscc_check_values(np.clip(numbers[:, :17], 0, None).astype(np.int64))
    bad_check = right_length & ~bad_characters & ~bad_region & (check != numbers[:, 17])
    reason = np.full(n, "", dtype="U10")
    reason[bad_check] = "check"
    reason[bad_region] = "region"
    reason[bad_characters] = "characters"
    reason[~right_length] = "length"
    reason[lengths == 0] = "empty"
    alphabet = np.asarray(list(USCC_ALPHABET))
    expected = np.where(bad_check, alphabet[check % len(USCC_ALPHABET)], "")
    return reason, expected


def _text(value: object) -> str:
    text = cell_text(value) if not isinstance(value, str) else value
    return unicodedata.normalize("NFKC", text or "").strip()


def _rows_of_csv(content: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise BadFileError("文件编码无法识别（请用 UTF-8 或 GB18030）", "unknown text encoding")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:
        return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as error:
        raise BadFileError(
            f"CSV 文件无法读取：{error}", f"the CSV file cannot be read: {error}"
        ) from None


def _rows_of_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    def unreadable(error: Exception) -> BadFileError:
        return BadFileError(
            "XLSX 文件无法读取（文件损坏或不是 Excel 文件）",
            f"the XLSX file cannot be read ({type(error).__name__})",
        )

    # Whatever a damaged or hostile file makes openpyxl raise is the file's fault, not ours.
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:
        raise unreadable(error) from None
    try:
        sheet = book.worksheets[0]
        return [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    except Exception as error:
        raise unreadable(error) from None
    finally:
        book.close()


def read_rows(filename: str, content: bytes) -> list[list[str]]:
    """Every row of the file as text (header first): XLSX by its name or content, else CSV."""
    if len(content) > MAX_BYTES:
        raise FileTooLargeError
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")) or content[:4] == b"PK\x03\x04":
        return _rows_of_xlsx(content)
    if name.endswith(".xls"):
        raise BadFileError(
            "不支持旧版 .xls 文件，请另存为 .xlsx 或 .csv",
            "old .xls files are not read: save it as .xlsx or .csv",
        )
    return _rows_of_csv(content)


def parse_members(filename: str, content: bytes) -> ParsedMembers:
    """The businesses of an uploaded list: good rows kept, bad ones reported by row."""
    rows = read_rows(filename, content)
    if not rows:
        raise BadFileError("文件为空", "the file is empty")
    header = [normalize_header(_text(cell)) for cell in rows[0]]
    uscc_at = next((i for i, h in enumerate(header) if h in USCC_HEADERS), None)
    if uscc_at is None:
        raise BadFileError(
            "第一行须有“统一社会信用代码”或“uscc”列",
            "the first row must name a column 'uscc' (or 统一社会信用代码)",
        )
    note_at = next((i for i, h in enumerate(header) if h in NOTE_HEADERS), None)

    def cell(row: list[str], at: int | None) -> str:
        return _text(row[at]) if at is not None and at < len(row) else ""

    body = [
        (number, row) for number, row in enumerate(rows[1:], start=1) if any(_text(c) for c in row)
    ]
    if len(body) > MAX_ROWS:
        raise BadFileError(
            f"行数过多（上限 {MAX_ROWS:,} 行）", f"too many rows (at most {MAX_ROWS:,})"
        )
    numbers = np.asarray([number for number, _row in body], dtype=np.int64)
    raw = [cell(row, uscc_at) for _number, row in body]
    codes = np.char.upper(np.asarray(raw, dtype=str)) if raw else np.empty(0, dtype=str)
    notes = [cell(row, note_at)[:MAX_NOTE] for _number, row in body]
    reason, expected = check_usccs(codes.tolist())

    problems = [
        _problem(
            str(reason[i]),
            int(numbers[i]),
            raw[i],
            length=len(raw[i]),
            expected=str(expected[i]),
        )
        for i in np.flatnonzero(reason != "")
    ]
    good = np.flatnonzero(reason == "")
    unique, first, inverse, counts = np.unique(
        codes[good], return_index=True, return_inverse=True, return_counts=True
    )
    keep = np.sort(first)  # the first row of each code, in file order
    repeated = np.flatnonzero(counts > 1)
    for k in repeated:  # one report per repeated code (not per row)
        rows_of_code = numbers[good[inverse == k]]
        problems.append(
            _problem(
                "duplicate",
                int(rows_of_code[1]),
                str(unique[k]),
                first=int(rows_of_code[0]),
                rows_zh="、".join(str(r) for r in rows_of_code[1:]),
                rows_en=", ".join(str(r) for r in rows_of_code[1:]),
            )
        )
    problems.sort(key=lambda p: (p.row, p.code))
    return ParsedMembers(
        usccs=[str(codes[good[i]]) for i in keep],
        notes=[notes[good[i]] for i in keep],
        rows=len(body),
        problems=problems,
    )

"""The reading layer of ``puhui ingest``: any delivery file as a stream of text record batches.

The validator that follows registers these streams in DuckDB and checks every value with
SQL. To keep judgement in that one place, the readers judge no value: they only make all
files look alike, whatever format, encoding or header language a department chose:

- contract columns under their contract names (headers matched after trimming, against the
  English name and the Chinese aliases), extra columns kept under their own header;
- every cell as text, empty cells as null, typed values (Parquet, Excel) as canonical text,
  so that ``1234.0`` from Parquet and ``1234`` from a CSV are the same string;
- a first column ``_row``: the 1-based number of the data row in its file (the header is
  not a row, blank lines are not rows), so a quarantined row can be found by the sender.

Nothing is read whole: CSV and Parquet stream through Arrow without a Python loop over
rows; JSON lines and Excel, which Arrow cannot read leniently, go row by row in bounded
batches. A file that cannot be read at all raises :class:`UnreadableFile` with a plain
reason that quotes no cell, since a cell may hold a personal identity number.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import unicodedata
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache, cached_property
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from puhui.errors import PuhuiError
from puhui.ingest.checks import literal, quote
from puhui.ingest.contract import FEEDS, FORMATS, Feed

#: The row-number column every stream starts with.
ROW = "_row"
#: JSON lines only: why a line could not be read (null for every good line).
PARSE_ERROR = "_parse_error"

#: Leading bytes of a CSV decoded to detect its encoding (and to read its header).
SAMPLE_BYTES = 4 << 20
#: Further windows spread through a large CSV, so a GB18030 file whose first megabytes
#: happen to be plain ASCII is not taken for UTF-8.
WINDOW_BYTES = 1 << 20
WINDOWS = 4
#: Arrow's CSV block. Its streaming reader reads up to 32 blocks ahead of the consumer, so
#: a stream holds about 32 blocks: 8 MiB keeps that near 300 MB and reads as fast as 32 MiB
#: (about 10 million rows in 4 s for UTF-8, 7 s for GB18030, on two cores).
CSV_BLOCK_BYTES = 8 << 20
#: Rows per batch for Parquet and Excel, lines per batch for JSON lines.
BATCH_ROWS = 65_536
JSONL_BATCH_LINES = 50_000

_ARROW_ENCODING = {"utf-8": "utf8", "utf-8-sig": "utf8", "gb18030": "gb18030"}
_NULL_TEXT = pa.scalar(None, pa.string())


class UnreadableFile(PuhuiError):  # noqa: N818 - the name the ingest design uses
    """A delivery file that cannot be read at all, as opposed to a row that breaks a rule.

    The message names the file and a plain reason; it never quotes file contents, since a
    cell may hold a personal identity number, and it is raised without its cause so that no
    library traceback carrying a row reaches a log.
    """

    def __init__(self, path: Path, reason_zh: str, reason_en: str) -> None:
        super().__init__(
            f"无法读取 {path.name}：{reason_zh}", f"cannot read {path.name}: {reason_en}"
        )
        self.path = path
        self.reason_zh = reason_zh
        self.reason_en = reason_en


# --- headers ------------------------------------------------------------------------------


def normalize_header(header: str) -> str:
    """The form in which headers are compared.

    NFKC folds full-width forms that Chinese systems export (``注册资本（万元）``, ``ＵＳＣＣ``,
    the ideographic space) to the contract's half-width ones; case is folded so that
    ``USCC`` is ``uscc``; spaces and a stray byte-order mark around the header are dropped.
    """
    return unicodedata.normalize("NFKC", header).replace("\ufeff", "").strip().casefold()


@cache
def _accepted(feed_name: str) -> dict[str, str]:
    """Normalized accepted header -> contract column, per feed (computed once)."""
    return {normalize_header(h): name for h, name in FEEDS[feed_name].header_map().items()}


@dataclass(frozen=True, slots=True)
class _Layout:
    """How a file's headers become output columns."""

    names: list[str]  # output column per header, in file order
    header_map: dict[str, str]
    missing: list[str]

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(self.names))


def _layout(path: Path, feed: Feed, headers: Sequence[str], *, merge: bool = False) -> _Layout:
    """Map headers to contract names; name and keep the rest.

    Two headers for one contract column would leave the validator to guess which one
    counts, so the file is refused, except with ``merge`` (JSON lines, where different
    lines may use the English and the Chinese key and each line is checked on its own).
    An extra header keeps its own (trimmed) text, prefixed with ``x`` if it starts with
    ``_`` (the loader's own names, such as ``_row``); a blank one becomes ``column_<n>``
    (1-based position), and a repeated one gets ``_2``, ``_3`` so column names stay unique.
    """
    accepted = _accepted(feed.name)
    contract: list[str | None] = [accepted.get(normalize_header(h)) for h in headers]
    first_header: dict[str, str] = {}
    for header, name in zip(headers, contract, strict=True):
        if name is None:
            continue
        if name in first_header and not merge:
            other = first_header[name]
            raise UnreadableFile(
                path,
                f"表头“{other}”和“{header}”都对应合同列 {name}",
                f"headers '{other}' and '{header}' both map to contract column '{name}'",
            )
        first_header.setdefault(name, header)
    used = {ROW, PARSE_ERROR, *first_header}
    names: list[str] = []
    for position, (header, name) in enumerate(zip(headers, contract, strict=True), start=1):
        if name is None:
            base = header.replace("\ufeff", "").strip() or f"column_{position}"
            if base.startswith("_"):  # names starting with _ belong to the loader itself
                base = "x" + base
            name, suffix = base, 2
            while name in used:
                name, suffix = f"{base}_{suffix}", suffix + 1
            used.add(name)
        names.append(name)
    header_map: dict[str, str] = {}
    for header, name in zip(headers, names, strict=True):
        header_map.setdefault(header, name)
    missing = [c for c in feed.names if c not in first_header]
    return _Layout(names, header_map, missing)


# --- canonical text -----------------------------------------------------------------------


def float_text(value: float) -> str | None:
    """A float as the shortest text that reads back to it, without a trailing ``.0``.

    ``1234.0`` -> ``1234``, ``1234.5`` -> ``1234.5``, ``-0.0`` -> ``0``, NaN -> null (a
    missing value in the frameworks that write NaN). The same rule as :func:`arrow_text`
    applies to Parquet columns, so a value reads the same from every format.
    """
    if math.isnan(value):
        return None
    text = repr(value + 0.0)  # + 0.0 turns -0.0 into 0.0
    return text.removesuffix(".0")


def cell_text(value: object) -> str | None:
    """An Excel cell (as openpyxl gives it) as canonical text; empty -> null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    text = str(value)
    return text or None


def arrow_text(array: Any) -> Any:
    """A typed Arrow array as canonical text (``pa.string()``), computed column-wise.

    Integers ``123``; floats as :func:`float_text`; dates and timestamps ``YYYY-MM-DD``
    (a zoned timestamp on its own zone's day); booleans ``true``/``false``; empty strings
    null. Nested values (lists, structs), which no contract column has, fall back to JSON
    text built in Python, the one place a Python loop remains.
    """
    kind = array.type
    if pa.types.is_dictionary(kind):
        return arrow_text(array.dictionary_decode())
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
    ):
        text = pc.cast(array, pa.string())
        return pc.if_else(pc.equal(text, ""), _NULL_TEXT, text)
    if pa.types.is_floating(kind):
        values = array.to_numpy(zero_copy_only=False) + 0.0  # nulls are NaN; -0.0 -> 0.0
        text = pa.array(values.astype(str), pa.string())
        text = pc.replace_substring_regex(text, pattern=r"\.0$", replacement="")
        return pc.if_else(pa.array(np.isnan(values)), _NULL_TEXT, text)
    if pa.types.is_timestamp(kind):
        return pc.cast(pc.cast(array, pa.date32()), pa.string())
    if pa.types.is_nested(kind):
        values = array.to_pylist()
        return pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in values],
            pa.string(),
        )
    return pc.cast(array, pa.string())  # ints, bools, dates, decimals, times


# --- sources ------------------------------------------------------------------------------


@dataclass
class FeedSource:
    """One delivery file, opened: what it holds and how to stream it.

    ``columns`` are the names of the streamed columns, in order: ``_row`` first, then the
    file's columns (contract columns renamed, extra ones kept), and for JSON lines
    ``_parse_error`` last. ``header_map`` maps each original header (JSON key) to its
    column; ``missing_columns`` lists contract columns the file has no header for.

    When a stream fails part way, the :class:`UnreadableFile` it raised is also kept in
    ``error``: a consumer such as DuckDB wraps the exception in its own, and the validator
    can report this one instead.
    """

    feed: str
    path: Path
    fmt: str
    encoding: str | None
    columns: list[str]
    header_map: dict[str, str]
    missing_columns: list[str]
    error: UnreadableFile | None = field(default=None, init=False, repr=False, compare=False)

    @cached_property
    def schema(self) -> Any:
        """``_row`` int64, every other column text."""
        return pa.schema(
            [pa.field(ROW, pa.int64())] + [pa.field(c, pa.string()) for c in self.columns[1:]]
        )

    def batches(self) -> Any:
        """A fresh ``pa.RecordBatchReader`` over the file's rows; callable more than once."""
        return pa.RecordBatchReader.from_batches(self.schema, self._guarded())

    def _guarded(self) -> Iterator[Any]:
        """The stream, with every library error turned into :class:`UnreadableFile`."""
        self.error = None
        try:
            yield from self._stream()
        except UnreadableFile as error:
            self.error = error
            raise
        except MemoryError:
            raise
        except Exception as error:
            self.error = self._unreadable(error)
            raise self.error from None

    def _stream(self) -> Iterator[Any]:
        raise NotImplementedError

    #: Whether :meth:`native_rows_sql` numbers the rows by the order DuckDB's reader gives
    #: them (``row_number() OVER ()``), which is file order only while DuckDB's
    #: ``preserve_insertion_order`` is on; else the reader numbers them itself.
    rows_need_order: ClassVar[bool] = False

    def native_sql(self) -> str | None:
        """A DuckDB query giving the same columns as :meth:`batches` but ``_row``, in file
        order, where DuckDB can read the format itself (much faster than a pass through
        Python); ``None`` otherwise."""
        return None

    def native_rows_sql(self, doubles: Collection[str] = ()) -> str | None:
        """Like :meth:`native_sql`, with ``_row`` first, so that the file can be read where it
        lies, more than once, without being staged; ``None`` where DuckDB cannot read it.

        Parquet's rows are numbered by the reader (``file_row_number``), and the query may be
        read in any order. A CSV file's are numbered by ``row_number() OVER ()``, which
        DuckDB documents as the file order while ``preserve_insertion_order`` is on
        (:attr:`rows_need_order`): the CSV reader has no row number of its own.

        Columns named in ``doubles`` (of :meth:`native_doubles`) stay DOUBLE instead of
        becoming text: NaN and the infinities NULL (their text is NULL), ``-0.0`` as ``0``.
        """
        return None

    def native_doubles(self) -> list[str]:
        """Columns whose values :meth:`native_rows_sql` can give as DOUBLE (64-bit floats)."""
        return []

    def _unreadable(self, error: Exception) -> UnreadableFile:
        return _read_failed(self.path, error)

    def _batch(self, start: int, count: int, arrays: Sequence[Any]) -> Any:
        """Prefix ``_row`` (start + 1 ... start + count) to text arrays."""
        rows = pa.array(np.arange(start + 1, start + count + 1, dtype=np.int64))
        return pa.RecordBatch.from_arrays([rows, *arrays], schema=self.schema)


def _read_failed(path: Path, error: Exception) -> UnreadableFile:
    if isinstance(error, OSError) and error.strerror:
        return UnreadableFile(
            path, f"读取失败（{error.strerror}）", f"read failed ({error.strerror})"
        )
    return UnreadableFile(path, "读取失败", f"read failed ({type(error).__name__})")


@dataclass
class _CsvSource(FeedSource):
    width: int = field(kw_only=True)
    skip_rows: int = field(kw_only=True)
    has_rows: bool = field(kw_only=True)

    def _stream(self) -> Iterator[Any]:
        if not self.has_rows:
            return
        invalid: list[Any] = []  # rows Arrow found with the wrong number of fields

        def on_invalid(row: Any) -> str:
            invalid.append(row)
            return "error"

        start = 0
        try:
            with self._open_csv(on_invalid) as reader:
                for batch in reader:
                    yield self._batch(start, batch.num_rows, batch.columns)
                    start += batch.num_rows
        except pa.ArrowInvalid:
            if not invalid:
                raise
            row = invalid[0]
            where_zh = f"第 {row.number} 行" if row.number else f"第 {start} 个数据行之后的一行"
            where_en = f"line {row.number}" if row.number else f"a row after data row {start}"
            raise UnreadableFile(
                self.path,
                f"{where_zh}有 {row.actual_columns} 个字段，表头有 {row.expected_columns} 列",
                f"{where_en} has {row.actual_columns} fields, "
                f"the header has {row.expected_columns}",
            ) from None

    rows_need_order: ClassVar[bool] = True

    def native_sql(self) -> str | None:
        """UTF-8 CSV through DuckDB's own parallel reader (it cannot decode GB18030).

        Same columns and text as :meth:`batches`, in file order (blank lines are no rows in
        either; an empty cell, quoted or not, is NULL in both); a file DuckDB refuses is
        read again through the stream, whose error says which line is wrong.
        """
        if self.encoding not in ("utf-8", "utf-8-sig") or not self.has_rows:
            return None
        names = self.columns[1 : 1 + self.width]
        name_list = ", ".join(literal(n) for n in names)
        location = literal(str(self.path))
        return (
            f"SELECT * FROM read_csv({location}, "
            f"header = false, skip = {self.skip_rows}, names = [{name_list}], "
            "all_varchar = true, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
            "nullstr = '', allow_quoted_nulls = true)"
        )

    def native_rows_sql(self, doubles: Collection[str] = ()) -> str | None:
        native = self.native_sql()
        if native is None:
            return None
        return f"SELECT row_number() OVER () AS {quote(ROW)}, * FROM ({native})"

    def _open_csv(self, on_invalid: Callable[[Any], str]) -> Any:
        """Arrow's streaming reader: every column text, empty cells null."""
        names = [f"f{i}" for i in range(self.width)]  # positions; headers are ours to map
        return pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=self.skip_rows,
                block_size=CSV_BLOCK_BYTES,
                encoding=_ARROW_ENCODING[self.encoding or "utf-8"],
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )

    def _unreadable(self, error: Exception) -> UnreadableFile:
        if isinstance(error, UnicodeDecodeError) or "UTF8" in str(error):
            return UnreadableFile(
                self.path,
                f"文件中有不是 {self.encoding} 编码的内容",
                f"part of the file is not valid {self.encoding}",
            )
        if isinstance(error, pa.ArrowInvalid):
            return UnreadableFile(self.path, "CSV 格式错误", "malformed CSV")
        return _read_failed(self.path, error)


@dataclass
class _ParquetSource(FeedSource):
    def _stream(self) -> Iterator[Any]:
        start = 0
        with pq.ParquetFile(self.path) as parquet:
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                arrays = [arrow_text(column) for column in batch.columns]
                yield self._batch(start, batch.num_rows, arrays)
                start += batch.num_rows

    def _unreadable(self, error: Exception) -> UnreadableFile:
        return _corrupt(self.path, "Parquet")

    def native_sql(self) -> str | None:
        """DuckDB's own Parquet reader, every column cast to text, empty text as NULL.

        Numbers come out as DuckDB writes them (``1234.0`` where :meth:`batches` writes
        ``1234``): both parse to the same value, and the validator parses either.
        """
        return self._native(row_numbers=False)

    def native_rows_sql(self, doubles: Collection[str] = ()) -> str | None:
        return self._native(row_numbers=True, doubles=doubles)

    def native_doubles(self) -> list[str]:
        with pq.ParquetFile(self.path) as parquet:
            schema = parquet.schema_arrow
        return [
            column
            for arrow_field, column in zip(schema, self.columns[1:], strict=True)
            if pa.types.is_float64(arrow_field.type)
        ]

    def _native(self, *, row_numbers: bool, doubles: Collection[str] = ()) -> str:
        with pq.ParquetFile(self.path) as parquet:
            schema = parquet.schema_arrow
        items = [f"file_row_number + 1 AS {quote(ROW)}"] if row_numbers else []
        for arrow_field, column in zip(schema, self.columns[1:], strict=True):
            name = quote(arrow_field.name)
            if column in doubles and pa.types.is_float64(arrow_field.type):
                items.append(f"CASE WHEN isfinite({name}) THEN {name} + 0.0 END AS {quote(column)}")
                continue
            value = native_text(name, arrow_field.type)
            items.append(f"NULLIF({value}, '') AS {quote(column)}")
        location = literal(str(self.path))
        numbered = ", file_row_number = true" if row_numbers else ""
        return f"SELECT {', '.join(items)} FROM read_parquet({location}{numbered})"


def native_text(name: str, arrow_type: pa.DataType) -> str:
    """DuckDB text of a typed Parquet column, in the same forms as :func:`arrow_text`:
    whole floats without ``.0``, NaN as NULL, timestamps as their date."""
    if pa.types.is_floating(arrow_type):
        return (
            f"CASE WHEN isnan({name}) OR isinf({name}) THEN NULL "
            f"WHEN {name} = trunc({name}) AND abs({name}) < 1e15 "
            f"THEN CAST(TRY_CAST({name} AS HUGEINT) AS VARCHAR) ELSE CAST({name} AS VARCHAR) END"
        )
    if pa.types.is_timestamp(arrow_type):
        return f"CAST(CAST({name} AS DATE) AS VARCHAR)"
    return f"CAST({name} AS VARCHAR)"


@dataclass
class _XlsxSource(FeedSource):
    width: int = field(kw_only=True)

    def _stream(self) -> Iterator[Any]:
        workbook = _load_workbook(self.path)
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # some writers declare a wrong sheet size
            cells: list[list[str | None]] = [[] for _ in range(self.width)]
            start = count = 0
            for values in sheet.iter_rows(min_row=2, values_only=True):
                row = [cell_text(v) for v in values[: self.width]]
                if all(v is None for v in row):
                    continue  # a blank row is not a row
                row.extend([None] * (self.width - len(row)))
                for column, value in zip(cells, row, strict=True):
                    column.append(value)
                count += 1
                if count == BATCH_ROWS:
                    yield self._batch(start, count, [pa.array(c, pa.string()) for c in cells])
                    start, count = start + count, 0
                    cells = [[] for _ in range(self.width)]
            if count:
                yield self._batch(start, count, [pa.array(c, pa.string()) for c in cells])
        finally:
            workbook.close()

    def _unreadable(self, error: Exception) -> UnreadableFile:
        return _corrupt(self.path, "Excel")


class _Number(str):
    """A JSON number kept as the text it was written as (no float rounding)."""

    __slots__ = ()


def _json_dump(value: object) -> str:
    """Compact JSON of a nested value, numbers as written."""
    if isinstance(value, _Number):
        return str.__str__(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(k, ensure_ascii=False)}:{_json_dump(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def json_text(value: object) -> str | None:
    """A JSON value as text: numbers as written, ``true``/``false``, null and ``""`` null."""
    if value is None:
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, _Number):
        return str.__str__(value)
    if isinstance(value, str):
        return value or None
    return _json_dump(value)


def _json_lines(handle: BinaryIO) -> Iterator[str | UnreadableLine]:
    """The non-blank lines of a JSON-lines file, decoded; a line that is not UTF-8 is
    returned as its reason instead."""
    first = True
    for raw in handle:
        if first:
            raw, first = raw.removeprefix(codecs.BOM_UTF8), False
        if not raw.strip():
            continue
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield UnreadableLine("不是有效的 UTF-8 文本", "not valid UTF-8 text")


@dataclass(frozen=True, slots=True)
class UnreadableLine:
    """Why one JSON line is no record; becomes the line's ``_parse_error``."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} ({self.en})"


_JSON_KINDS: dict[type[object], tuple[str, str]] = {
    list: ("数组", "an array"),
    str: ("字符串", "a string"),
    _Number: ("数字", "a number"),
    bool: ("布尔值", "a boolean"),
    type(None): ("null", "null"),
}


def _parse_json_line(line: str) -> dict[str, Any] | UnreadableLine:
    try:
        value = json.loads(line, parse_float=_Number, parse_int=_Number, parse_constant=_Number)
    except json.JSONDecodeError as error:
        return UnreadableLine(
            f"不是有效的 JSON：{error.msg}，第 {error.colno} 列",
            f"not valid JSON: {error.msg} at column {error.colno}",
        )
    except RecursionError:
        return UnreadableLine("JSON 嵌套过深", "JSON nested too deeply")
    if not isinstance(value, dict):
        zh, en = _JSON_KINDS.get(type(value), ("其他值", "another value"))
        return UnreadableLine(f"不是 JSON 对象，而是{zh}", f"not a JSON object but {en}")
    return value


@dataclass
class _JsonlSource(FeedSource):
    #: JSON key -> index among the file's columns (without ``_row`` and ``_parse_error``)
    key_index: dict[str, int] = field(kw_only=True)

    def _stream(self) -> Iterator[Any]:
        width = len(self.columns) - 2
        start = 0
        with self.path.open("rb") as handle:
            cells: list[list[str | None]] = [[] for _ in range(width + 1)]
            for line in _json_lines(handle):
                row = self._cells(line, width)
                for column, value in zip(cells, row, strict=True):
                    column.append(value)
                if len(cells[0]) == JSONL_BATCH_LINES:
                    yield self._batch(
                        start, len(cells[0]), [pa.array(c, pa.string()) for c in cells]
                    )
                    start += len(cells[0])
                    cells = [[] for _ in range(width + 1)]
            if cells[0]:
                yield self._batch(start, len(cells[0]), [pa.array(c, pa.string()) for c in cells])

    def _cells(self, line: str | UnreadableLine, width: int) -> list[str | None]:
        """One line as ``width`` cells plus its parse error."""
        record = line if isinstance(line, UnreadableLine) else _parse_json_line(line)
        if isinstance(record, UnreadableLine):
            return [None] * width + [str(record)]
        row: list[str | None] = [None] * (width + 1)
        seen: set[int] = set()
        for key, value in record.items():
            index = self.key_index.get(key)
            if index is None:
                raise UnreadableFile(self.path, "文件在读取期间被修改", "file changed while read")
            if index in seen:
                name = self.columns[index + 1]
                reason = UnreadableLine(
                    f"同一行中有多个键对应合同列 {name}",
                    f"several keys in one line map to contract column '{name}'",
                )
                return [None] * width + [str(reason)]
            seen.add(index)
            row[index] = json_text(value)
        return row


# --- opening ------------------------------------------------------------------------------


def _corrupt(path: Path, kind: str) -> UnreadableFile:
    return UnreadableFile(path, f"{kind} 文件已损坏或不完整", f"corrupt or truncated {kind} file")


def _name_problem(path: Path) -> tuple[str, str] | None:
    """Why a file name is no feed file of the contract, or None when it is one."""
    fmt = path.suffix.lower().removeprefix(".")
    if fmt not in FORMATS:
        shown = path.suffix or "（无）"
        return (
            f"不支持的文件格式 {shown}（支持 {'、'.join(FORMATS)}）",
            f"unsupported file type '{path.suffix}' (expected one of {', '.join(FORMATS)})",
        )
    if path.stem.lower() not in FEEDS:
        return (
            f"文件名 {path.stem} 不是合同中的数据项",
            f"'{path.stem}' is not a feed of the contract",
        )
    return None


def _samples(handle: BinaryIO, size: int) -> list[tuple[bytes, bool]]:
    """Byte samples of a file, each paired with whether it ends on a character boundary.

    The head is cut back to its last newline, windows further on are cut to whole lines;
    a newline byte never occurs inside a UTF-8 or GB18030 character, so whole lines never
    split one. A head with no newline is decoded incrementally instead.
    """
    head = handle.read(SAMPLE_BYTES)
    if len(head) >= size:
        return [(head, True)]
    cut = head.rfind(b"\n")
    samples = [(head[: cut + 1], True) if cut >= 0 else (head, False)]
    positions = [size * k // WINDOWS for k in range(1, WINDOWS)] + [size - WINDOW_BYTES]
    for position in positions:
        if position < SAMPLE_BYTES:
            continue
        handle.seek(position)
        window = handle.read(WINDOW_BYTES)
        first = window.find(b"\n")
        last = len(window) - 1 if position + len(window) >= size else window.rfind(b"\n")
        if 0 <= first < last:
            samples.append((window[first + 1 : last + 1], True))
    return samples


def _decodes(samples: list[tuple[bytes, bool]], encoding: str) -> bool:
    for data, final in samples:
        try:
            codecs.getincrementaldecoder(encoding)().decode(data, final=final)
        except UnicodeDecodeError:
            return False
    return True


_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030``: the encodings the contract allows.

    UTF-8 is tried before GB18030 because it is strict: GB18030 text is almost never valid
    UTF-8, while nearly any bytes are valid GB18030. The decision rests on the head of the
    file and a few windows further on, never on the whole file.
    """
    with path.open("rb") as handle:
        size = path.stat().st_size
        samples = _samples(handle, size)
    head = samples[0][0]
    for bom, name in _OTHER_BOMS:
        if head.startswith(bom):
            raise UnreadableFile(path, f"不支持 {name} 编码", f"{name} is not supported")
    if any(b"\x00" in data for data, _ in samples):
        raise UnreadableFile(path, "不是文本文件", "not a text file")
    if head.startswith(codecs.BOM_UTF8):
        if _decodes(samples, "utf-8"):
            return "utf-8-sig"
        raise UnreadableFile(
            path, "有 UTF-8 标记但内容不是 UTF-8", "has a UTF-8 byte-order mark but is not UTF-8"
        )
    for encoding in ("utf-8", "gb18030"):
        if _decodes(samples, encoding):
            return encoding
    raise UnreadableFile(
        path, "既不是 UTF-8 也不是 GB18030 编码", "encoded neither in UTF-8 nor in GB18030"
    )


def _no_header(path: Path) -> UnreadableFile:
    return UnreadableFile(path, "文件为空或没有表头", "empty file or no header")


def _csv_header(path: Path, encoding: str) -> tuple[list[str], int, bool]:
    """The header row, the number of physical lines it takes (Arrow skips lines, not
    records) and whether any data row may follow (Arrow refuses to skip a header that is
    the whole file, so a header-only file must not reach it)."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        at_end = not handle.read(1)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=at_end)
    if not at_end and "\n" not in text:
        raise UnreadableFile(path, "表头过长", "header line too long")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error:
        raise UnreadableFile(path, "表头格式错误", "malformed header") from None
    if not header or not any(h.strip() for h in header):
        raise _no_header(path)
    lines = reader.line_num
    try:
        has_rows = not at_end or any(row for row in reader)
    except csv.Error:
        has_rows = True  # Arrow will say what is wrong
    return header, lines, has_rows


def _open_csv(path: Path, feed: Feed) -> FeedSource:
    encoding = detect_encoding(path)
    header, lines, has_rows = _csv_header(path, encoding)
    layout = _layout(path, feed, header)
    return _CsvSource(
        feed.name,
        path,
        "csv",
        encoding,
        [ROW, *layout.columns],
        layout.header_map,
        layout.missing,
        width=len(header),
        skip_rows=lines,
        has_rows=has_rows,
    )


def _open_parquet(path: Path, feed: Feed) -> FeedSource:
    try:
        with pq.ParquetFile(path) as parquet:
            headers = list(parquet.schema_arrow.names)
    except Exception:
        raise _corrupt(path, "Parquet") from None
    if not headers:
        raise _no_header(path)
    layout = _layout(path, feed, headers)
    return _ParquetSource(
        feed.name, path, "parquet", None, [ROW, *layout.columns], layout.header_map, layout.missing
    )


def _load_workbook(path: Path) -> Any:
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # style and validation warnings mean nothing here
        return load_workbook(path, read_only=True, data_only=True)


def _open_xlsx(path: Path, feed: Feed) -> FeedSource:
    try:
        workbook = _load_workbook(path)
    except Exception:
        raise _corrupt(path, "Excel") from None
    try:
        if not workbook.worksheets:
            raise UnreadableFile(path, "没有工作表", "no worksheet")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        first = next(sheet.iter_rows(max_row=1, values_only=True), ())
    except UnreadableFile:
        raise
    except Exception:
        raise _corrupt(path, "Excel") from None
    finally:
        workbook.close()
    header = [cell_text(v) or "" for v in first]
    while header and not header[-1].strip():
        header.pop()  # formatted but empty cells after the last header
    if not header:
        raise _no_header(path)
    layout = _layout(path, feed, header)
    return _XlsxSource(
        feed.name,
        path,
        "xlsx",
        None,
        [ROW, *layout.columns],
        layout.header_map,
        layout.missing,
        width=len(header),
    )


def _open_jsonl(path: Path, feed: Feed) -> FeedSource:
    """A first pass collects every key in the file, so the schema is known before the rows
    stream; keys then keep the order in which they first appear. An empty file is a feed
    with no rows (JSON lines have no header to be missing)."""
    keys: dict[str, None] = {}
    with path.open("rb") as handle:
        for line in _json_lines(handle):
            if isinstance(line, UnreadableLine):
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict):
                keys.update(dict.fromkeys(record))
    headers = list(keys)
    layout = _layout(path, feed, headers, merge=True)
    columns = layout.columns
    index = {column: i for i, column in enumerate(columns)}
    return _JsonlSource(
        feed.name,
        path,
        "jsonl",
        None,
        [ROW, *columns, PARSE_ERROR],
        layout.header_map,
        layout.missing,
        key_index={key: index[name] for key, name in zip(headers, layout.names, strict=True)},
    )


_OPENERS: dict[str, Callable[[Path, Feed], FeedSource]] = {
    "csv": _open_csv,
    "parquet": _open_parquet,
    "xlsx": _open_xlsx,
    "jsonl": _open_jsonl,
}


def open_feed(path: Path) -> FeedSource:
    """Open one delivery file named ``<feed>.<ext>``; read its header, not its rows.

    Raises :class:`UnreadableFile` for a name the contract does not know, a file that
    is missing or empty, has no header, is in no accepted encoding or is corrupt, and for
    two headers that map to the same contract column.
    """
    problem = _name_problem(path)
    if problem is not None:
        raise UnreadableFile(path, *problem)
    if not path.is_file():
        raise UnreadableFile(path, "文件不存在", "no such file")
    fmt = path.suffix.lower().removeprefix(".")
    try:
        if path.stat().st_size == 0 and fmt != "jsonl":
            raise _no_header(path)
        return _OPENERS[fmt](path, FEEDS[path.stem.lower()])
    except OSError as error:
        raise _read_failed(path, error) from None


def _hidden(path: Path) -> bool:
    """Dot files, and the ``~$`` lock files Office leaves next to an open workbook."""
    return path.name.startswith((".", "~$"))


def list_delivery(directory: Path) -> tuple[list[Path], list[tuple[Path, str, str]]]:
    """The feed files at the top of a delivery folder, and those it cannot take.

    Returns the feed files (sorted) and, for every other visible file, ``(path, reason_zh,
    reason_en)``. Subfolders (such as the simulator's ``truth/``) and hidden files are not
    part of a delivery and are skipped silently. Two files for one feed (``tax.csv`` and
    ``tax.parquet``) are both refused: which one holds the delivery is for a person to say.
    """
    if not directory.is_dir():
        raise UnreadableFile(directory, "不是文件夹", "not a folder")
    files: list[Path] = []
    rejected: list[tuple[Path, str, str]] = []
    by_feed: dict[str, list[Path]] = {}
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not _hidden(p)):
        problem = _name_problem(path)
        if problem is None:
            by_feed.setdefault(path.stem.lower(), []).append(path)
        else:
            rejected.append((path, *problem))
    for feed, paths in by_feed.items():
        if len(paths) == 1:
            files.extend(paths)
            continue
        names = [p.name for p in paths]
        for path in paths:
            rejected.append(
                (
                    path,
                    f"数据项 {feed} 有多个文件：{'、'.join(names)}",
                    f"several files for feed '{feed}': {', '.join(names)}",
                )
            )
    return sorted(files), sorted(rejected)

"""The feed validator, compiled to one SQL ``SELECT`` per feed, for DuckDB or Spark.

Why SQL: a delivery may hold tens of millions of rows, and checking them row by row in
Python would take longer than the rest of the load. Each contract column's rule is turned
into vectorised SQL expressions (regular expressions, casts, check-character arithmetic
and hash joins against small reference tables), so validation runs close to the speed at
which the engine reads the file.

Why generated: every rule comes from the contract declaration (:mod:`puhui.ingest.contract`).
There is exactly one place per :class:`~puhui.ingest.contract.Kind` that says how a value of
that kind is checked and typed (``_PLANNERS``), and one table of reasons
(:data:`CHECK_MESSAGES`). The only rule that is not per column is declared in
:data:`CROSS_RULES`.

One generator, two dialects: the planners write portable SQL and ask a :class:`SqlDialect`
(:data:`DUCKDB`, the default, or :data:`SPARK`) for the few pieces engines spell
differently, so a rule is written once and means the same on both engines.

Shape of the query :func:`compile_checks` returns, one output row per input row:

* ``_row``: passed through from the source;
* one typed column per contract column, named by its contract name (NULL where the value
  is empty, the column is absent, or the value breaks its rule);
* every other source column, unchanged (including ``_parse_error`` when present);
* ``_error_column``: contract name of the first failing column in contract order
  (``_line`` when the reader could not parse the line), NULL for a good row;
* ``_error_code``: the failure kind, a key of :data:`CHECK_MESSAGES`;
* ``_error_zh`` / ``_error_en``: the reason in plain words.

Rows come out in no particular order; sort by ``_row`` when order matters.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from puhui.identifiers import RIC_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS
from puhui.ingest.contract import Column, Feed, Kind
from puhui.reference.data import division_uses, industry_class_codes

#: Source row number (1-based data row of the file), passed through.
ROW = "_row"
#: Set by a reader on a line it could not parse (bad JSON); the whole row fails.
PARSE_ERROR = "_parse_error"
#: ``_error_column`` of a row whose line could not be parsed.
LINE = "_line"
ERROR_COLUMN = "_error_column"
ERROR_CODE = "_error_code"
ERROR_ZH = "_error_zh"
ERROR_EN = "_error_en"
OUTPUT_META = (ROW, ERROR_COLUMN, ERROR_CODE, ERROR_ZH, ERROR_EN)

#: Reference tables created by :func:`register_reference`; each has a unique ``code``.
REF_DIVISION_CODES = "puhui_ref_division_code"
REF_DIVISION_SPANS = "puhui_ref_division_span"
REF_INDUSTRY_CLASSES = "puhui_ref_industry_class"

#: Separates column and failure code in the query's failure keys.
_SEP = "\t"

#: Prefix of the query's working columns; a source column may not start with it.
_INTERNAL = "__puhui_"

#: Characters trimmed from both ends of every cell: ASCII blanks and controls, NBSP and the
#: ideographic space that Chinese office software pads cells with.
_TRIM_CHARS = "".join(map(chr, range(1, 33))) + "\u00a0\u3000"

#: The SQL type of each kind's typed column.
SQL_TYPES: dict[Kind, str] = {
    Kind.TEXT: "VARCHAR",
    Kind.USCC: "VARCHAR",
    Kind.PERSON_ID: "VARCHAR",
    Kind.PARTY_ID: "VARCHAR",
    Kind.DATE: "DATE",
    Kind.PERIOD: "VARCHAR",
    Kind.YEAR: "INTEGER",
    Kind.INT: "INTEGER",
    Kind.NUMBER: "DOUBLE",
    Kind.MONEY: "DECIMAL(18,2)",
    Kind.MONEY_WAN: "DECIMAL(18,4)",
    Kind.RATE: "DOUBLE",
    Kind.RATIO: "DOUBLE",
    Kind.BOOL: "BOOLEAN",
    Kind.ENUM: "VARCHAR",
    Kind.INDUSTRY: "VARCHAR",
    Kind.DIVISION: "VARCHAR",
    Kind.VILLAGE: "VARCHAR",
    Kind.LON: "DOUBLE",
    Kind.LAT: "DOUBLE",
}

#: Kinds whose values are codes: compared upper-cased (``x`` and ``X`` are the same check).
_UPPER_KINDS = frozenset({Kind.USCC, Kind.PERSON_ID, Kind.PARTY_ID})

#: Bounds that hold for a kind whatever the column declares (mainland China, WGS84).
KIND_BOUNDS: dict[Kind, tuple[float | None, float | None]] = {
    Kind.LON: (73.0, 136.0),
    Kind.LAT: (3.0, 54.0),
    Kind.YEAR: (1900.0, 2100.0),
}

#: The largest magnitude each numeric type holds (DECIMAL(18,s) and INTEGER).
_TYPE_LIMITS: dict[Kind, float] = {
    Kind.INT: 2_147_483_647.0,
    Kind.MONEY: 1e16,
    Kind.MONEY_WAN: 1e14,
}

#: Spellings of a boolean (compared lower-cased).
BOOL_TRUE = ("true", "是", "1", "yes")
BOOL_FALSE = ("false", "否", "0", "no")

# Regular expressions, whole-value matches, in the common subset of RE2 (DuckDB) and Java
# (Spark): character classes, counted repeats, groups, alternation.
_USCC_CHAR = "[0-9A-HJ-NPQRTUWXY]"
USCC_PATTERN = f"{_USCC_CHAR}{{2}}[0-9]{{6}}{_USCC_CHAR}{{10}}"
#: The common USCC whose first 17 characters are digits (checked by arithmetic).
USCC_DIGITS_PATTERN = f"[0-9]{{17}}{_USCC_CHAR}"
PERSON_ID_PATTERN = "[0-9]{17}[0-9X]"
DATE_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}/[0-9]{2}/[0-9]{2}|[0-9]{8}"
PERIOD_PATTERN = "[0-9]{4}-(0[1-9]|1[0-2])"
YEAR_PATTERN = "[0-9]{4}"
#: Plain decimal text: optional sign, digits with at most one point, optional exponent.
#: No thousands separators, no underscores, no words (``inf``/``nan`` are not numbers here).
NUMBER_PATTERN = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
DIVISION_PATTERN = "[0-9]{6}"
VILLAGE_PATTERN = "[0-9]{12}"

#: Every reason a value can fail, as (zh, en) templates. Placeholders: ``{alias}`` (the
#: column's Chinese header), ``{name}`` (its contract name), ``{minimum}``, ``{maximum}``,
#: ``{choices}``, and for cross-column rules ``{other_alias}``, ``{other}``, ``{value}``,
#: ``{value_zh}``.
CHECK_MESSAGES: dict[str, tuple[str, str]] = {
    "bad_line": (
        "该行无法解析（不是有效的一行数据）",
        "the line could not be parsed (not a valid record)",
    ),
    "column_absent": ("文件缺少必填列{alias}", "required column {name} is absent from the file"),
    "missing": ("{alias}为空（必填）", "{name} is required but empty"),
    "required_when": (
        "{other_alias}为{value_zh}时{alias}必填",
        "{name} is required when {other} is {value}",
    ),
    "uscc_format": (
        "{alias}不是18位统一社会信用代码",
        "{name} is not an 18-character unified social credit code",
    ),
    "uscc_check": (
        "{alias}校验位错误",
        "{name}: unified social credit code has a wrong check character",
    ),
    "person_id_format": (
        "{alias}不是18位居民身份证号码",
        "{name} is not an 18-character resident identity number",
    ),
    "person_id_check": (
        "{alias}校验位错误",
        "{name}: resident identity number has a wrong check character",
    ),
    "person_id_birth_date": (
        "{alias}中的出生日期不存在",
        "{name}: resident identity number has an impossible birth date",
    ),
    "person_id_birth_place": (
        "{alias}中的出生地代码在出生年份不是有效的行政区划",
        "{name}: resident identity number has a birth place code not in use in the birth year",
    ),
    "party_id_format": (
        "{alias}既不是统一社会信用代码也不是居民身份证号码",
        "{name} is neither a unified social credit code nor a resident identity number",
    ),
    "date_format": (
        "{alias}不是日期（应为YYYY-MM-DD、YYYY/MM/DD或YYYYMMDD）",
        "{name} is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
    ),
    "date_invalid": ("{alias}日期不存在", "{name} is a date that does not exist"),
    "period_format": (
        "{alias}不是所属期（应为YYYY-MM，月份01至12）",
        "{name} is not a period (YYYY-MM, month 01 to 12)",
    ),
    "year_format": ("{alias}不是四位年份", "{name} is not a 4-digit year"),
    "not_a_number": ("{alias}不是数字", "{name} is not a number"),
    "not_an_integer": ("{alias}不是整数", "{name} is not a whole number"),
    "out_of_range": ("{alias}数值过大", "{name} is too large"),
    "below_minimum": ("{alias}小于{minimum}", "{name} is below {minimum}"),
    "above_maximum": ("{alias}大于{maximum}", "{name} is above {maximum}"),
    "not_a_bool": (
        "{alias}不是是/否（应为是/否、true/false、1/0、yes/no）",
        "{name} is not a yes/no value (true/false, 是/否, 1/0, yes/no)",
    ),
    "unknown_code": (
        "{alias}不是允许的取值（{choices}）",
        "{name} is not one of the allowed values ({choices})",
    ),
    "unknown_industry": (
        "{alias}不是GB/T 4754-2017行业小类代码",
        "{name} is not a GB/T 4754-2017 industry class code",
    ),
    "division_format": ("{alias}不是6位数字", "{name} is not 6 digits"),
    "unknown_division": (
        "{alias}不是GB/T 2260行政区划代码",
        "{name} is not a GB/T 2260 administrative division code",
    ),
    "village_format": ("{alias}不是12位数字", "{name} is not 12 digits"),
    "unknown_village": (
        "{alias}的前6位不是GB/T 2260行政区划代码",
        "{name} does not start with a GB/T 2260 administrative division code",
    ),
}


@dataclass(frozen=True, slots=True)
class RequiredWhen:
    """A column that is required when another column of the same row holds a value.

    ``value`` is compared with the other column's typed value, i.e. after alias mapping.
    """

    feed: str
    column: str
    other: str
    value: str


#: The contract's cross-column rules (feeds.md: "closed_on … required when cancelled").
CROSS_RULES: tuple[RequiredWhen, ...] = (
    RequiredWhen("registrations", "closed_on", "status", "cancelled"),
)


# --------------------------------------------------------------------------- reference


def _merged_spans() -> list[tuple[str, int, int]]:
    """Division uses as disjoint year spans per code, so a join on (code, year) is unique.

    Open ends become 0 and 9999; overlapping or adjacent uses of a code are merged, which
    keeps stdnum's meaning (valid if any use covers the year).
    """
    by_code: dict[str, list[tuple[int, int]]] = {}
    for use in division_uses():
        start = use.valid_from if use.valid_from is not None else 0
        end = use.valid_to if use.valid_to is not None else 9999
        by_code.setdefault(use.code, []).append((start, end))
    spans: list[tuple[str, int, int]] = []
    for code, ranges in sorted(by_code.items()):
        ranges.sort()
        current_start, current_end = ranges[0]
        for start, end in ranges[1:]:
            if start <= current_end + 1:
                current_end = max(current_end, end)
            else:
                spans.append((code, current_start, current_end))
                current_start, current_end = start, end
        spans.append((code, current_start, current_end))
    return spans


def reference_tables() -> dict[str, pa.Table]:
    """The reference tables the compiled checks join against, by name, as Arrow tables.

    ``puhui_ref_division_code(code)``: every GB/T 2260 code stdnum knows, any year;
    ``puhui_ref_division_span(code, valid_from, valid_to)``: the years each code was in use;
    ``puhui_ref_industry_class(code)``: GB/T 4754-2017 4-character class codes.
    """
    spans = _merged_spans()
    return {
        REF_DIVISION_SPANS: pa.table(
            {
                "code": pa.array([s[0] for s in spans], pa.string()),
                "valid_from": pa.array([s[1] for s in spans], pa.int32()),
                "valid_to": pa.array([s[2] for s in spans], pa.int32()),
            }
        ),
        REF_DIVISION_CODES: pa.table(
            {"code": pa.array(sorted({s[0] for s in spans}), pa.string())}
        ),
        REF_INDUSTRY_CLASSES: pa.table(
            {"code": pa.array(sorted(industry_class_codes()), pa.string())}
        ),
    }


def register_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the tables of :func:`reference_tables` in a DuckDB database.

    Call once per connection before running a query from :func:`compile_checks`.
    """
    for name, table in reference_tables().items():
        view = f"{_INTERNAL}load_{name}"
        con.register(view, table)
        try:
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {view}")
        finally:
            con.unregister(view)


# --------------------------------------------------------------------------- SQL helpers


#: The characters DuckDB's one-argument ``trim`` removes: the Unicode space separators
#: (category Zs), not tabs or line breaks. Spark's ``trim`` removes only U+0020, so the Spark
#: dialect names them.
SPACE_SEPARATORS = (
    "\u0020\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
)


@dataclass(frozen=True, slots=True)
class SqlDialect:
    """How one SQL engine spells the few pieces the generated SQL cannot write portably.

    The checks (and the loader's stored form, key and record) are generated once, as SQL
    text; a piece whose spelling differs between engines goes through one of the templates
    below (``str.format`` placeholders in braces). Everything else — CASE, substr, coalesce,
    lower/upper, casts to the common types, LEFT JOIN against the reference tables,
    ``split_part``, ``year`` — is written the same way for every engine.

    The DuckDB text is not translated to Spark with SQLGlot: it mistranslated ``ord``,
    ``string[-1]``, ``isfinite`` and ``regexp_full_match``, and a check that silently means
    something else on one engine is worse than one that fails to parse.
    """

    name: str
    #: identifier quote character (doubled inside a name)
    identifier_quote: str
    #: whether a string literal reads backslash escapes (Spark: ``'\\n'`` is a newline)
    backslash_escapes: bool
    #: ``{value}`` matches all of ``{pattern}`` (a string literal, already anchored)
    full_match: str
    #: how a pattern is anchored so the match covers the whole value; ``{pattern}`` is raw
    anchored: str
    #: ``{value}`` (8 characters ``YYYYMMDD``) as a date (DuckDB: a TIMESTAMP), NULL when it
    #: is no real date
    yyyymmdd: str
    #: integer division of ``{a}`` by ``{b}`` (non-negative integers)
    int_div: str
    #: code point of the first character of ``{value}`` (of an empty text: 0 or less)
    code_point: str
    #: the last character of ``{value}``
    last_char: str
    #: ``{value}`` with every character of ``{chars}`` (a literal) removed from both ends
    trim_chars: str
    #: ``{value}`` with the Unicode space separators removed from both ends
    trim_spaces: str
    #: 1-based position of ``{part}`` in ``{text}``, 0 when absent
    strpos: str
    #: whether the DOUBLE ``{x}`` is neither infinite nor NaN
    is_finite: str
    #: whether the finite DOUBLE ``{x}`` has a fractional part
    is_fraction: str
    #: JSON object text of ``{pairs}`` (``key, value, …``), NULL values kept as ``null``
    json_object: str
    #: JSON object text of no pairs
    empty_json_object: str
    #: 64-bit hash of the values ``{columns}`` (with ``{nulls}``: which of them are NULL)
    row_hash: str
    #: engine names of the DuckDB type names of :data:`SQL_TYPES` and the warehouse
    type_renames: tuple[tuple[str, str], ...] = ()
    #: whether a text whose first and last characters are ASCII digits and which holds no
    #: ``_`` is plain decimal text (:data:`NUMBER_PATTERN`) whenever the engine's cast to
    #: DOUBLE accepts it: such a value is then cast without matching the pattern, which
    #: costs more than the rest of a number's checks (``tests/ingest`` fuzz this claim)
    digits_cast_plainly: bool = False

    def quote(self, name: str) -> str:
        """An identifier, quoted (column names may be Chinese or hold quotes)."""
        q = self.identifier_quote
        return q + name.replace(q, q + q) + q

    def literal(self, text: str) -> str:
        """A string literal of ``text``."""
        if self.backslash_escapes:
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def match(self, value: str, pattern: str) -> str:
        """Whether all of ``value`` matches the regular expression ``pattern``."""
        anchored = self.literal(self.anchored.format(pattern=pattern))
        return self.full_match.format(value=value, pattern=anchored)

    def sql_type(self, duckdb_type: str) -> str:
        """This engine's name of a DuckDB type name (``VARCHAR`` is Spark's ``STRING``)."""
        return dict(self.type_renames).get(duckdb_type, duckdb_type)

    def json_of(self, pairs: list[tuple[str, str]]) -> str:
        """A JSON object of (key text, value expression) pairs, as text."""
        if not pairs:
            return self.empty_json_object
        items = ", ".join(f"{self.literal(key)}, {value}" for key, value in pairs)
        return self.json_object.format(pairs=items)

    def hash_of(self, columns: list[str]) -> str:
        """A 64-bit fingerprint of the values of ``columns`` (SQL expressions)."""
        nulls = ", ".join(f"{c} IS NULL" for c in columns)
        return self.row_hash.format(columns=", ".join(columns), nulls=nulls)


#: DuckDB: the embedded default engine.
DUCKDB = SqlDialect(
    name="duckdb",
    identifier_quote='"',
    backslash_escapes=False,
    full_match="regexp_full_match({value}, {pattern})",
    anchored="{pattern}",
    yyyymmdd="try_strptime({value}, '%Y%m%d')",
    int_div="{a} // {b}",
    code_point="ord({value})",
    last_char="{value}[-1]",
    trim_chars="trim({value}, {chars})",
    trim_spaces="trim({value})",
    strpos="strpos({text}, {part})",
    is_finite="isfinite({x})",
    is_fraction="{x} <> floor({x})",
    json_object="json_object({pairs})",
    empty_json_object="json_object()",
    # DuckDB's hash() hashes NULL as a value of its own, in its position.
    row_hash="hash({columns})",
    # Its cast also takes 1_000, 0x10, inf, +-1 and 2E3., none of which starts and ends
    # with a digit without an underscore.
    digits_cast_plainly=True,
)

#: Spark SQL (Spark 4, ANSI mode on, as it is by default). Nothing here raises on bad data:
#: values are parsed with the ``try_`` functions, and the plain casts that remain only see
#: text a regular expression has already accepted (CASE evaluates its branches lazily).
SPARK = SqlDialect(
    name="spark",
    identifier_quote="`",
    backslash_escapes=True,
    full_match="({value} RLIKE {pattern})",
    # Java regular expressions: RLIKE finds a match anywhere, and ``$`` would also match
    # before a final line break, so the end is ``\z``. The patterns use no construct
    # that RE2 and Java read differently.
    anchored="^(?:{pattern})\\z",
    # Like DuckDB's strptime: a date that does not exist (20230230) is NULL; year 0 parses.
    yyyymmdd="try_to_date({value}, 'yyyyMMdd')",
    int_div="{a} div {b}",
    # ascii() gives the code point of the first character (12288 for U+3000), 0 for ''.
    code_point="ascii({value})",
    last_char="substr({value}, -1, 1)",
    trim_chars="trim(BOTH {chars} FROM {value})",
    trim_spaces="trim(BOTH '" + SPACE_SEPARATORS + "' FROM {value})",
    strpos="instr({text}, {part})",
    is_finite="(abs({x}) < CAST('Infinity' AS DOUBLE))",
    # floor() of a DOUBLE is a BIGINT in Spark and overflows (an error under ANSI) for 1e300.
    is_fraction="{x} % 1 <> 0",
    json_object="to_json(named_struct({pairs}), map('ignoreNullFields', 'false'))",
    empty_json_object="'{}'",
    # xxhash64 skips NULLs (so (a, NULL) and (NULL, a) would collide): add where they are.
    row_hash="xxhash64({columns}, array({nulls}))",
    type_renames=(("VARCHAR", "STRING"), ("JSON", "STRING"), ("UBIGINT", "BIGINT")),
)


def quote(name: str) -> str:
    """A DuckDB identifier, quoted (column names may be Chinese or hold quotes)."""
    return DUCKDB.quote(name)


def literal(text: str) -> str:
    """A DuckDB string literal."""
    return DUCKDB.literal(text)


def _number(value: float) -> str:
    return repr(float(value))


def _show(value: float) -> str:
    """A bound as people write it: ``0`` rather than ``0.0``."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _digit_sum(d: SqlDialect, n: str, weights: list[int]) -> str:
    """Σ digitᵢ·weightᵢ over the 17 decimal digits of the BIGINT ``n`` (first digit first).

    Integer arithmetic on one cast BIGINT is several times faster in DuckDB than taking
    17 one-character substrings, and check characters are what every row pays for.
    """
    return " + ".join(
        f"({d.int_div.format(a=n, b=10 ** (16 - i))}) % 10 * {w}" if i < 16 else f"{n} % 10 * {w}"
        for i, w in enumerate(weights)
    )


def _body_number(d: SqlDialect, v: str, pattern: str) -> str:
    """The first 17 characters as a BIGINT when ``v`` matches ``pattern`` (17 digits + 1)."""
    return f"CASE WHEN {d.match(v, pattern)} THEN CAST(substr({v}, 1, 17) AS BIGINT) END"


def _uscc_check_ok(d: SqlDialect, v: str, body: str) -> str:
    """Whether the 18th character is the GB 32100 check character of the first 17.

    Each character's value is its position in the USCC alphabet; the weighted sum with
    weights 3^i mod 31 gives the check value (31 - sum mod 31) mod 31. Codes whose body
    is 17 digits (``body``, most codes) take the arithmetic path; others look each
    character up in the alphabet.
    """
    alphabet = d.literal(USCC_ALPHABET)
    weights = [int(w) for w in USCC_WEIGHTS]

    def value(position: int) -> str:
        return f"({d.strpos.format(text=alphabet, part=f'substr({v}, {position}, 1)')} - 1)"

    last = value(18)
    looked_up = " + ".join(f"{value(i + 1)} * {w}" for i, w in enumerate(weights))
    return (
        f"CASE WHEN {body} IS NOT NULL THEN (31 - ({_digit_sum(d, body, weights)}) % 31) % 31"
        f" = {last} WHEN {d.match(v, USCC_PATTERN)} THEN (31 - ({looked_up}) % 31) % 31 = {last}"
        " ELSE FALSE END"
    )


def _person_check_ok(d: SqlDialect, v: str, body: str) -> str:
    """Whether the 18th character is the GB 11643 check character of the 17-digit ``body``.

    Check value (1 - Σ dᵢ·2^(17-i) mod 11) mod 11, written as (1 + 10·Σ) mod 11 so that
    SQL's sign-keeping ``%`` never sees a negative number; 10 is written ``X``.
    """
    digits = _digit_sum(d, body, [int(w) for w in RIC_WEIGHTS])
    return (
        f"coalesce(substr('0123456789X', (1 + 10 * ({digits})) % 11 + 1, 1)"
        f" = substr({v}, 18, 1), FALSE)"
    )


def _birth_date(d: SqlDialect, v: str) -> str:
    """The birth date in characters 7-14 of a person id (NULL when it is no real date)."""
    return f"CAST({d.yyyymmdd.format(value=f'substr({v}, 7, 8)')} AS DATE)"


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class _Join:
    """A LEFT JOIN against a reference table whose ``code`` is unique per match."""

    table: str
    #: ON condition; ``{t}`` stands for the table's alias.
    on: str
    #: name of the part that becomes TRUE when the join found a row
    flag: str


@dataclass
class _Plan:
    """How one column is checked: working expressions, joins, typed value, failures.

    ``parts1`` may use the trimmed value, ``parts2`` also ``parts1``; joins may use both;
    ``typed`` and the failure conditions may use everything. Failures are tried in order
    and only for non-empty values; a code of ``None`` means "passes, stop here".
    """

    typed: str
    parts1: dict[str, str] = field(default_factory=dict)
    parts2: dict[str, str] = field(default_factory=dict)
    joins: list[_Join] = field(default_factory=list)
    failures: list[tuple[str, str | None]] = field(default_factory=list)


class _Names:
    """Working column names of one contract column (index ``i`` in the feed), and the
    dialect the planners spell their SQL in."""

    def __init__(self, index: int, dialect: SqlDialect) -> None:
        self.index = index
        self.d = dialect
        self.v = dialect.quote(f"{_INTERNAL}v{index}")
        #: code points of the raw value's first and last character
        self.first = dialect.quote(f"{_INTERNAL}f{index}")
        self.last = dialect.quote(f"{_INTERNAL}l{index}")
        self.error = dialect.quote(f"{_INTERNAL}e{index}")

    def part(self, name: str) -> str:
        return self.d.quote(f"{_INTERNAL}p{self.index}_{name}")

    def alias(self, k: int) -> str:
        return self.d.quote(f"{_INTERNAL}j{self.index}_{k}")


Planner = Callable[[Column, _Names], _Plan]


def _plan_text(column: Column, n: _Names) -> _Plan:
    return _Plan(typed=n.v)


def _uscc_parts(n: _Names) -> tuple[dict[str, str], dict[str, str]]:
    body = n.part("uscc_body")
    return (
        {body: _body_number(n.d, n.v, USCC_DIGITS_PATTERN)},
        {n.part("uscc_ok"): _uscc_check_ok(n.d, n.v, body)},
    )


def _plan_uscc(column: Column, n: _Names) -> _Plan:
    parts1, parts2 = _uscc_parts(n)
    return _Plan(
        typed=n.v,
        parts1=parts1,
        parts2=parts2,
        failures=[
            (n.part("uscc_ok"), None),
            (f"NOT {n.d.match(n.v, USCC_PATTERN)}", "uscc_format"),
            ("TRUE", "uscc_check"),
        ],
    )


def _person_parts(n: _Names) -> tuple[dict[str, str], dict[str, str], _Join]:
    body, birth = n.part("pid_body"), n.part("pid_birth")
    parts1 = {
        body: _body_number(n.d, n.v, PERSON_ID_PATTERN),
        n.part("pid_place"): f"substr({n.v}, 1, 6)",
    }
    parts2 = {
        birth: f"CASE WHEN {body} IS NOT NULL THEN {_birth_date(n.d, n.v)} END",
        n.part("pid_check"): _person_check_ok(n.d, n.v, body),
    }
    join = _Join(
        REF_DIVISION_SPANS,
        f"{{t}}.code = {n.part('pid_place')} AND year({birth}) "
        "BETWEEN {t}.valid_from AND {t}.valid_to",
        n.part("pid_placed"),
    )
    return parts1, parts2, join


def _person_failures(n: _Names) -> list[tuple[str, str | None]]:
    return [
        (f"{n.part('pid_body')} IS NULL", "person_id_format"),
        (f"NOT {n.part('pid_check')}", "person_id_check"),
        (
            f"{n.part('pid_birth')} IS NULL OR year({n.part('pid_birth')}) < 1",
            "person_id_birth_date",
        ),
        (f"NOT {n.part('pid_placed')}", "person_id_birth_place"),
    ]


def _plan_person_id(column: Column, n: _Names) -> _Plan:
    parts1, parts2, join = _person_parts(n)
    return _Plan(
        typed=n.v, parts1=parts1, parts2=parts2, joins=[join], failures=_person_failures(n)
    )


def _plan_party_id(column: Column, n: _Names) -> _Plan:
    """A USCC or a person id: valid if it is either.

    The reason for a value that is neither follows its form: one with the person-id form
    (17 digits, digit or X, a real birth date) is judged as a person id, any other as a
    USCC. Accepting either (rather than judging by form alone) keeps valid USCCs whose
    characters 7-14 happen to read as a date.
    """
    p1, p2, join = _person_parts(n)
    u1, u2 = _uscc_parts(n)
    birth = n.part("pid_birth")
    person_ok = f"({n.part('pid_check')} AND year({birth}) >= 1 AND {n.part('pid_placed')})"
    person_form = f"({birth} IS NOT NULL AND year({birth}) >= 1)"
    return _Plan(
        typed=n.v,
        parts1={**p1, **u1},
        parts2={**p2, **u2},
        joins=[join],
        failures=[
            (f"{n.part('uscc_ok')} OR {person_ok}", None),
            (f"{person_form} AND NOT {n.part('pid_check')}", "person_id_check"),
            (person_form, "person_id_birth_place"),
            (n.d.match(n.v, USCC_PATTERN), "uscc_check"),
            ("TRUE", "party_id_format"),
        ],
    )


def _plan_date(column: Column, n: _Names) -> _Plan:
    fmt, day = n.part("fmt"), n.part("date")
    iso = (
        f"CASE WHEN length({n.v}) = 8 THEN substr({n.v}, 1, 4) || '-' || substr({n.v}, 5, 2)"
        f" || '-' || substr({n.v}, 7, 2) ELSE replace({n.v}, '/', '-') END"
    )
    return _Plan(
        typed=day,
        parts1={fmt: n.d.match(n.v, DATE_PATTERN)},
        parts2={day: f"CASE WHEN {fmt} THEN try_cast({iso} AS DATE) END"},
        failures=[(f"NOT {fmt}", "date_format"), (f"{day} IS NULL", "date_invalid")],
    )


def _plan_period(column: Column, n: _Names) -> _Plan:
    return _Plan(typed=n.v, failures=[(f"NOT {n.d.match(n.v, PERIOD_PATTERN)}", "period_format")])


def _bounds(column: Column) -> tuple[float | None, float | None]:
    """The tighter of the kind's own bounds and the column's declared minimum/maximum."""
    low, high = KIND_BOUNDS.get(column.kind, (None, None))
    if column.minimum is not None:
        low = column.minimum if low is None else max(low, column.minimum)
    if column.maximum is not None:
        high = column.maximum if high is None else min(high, column.maximum)
    return low, high


def _bound_failures(column: Column, x: str) -> list[tuple[str, str | None]]:
    low, high = _bounds(column)
    failures: list[tuple[str, str | None]] = []
    if low is not None:
        failures.append((f"{x} < {_number(low)}", "below_minimum"))
    if high is not None:
        failures.append((f"{x} > {_number(high)}", "above_maximum"))
    return failures


def _plan_year(column: Column, n: _Names) -> _Plan:
    fmt, year = n.part("fmt"), n.part("year")
    return _Plan(
        typed=year,
        parts1={fmt: n.d.match(n.v, YEAR_PATTERN)},
        parts2={year: f"CASE WHEN {fmt} THEN CAST({n.v} AS INTEGER) END"},
        failures=[(f"NOT {fmt}", "year_format"), *_bound_failures(column, year)],
    )


def _plan_numeric(column: Column, n: _Names) -> _Plan:
    """Numbers of every kind: plain decimal text, then type limits and bounds.

    The regular expression decides what is a number (DuckDB's cast alone would accept
    ``1_000``, ``inf`` or ``0x10``); the cast to DOUBLE gives the value for the bounds, and
    the typed value is cast from the text so that money keeps its exact cents.
    """
    x = n.part("x")
    failures: list[tuple[str, str | None]] = [
        (f"{x} IS NULL", "not_a_number"),
        (f"NOT {n.d.is_finite.format(x=x)}", "out_of_range"),
    ]
    if column.kind is Kind.INT:
        failures.append((n.d.is_fraction.format(x=x), "not_an_integer"))
    limit = _TYPE_LIMITS.get(column.kind)
    if limit is not None:
        failures.append((f"abs({x}) >= {_number(limit)}", "out_of_range"))
    failures += _bound_failures(column, x)
    sql_type = SQL_TYPES[column.kind]
    if column.kind is Kind.INT:
        typed = f"CAST({x} AS INTEGER)"
    elif sql_type.startswith("DECIMAL"):
        typed = f"try_cast({n.v} AS {n.d.sql_type(sql_type)})"
    else:
        typed = x
    cast = f"try_cast({n.v} AS DOUBLE)"
    parsed = [(n.d.match(n.v, NUMBER_PATTERN), cast)]
    if n.d.digits_cast_plainly:
        # Most cells are digits with a point: a value that starts and ends with a digit
        # needed no trimming, and the cast alone decides (SqlDialect.digits_cast_plainly).
        digits = " AND ".join(f"{c} BETWEEN 48 AND 57" for c in (n.first, n.last))
        parsed.insert(0, (f"{digits} AND NOT contains({n.v}, '_')", cast))
    return _Plan(typed=typed, parts1={x: _case(parsed)}, failures=failures)


def _plan_bool(column: Column, n: _Names) -> _Plan:
    b = n.part("b")
    whens = (
        " ".join(f"WHEN {n.d.literal(t)} THEN TRUE" for t in BOOL_TRUE)
        + " "
        + " ".join(f"WHEN {n.d.literal(f)} THEN FALSE" for f in BOOL_FALSE)
    )
    return _Plan(
        typed=b,
        parts1={b: f"CASE lower({n.v}) {whens} END"},
        failures=[(f"{b} IS NULL", "not_a_bool")],
    )


def enum_spellings(column: Column) -> dict[str, str]:
    """Every accepted spelling (lower-cased) of an enum column -> its contract value.

    The contract value (any letter case) and its Chinese alias are both accepted.
    """
    spellings: dict[str, str] = {}
    for value, alias in column.choices.items():
        spellings.setdefault(value.lower(), value)
        spellings.setdefault(alias.lower(), value)
    return spellings


def _plan_enum(column: Column, n: _Names) -> _Plan:
    code = n.part("code")
    whens = " ".join(
        f"WHEN {n.d.literal(spelling)} THEN {n.d.literal(value)}"
        for spelling, value in enum_spellings(column).items()
    )
    return _Plan(
        typed=code,
        parts1={code: f"CASE lower({n.v}) {whens} END"},
        failures=[(f"{code} IS NULL", "unknown_code")],
    )


def _plan_industry(column: Column, n: _Names) -> _Plan:
    found = n.part("found")
    return _Plan(
        typed=n.v,
        joins=[_Join(REF_INDUSTRY_CLASSES, f"{{t}}.code = {n.v}", found)],
        failures=[(f"NOT {found}", "unknown_industry")],
    )


def _plan_division(column: Column, n: _Names) -> _Plan:
    found = n.part("found")
    return _Plan(
        typed=n.v,
        joins=[_Join(REF_DIVISION_CODES, f"{{t}}.code = {n.v}", found)],
        failures=[
            (f"NOT {n.d.match(n.v, DIVISION_PATTERN)}", "division_format"),
            (f"NOT {found}", "unknown_division"),
        ],
    )


def _plan_village(column: Column, n: _Names) -> _Plan:
    found = n.part("found")
    return _Plan(
        typed=n.v,
        joins=[_Join(REF_DIVISION_CODES, f"{{t}}.code = substr({n.v}, 1, 6)", found)],
        failures=[
            (f"NOT {n.d.match(n.v, VILLAGE_PATTERN)}", "village_format"),
            (f"NOT {found}", "unknown_village"),
        ],
    )


#: The one place per kind that says how its values are checked and typed.
_PLANNERS: dict[Kind, Planner] = {
    Kind.TEXT: _plan_text,
    Kind.USCC: _plan_uscc,
    Kind.PERSON_ID: _plan_person_id,
    Kind.PARTY_ID: _plan_party_id,
    Kind.DATE: _plan_date,
    Kind.PERIOD: _plan_period,
    Kind.YEAR: _plan_year,
    Kind.INT: _plan_numeric,
    Kind.NUMBER: _plan_numeric,
    Kind.MONEY: _plan_numeric,
    Kind.MONEY_WAN: _plan_numeric,
    Kind.RATE: _plan_numeric,
    Kind.RATIO: _plan_numeric,
    Kind.LON: _plan_numeric,
    Kind.LAT: _plan_numeric,
    Kind.BOOL: _plan_bool,
    Kind.ENUM: _plan_enum,
    Kind.INDUSTRY: _plan_industry,
    Kind.DIVISION: _plan_division,
    Kind.VILLAGE: _plan_village,
}


# --------------------------------------------------------------------------- messages


def failure_codes(feed: Feed, column: Column) -> list[str]:
    """Every failure code the compiled checks can give ``column`` (in no meaningful order)."""
    codes = ["missing", "column_absent"]
    plan = _PLANNERS[column.kind](column, _Names(0, DUCKDB))
    codes += [code for _, code in plan.failures if code]
    codes += ["required_when" for rule in CROSS_RULES if _rule_applies(rule, feed, column)]
    return list(dict.fromkeys(codes))


def _rule_applies(rule: RequiredWhen, feed: Feed, column: Column) -> bool:
    return rule.feed == feed.name and rule.column == column.name


def render_message(feed: Feed, column: str, code: str) -> tuple[str, str]:
    """The (zh, en) reason for ``code`` on ``column`` of ``feed``, placeholders filled."""
    zh, en = CHECK_MESSAGES[code]
    if column == LINE:
        return zh, en
    col = feed.column(column)
    low, high = _bounds(col)
    values: dict[str, str] = {
        "alias": col.alias,
        "name": col.name,
        "minimum": _show(low) if low is not None else "",
        "maximum": _show(high) if high is not None else "",
        "choices": "、".join(v if v == a else f"{v}/{a}" for v, a in col.choices.items()),
    }
    for rule in CROSS_RULES:
        if _rule_applies(rule, feed, col):
            other = feed.column(rule.other)
            values |= {
                "other": other.name,
                "other_alias": other.alias,
                "value": rule.value,
                "value_zh": other.choices.get(rule.value, rule.value),
            }
    return zh.format(**values), en.format(**values)


# --------------------------------------------------------------------------- compiler


def _trimmed(d: SqlDialect, name: str, first: str, last: str) -> str:
    """``name`` without surrounding whitespace; trims only values that need it.

    ``trim`` with a character set costs as much as the rest of a column's checks, and
    almost no cell has anything to trim, so look at the code points of the first and last
    character (``first``, ``last``: computed one layer below, so each is taken once and
    compared with plain integers; an IN list of 35 codes became a join per column).
    """

    def blank(code: str) -> str:
        # A code point of _TRIM_CHARS, or 0 (an empty text's).
        return f"{code} <= 32 OR {code} IN ({_WIDE_BLANKS})"

    trimmed = d.trim_chars.format(value=name, chars=d.literal(_TRIM_CHARS))
    return f"CASE WHEN {blank(first)} OR {blank(last)} THEN {trimmed} ELSE {name} END"


#: :data:`_TRIM_CHARS` are the code points 1-32 and these, as SQL.
_WIDE_BLANKS = ", ".join(str(c) for c in sorted(set(map(ord, _TRIM_CHARS)) - set(range(1, 33))))


def _case(whens: list[tuple[str, str]], default: str = "NULL") -> str:
    if not whens:
        return default
    body = " ".join(f"WHEN {cond} THEN {value}" for cond, value in whens)
    return f"CASE {body} ELSE {default} END"


def compile_checks(
    feed: Feed,
    source: str,
    present: Collection[str],
    dialect: SqlDialect = DUCKDB,
    *,
    only: Collection[str] | None = None,
) -> str:
    """One SELECT, in ``dialect``, that checks and types every row of ``source`` against ``feed``.

    ``source`` is a table or view name, or any SQL relation (e.g. a parenthesised
    subquery or ``read_parquet(...)``) whose columns are all text and named by contract
    names, plus ``_row``. ``present`` names the columns it has: contract columns it lacks
    come out NULL (a required one fails every row with ``column_absent``), columns the
    contract does not know are passed through unchanged. The query needs the tables of
    :func:`reference_tables` under their names, on the same connection or session
    (:func:`register_reference` for DuckDB). The output columns are typed as in
    :data:`SQL_TYPES`, in the dialect's names (:meth:`SqlDialect.sql_type`).

    With ``only``, just those contract (or extension) columns are checked and typed; the
    source's other contract columns pass through unchanged like extra columns, and absent
    ones do not come out. The loader uses this to check some columns row by row and the
    others once per distinct value (:func:`compile_value_checks`).
    """
    d = dialect
    present = list(dict.fromkeys(present))
    if ROW not in present:
        raise ValueError(f"the source must have a {ROW} column")
    clashes = [
        name
        for name in present
        if name.startswith(_INTERNAL) or (name in OUTPUT_META[1:]) or name == ERROR_CODE
    ]
    if clashes:
        raise ValueError(f"source columns clash with the checks' own names: {clashes}")
    # Extensions (columns the platform understands beyond the contract) are checked too.
    columns = (*feed.columns, *feed.extensions)
    if only is not None:
        columns = tuple(col for col in columns if col.name in only)
    contract = {col.name for col in columns}
    extras = [name for name in present if name not in contract and name != ROW]
    has_parse_error = PARSE_ERROR in present

    names = [_Names(i, d) for i in range(len(columns))]
    plans = [_PLANNERS[col.kind](col, n) for col, n in zip(columns, names, strict=True)]
    by_name = {col.name: (col, n, plan) for col, n, plan in zip(columns, names, plans, strict=True)}

    # Layer A0: the code points of each value's first and last character.
    ends = []
    for col, n in zip(columns, names, strict=True):
        if col.name in present:
            text = f"CAST({d.quote(col.name)} AS {d.sql_type('VARCHAR')})"
            ends.append(f"{d.code_point.format(value=text)} AS {n.first}")
            last = d.last_char.format(value=text)
            ends.append(f"{d.code_point.format(value=last)} AS {n.last}")
        else:
            ends += [f"CAST(NULL AS INTEGER) AS {n.first}", f"CAST(NULL AS INTEGER) AS {n.last}"]

    # Layer A: trimmed values, NULL when empty.
    normalized = []
    for col, n in zip(columns, names, strict=True):
        if col.name in present:
            text = f"CAST({d.quote(col.name)} AS {d.sql_type('VARCHAR')})"
            trimmed = f"nullif({_trimmed(d, text, n.first, n.last)}, '')"
            if col.kind in _UPPER_KINDS:
                trimmed = f"upper({trimmed})"
        else:
            trimmed = f"CAST(NULL AS {d.sql_type('VARCHAR')})"
        normalized.append(f"{trimmed} AS {n.v}")

    # Layers B1, B2: working expressions.
    parts1 = [f"{expr} AS {name}" for plan in plans for name, expr in plan.parts1.items()]
    parts2 = [f"{expr} AS {name}" for plan in plans for name, expr in plan.parts2.items()]

    # Layer J: reference joins.
    join_clauses: list[str] = []
    join_flags: list[str] = []
    for n, plan in zip(names, plans, strict=True):
        for k, join in enumerate(plan.joins):
            alias = n.alias(k)
            join_clauses.append(f"LEFT JOIN {join.table} AS {alias} ON {join.on.format(t=alias)}")
            join_flags.append(f"({alias}.code IS NOT NULL) AS {join.flag}")

    # Layer C: each column's failure as a key "<column>\t<code>" (constants only).
    errors = []
    for col, n, plan in zip(columns, names, plans, strict=True):

        def key(code: str, column: str = col.name) -> str:
            return d.literal(f"{column}{_SEP}{code}")

        if col.name not in present and col.required:
            empty = key("column_absent")
        elif col.required:
            empty = key("missing")
        else:
            empty = "NULL"
        for rule in CROSS_RULES:
            if _rule_applies(rule, feed, col):
                _, _, other_plan = by_name[rule.other]
                empty = _case(
                    [(f"({other_plan.typed}) = {d.literal(rule.value)}", key("required_when"))],
                    empty,
                )
        whens = [(f"{n.v} IS NULL", empty)]
        whens += [(cond, key(code) if code else "NULL") for cond, code in plan.failures]
        errors.append(f"{_case(whens)} AS {n.error}")

    # Layer D: typed values, pass-through, and the first failure (coalesce keeps the
    # contract's column order); its words are looked up only for rows that failed.
    first = d.quote(f"{_INTERNAL}first")
    firsts = [n.error for n in names]
    keys: dict[str, tuple[str, str]] = {}
    if has_parse_error:
        line_key = LINE + _SEP + "bad_line"
        parse_error = d.quote(PARSE_ERROR)
        firsts.insert(0, f"CASE WHEN {parse_error} IS NOT NULL THEN {d.literal(line_key)} END")
        keys[line_key] = CHECK_MESSAGES["bad_line"]
    for col in columns:
        for code in failure_codes(feed, col):
            keys[f"{col.name}{_SEP}{code}"] = render_message(feed, col.name, code)
    if not firsts:  # no column checked here: every row passes
        firsts = [f"CAST(NULL AS {d.sql_type('VARCHAR')})"]
    layer_d = f"coalesce({', '.join(firsts)}) AS {first}"

    outputs = [d.quote(ROW)]
    for col, n, plan in zip(columns, names, plans, strict=True):
        sql_type = d.sql_type(SQL_TYPES[col.kind])
        outputs.append(
            f"CAST(CASE WHEN {n.error} IS NULL THEN {plan.typed} END AS {sql_type})"
            f" AS {d.quote(col.name)}"
        )
    outputs += [d.quote(name) for name in extras]

    def lookup(index: int) -> str:
        if not keys:
            return f"CAST(NULL AS {d.sql_type('VARCHAR')})"
        whens = " ".join(
            f"WHEN {d.literal(k)} THEN {d.literal(words[index])}" for k, words in keys.items()
        )
        return f"CASE WHEN {first} IS NULL THEN NULL ELSE CASE {first} {whens} END END"

    sep = d.literal(_SEP)
    outputs += [
        f"CASE WHEN {first} IS NULL THEN NULL ELSE split_part({first}, {sep}, 1) END"
        f" AS {d.quote(ERROR_COLUMN)}",
        f"CASE WHEN {first} IS NULL THEN NULL ELSE split_part({first}, {sep}, 2) END"
        f" AS {d.quote(ERROR_CODE)}",
        f"{lookup(0)} AS {d.quote(ERROR_ZH)}",
        f"{lookup(1)} AS {d.quote(ERROR_EN)}",
    ]

    def select(items: list[str], base: str) -> str:
        listed = ",\n    ".join(["*", *items])
        return f"SELECT\n    {listed}\nFROM {base}"

    layer_a0 = select(ends, f"{source} AS {_INTERNAL}src")
    layer_a = select(normalized, f"({layer_a0}) AS {_INTERNAL}a0")
    layer_b1 = select(parts1, f"({layer_a}) AS {_INTERNAL}a")
    layer_b2 = select(parts2, f"({layer_b1}) AS {_INTERNAL}b1")
    base = f"({layer_b2}) AS {_INTERNAL}b2"
    if join_clauses:
        base = base + "\n" + "\n".join(join_clauses)
        listed = ",\n    ".join([f"{_INTERNAL}b2.*", *join_flags])
        layer_j = f"SELECT\n    {listed}\nFROM {base}"
    else:
        layer_j = f"SELECT * FROM {base}"
    layer_c = select(errors, f"({layer_j}) AS {_INTERNAL}j")
    layer_d = select([layer_d], f"({layer_c}) AS {_INTERNAL}c")
    listed = ",\n    ".join(outputs)
    return f"SELECT\n    {listed}\nFROM ({layer_d}) AS {_INTERNAL}d"


# --------------------------------------------------------------------------- by value

#: Kinds whose check is a function of the value alone and whose values repeat (codes,
#: identifiers, periods, dates): the loader checks each distinct value once and joins the
#: verdict back, instead of checking every row. A monthly feed repeats each USCC and
#: person id dozens of times and each period thousands of times.
VALUE_KINDS = frozenset(
    {
        Kind.USCC,
        Kind.PERSON_ID,
        Kind.PARTY_ID,
        Kind.DATE,
        Kind.PERIOD,
        Kind.YEAR,
        Kind.INT,  # head counts, days past due: few distinct values
        Kind.BOOL,
        Kind.ENUM,
        Kind.INDUSTRY,
        Kind.DIVISION,
        Kind.VILLAGE,
    }
)

#: The column of distinct raw values a :func:`compile_value_checks` query reads.
RAW = "_raw"


def value_checked_columns(feed: Feed, present: Collection[str]) -> list[str]:
    """The columns of ``feed`` (present in the source) to check once per distinct value.

    Those of :data:`VALUE_KINDS` and personal columns (whose hash is also computed once per
    value), but not the columns of a cross-column rule: their verdict depends on the row.
    """
    crossed = {r.column for r in CROSS_RULES if r.feed == feed.name}
    crossed |= {r.other for r in CROSS_RULES if r.feed == feed.name}
    return [
        col.name
        for col in (*feed.columns, *feed.extensions)
        if col.name in present
        and col.name not in crossed
        and (col.kind in VALUE_KINDS or col.personal)
    ]


def compile_value_checks(feed: Feed, column: str, values: str) -> str:
    """A DuckDB SELECT checking ``column`` of ``feed`` once per value of ``values``.

    ``values`` is a relation with one text column :data:`RAW` (distinct raw values, NULL
    included). The output has :data:`RAW`, the typed ``column`` and the four error columns,
    exactly what :func:`compile_checks` gives a row holding that value.
    """
    source = f"(SELECT CAST(0 AS BIGINT) AS {ROW}, {RAW} AS {quote(column)}, {RAW} FROM {values})"
    return compile_checks(feed, source, [ROW, column, RAW], only=[column])


#: Numeric kinds, which a typed source column (a Parquet DOUBLE) can be checked as directly.
NUMERIC_KINDS = frozenset(kind for kind, planner in _PLANNERS.items() if planner is _plan_numeric)


def compile_double_checks(
    feed: Feed, column: str, x: str, text: str, numbers: Mapping[str, int] | None = None
) -> tuple[str, str]:
    """(failure code, typed value) of a numeric ``column`` read as a DOUBLE, in DuckDB SQL.

    ``x`` is the DOUBLE (NULL where the cell is empty, as are NaN and the infinities, which
    a Parquet file's text reads as empty) and ``text`` the cell's text, whose every value
    is plain decimal text that reads back to ``x`` exactly. So the result is what
    :func:`compile_checks` gives that text, without writing and parsing it per row: the
    failure code (NULL for a good value; its words by :func:`render_message`), or with
    ``numbers`` the code's number there, and the typed value, NULL when the value fails.
    """

    def written(code: str) -> str:
        return str(numbers[code]) if numbers is not None else DUCKDB.literal(code)

    col = feed.column(column)
    if col.kind not in NUMERIC_KINDS:
        raise ValueError(f"{column} is not numeric")
    failures: list[tuple[str, str]] = []
    if col.kind is Kind.INT:
        failures.append((DUCKDB.is_fraction.format(x=x), "not_an_integer"))
    limit = _TYPE_LIMITS.get(col.kind)
    if limit is not None:
        failures.append((f"abs({x}) >= {_number(limit)}", "out_of_range"))
    failures += [(cond, code) for cond, code in _bound_failures(col, x) if code]
    empty = written("missing") if col.required else "NULL"
    code = _case([(f"{x} IS NULL", empty), *((c, written(k)) for c, k in failures)])
    sql_type = SQL_TYPES[col.kind]
    if col.kind is Kind.INT:
        typed = f"CAST({x} AS INTEGER)"
    elif sql_type.startswith("DECIMAL"):
        # The text's decimal, as the checks cast it; a value with no more decimals than the
        # type keeps (far from the limits, where a double still tells cents apart) is the
        # same decimal cast straight from the double.
        scale = int(sql_type.rstrip(")").split(",")[1])
        bound = _number(10.0 ** (14 - scale))
        typed = (
            f"CASE WHEN abs({x}) < {bound} AND round({x}, {scale}) = {x} "
            f"THEN CAST({x} AS {sql_type}) ELSE try_cast({text} AS {sql_type}) END"
        )
    else:
        typed = x
    return code, f"CAST(CASE WHEN ({code}) IS NULL THEN {typed} END AS {sql_type})"

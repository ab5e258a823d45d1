"""Feed files as departments export them: CSV (UTF-8, UTF-8 with BOM, GB18030), Excel,
Parquet and JSON lines, with English or Chinese headers. Writers append chunk by chunk so
that a million businesses never sit in memory as rows at once.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from puhui.ingest.contract import FEEDS
from puhui.simulate.activity import Columns


@dataclass(frozen=True, slots=True)
class FileSpec:
    """How one feed is delivered."""

    feed: str
    fmt: str  # csv / xlsx / parquet / jsonl
    encoding: str = "utf-8"  # csv only: utf-8, utf-8-sig or gb18030
    chinese_headers: bool = False

    @property
    def filename(self) -> str:
        return f"{self.feed}.{self.fmt}"

    def header(self, column: str) -> str:
        if not self.chinese_headers:
            return column
        return FEEDS[self.feed].column(column).alias


#: The delivery's mix of formats, encodings and header languages.
DELIVERY: tuple[FileSpec, ...] = (
    FileSpec("registrations", "csv", "gb18030", chinese_headers=True),
    FileSpec("shareholders", "csv", "utf-8"),
    FileSpec("abnormal", "xlsx", chinese_headers=True),
    FileSpec("tax", "parquet"),
    FileSpec("tax_grade", "csv", "utf-8-sig", chinese_headers=True),
    FileSpec("social_insurance", "csv", "utf-8"),
    FileSpec("utilities", "csv", "utf-8", chinese_headers=True),
    FileSpec("penalties", "csv", "gb18030", chinese_headers=True),
    FileSpec("court", "jsonl"),
    FileSpec("property", "csv", "gb18030", chinese_headers=True),
    FileSpec("honors", "csv", "utf-8", chinese_headers=True),
    FileSpec("carbon", "parquet", chinese_headers=True),
    FileSpec("loans", "csv", "utf-8"),
    FileSpec("orders", "jsonl"),
    FileSpec("households", "csv", "gb18030", chinese_headers=True),
)
SPECS = {spec.feed: spec for spec in DELIVERY}


def _arrow_column(values: np.ndarray) -> pa.Array:
    """Text cells that are empty become nulls (empty CSV cells, JSON nulls)."""
    if values.dtype.kind in "UO":
        text = values.astype(str) if values.dtype.kind == "O" else values
        return pa.array(text, type=pa.string(), mask=text == "")
    if values.dtype.kind == "f":
        return pa.array(values, mask=np.isnan(values))
    return pa.array(values)


def to_table(spec: FileSpec, rows: Columns) -> pa.Table:
    return pa.table({spec.header(name): _arrow_column(values) for name, values in rows.items()})


class FeedWriter:
    """Appends chunks of one feed to its file and counts the data rows written."""

    def __init__(self, directory: Path, spec: FileSpec) -> None:
        self.spec = spec
        self.path = directory / spec.filename
        self.rows_written = 0
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._xlsx: Any = None
        self._sheet: Any = None
        self.path.unlink(missing_ok=True)

    def write(self, rows: Columns) -> None:
        table = to_table(self.spec, rows)
        if self.spec.fmt == "parquet":  # one schema for the whole file
            if self._schema is None:
                self._schema = table.schema
            elif table.schema != self._schema:
                table = table.cast(self._schema)
        writer = getattr(self, f"_write_{self.spec.fmt}")
        writer(table)
        self.rows_written += table.num_rows

    def _write_csv(self, table: pa.Table) -> None:
        first = self.rows_written == 0 and not self.path.exists()
        options = pacsv.WriteOptions(include_header=first, quoting_style="needed")
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, write_options=options)
        data = buffer.getvalue()
        if self.spec.encoding == "gb18030":
            data = data.decode("utf-8").encode("gb18030")
        elif self.spec.encoding == "utf-8-sig" and first:
            data = b"\xef\xbb\xbf" + data
        with self.path.open("ab") as handle:
            handle.write(data)

    def _write_parquet(self, table: pa.Table) -> None:
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._parquet.write_table(table)

    def _write_jsonl(self, table: pa.Table) -> None:
        lines = [
            json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            for record in table.to_pylist()
        ]
        with self.path.open("a", encoding="utf-8") as handle:
            if lines:
                handle.write("\n".join(lines) + "\n")

    def _write_xlsx(self, table: pa.Table) -> None:
        if self._xlsx is None:
            from openpyxl import Workbook

            self._xlsx = Workbook(write_only=True)
            self._sheet = self._xlsx.create_sheet(self.spec.feed)
            self._sheet.append(table.column_names)
        for record in table.to_pylist():
            self._sheet.append(list(record.values()))

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._xlsx is not None:
            self._xlsx.save(self.path)
        if not self.path.exists():  # a feed with no rows still has its file and header
            self.path.touch()

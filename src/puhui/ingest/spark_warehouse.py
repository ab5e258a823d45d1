"""The warehouse on Spark: the tables of :mod:`puhui.ingest.warehouse`, as Parquet.

Layout under ``<home>/spark-warehouse/``::

    manifest.json               the parts of every table, by name: the warehouse's state
    tables/<table>/<version>/   one Parquet dataset (a part of a table), never changed
    staging/<run>/              the files of a delivery being loaded (gone after the run)
    .lock                       held by the one ingest that may write

The tables (``feed_<name>``, ``deliveries``, ``quarantine``, ``file_errors``) have the
columns of :func:`puhui.ingest.warehouse.table_columns`, in Spark's type names (``VARCHAR``
and ``JSON`` are ``STRING``; the row fingerprint is a signed ``BIGINT``). A table is the
union of its parts; a table the manifest does not name is empty. A feed table has one part,
written anew by each delivery that changes it. The ledger tables get one part per delivery
(``deliveries``: per run), so a delivery never rewrites the rows of others, and ingesting a
delivery again replaces its ``quarantine`` and ``file_errors`` parts.

**Atomicity.** Files cannot be changed together in place, so a delivery never changes a
file: it writes new parts, in fresh directories, and commits by replacing ``manifest.json``
with one ``os.replace`` (the new manifest written to a temporary file and fsynced first,
after every new Parquet file and directory). Readers read only the parts the manifest names.
A run that fails, or is killed, before the replacement leaves the previous manifest — the
previous warehouse — as it was; its unnamed parts are removed when it fails, or by the next
ingest when it was killed. Parts a commit replaced are removed after it. One ingest writes at
a time (an exclusive ``flock`` on ``.lock``); a reader that opened the previous manifest just
before a commit may find replaced parts gone and must read again.

**Hashing.** Person ids are hashed in Spark SQL by the temporary function
``person_hash(value)``: HMAC-SHA256 written out as ``sha2(opad || unhex(sha2(ipad || value)))``,
equal to :func:`puhui.identifiers.hash_person_id`. The pads are data, not SQL: a one-row
temporary view ``puhui_hash_pads`` made from an Arrow table, which the function reads with
scalar subqueries. So the key appears in no SQL text and no query plan (the plan shows only
a scan of the view). The view and the functions belong to the session: the warehouse
opened last in a process sets the key.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from puhui.errors import PuhuiError
from puhui.ingest.checks import SPARK, reference_tables
from puhui.ingest.warehouse import MASK_SQL, hmac_pads, table_columns

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MANIFEST = "manifest.json"
#: Version of the manifest's layout; a warehouse of another version is refused.
MANIFEST_FORMAT = 1
TABLES = "tables"
STAGING = "staging"
LOCK = ".lock"
#: Temporary manifests are written under this prefix, then renamed.
_MANIFEST_TEMP = ".manifest-"
#: The temporary view that holds the HMAC pads.
PADS_VIEW = "puhui_hash_pads"


def spark_columns(table: str) -> list[tuple[str, str]]:
    """(name, Spark type) of every column of ``table``, in order."""
    return [
        (name, SPARK.sql_type(sql_type.removesuffix(" NOT NULL")))
        for name, sql_type in table_columns()[table]
    ]


def spark_schema(table: str) -> str:
    """The table's columns as a Spark DDL schema (backquoted names and Spark types)."""
    return ", ".join(
        f"{SPARK.quote(name)} {spark_type}" for name, spark_type in spark_columns(table)
    )


#: Arrow types of the Spark types the ledger tables use (for rows made in Python).
_ARROW_TYPES = {
    "STRING": pa.string(),
    "BIGINT": pa.int64(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table`` (a ledger table), as Spark reads it back."""
    return pa.schema([(name, _ARROW_TYPES[t]) for name, t in spark_columns(table)])


def install_session(spark: SparkSession, key: bytes) -> None:
    """Give the session what the warehouse SQL needs: ``person_hash``, ``mask_identifier``
    and the reference tables of the checks, as temporary functions and views."""
    ipad, opad = hmac_pads(key)
    pads = pa.table({"ipad": pa.array([ipad], pa.binary()), "opad": pa.array([opad], pa.binary())})
    spark.createDataFrame(pads).createOrReplaceTempView(PADS_VIEW)
    value = SPARK.trim_spaces.format(value="value")
    inner = f"sha2(concat((SELECT ipad FROM {PADS_VIEW}), encode(upper({value}), 'UTF-8')), 256)"
    spark.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION person_hash(value STRING) RETURNS STRING RETURN "
        f"left(sha2(concat((SELECT opad FROM {PADS_VIEW}), unhex({inner})), 256), 32)"
    )
    spark.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION mask_identifier(value STRING) RETURNS STRING "
        f"RETURN {MASK_SQL}"
    )
    register_reference_views(spark)


def register_reference_views(spark: SparkSession) -> None:
    """The tables of :func:`puhui.ingest.checks.reference_tables` as temporary views, which
    the compiled checks join against (the Spark counterpart of ``register_reference``)."""
    for name, table in reference_tables().items():
        spark.createDataFrame(table).createOrReplaceTempView(name)


@dataclass(frozen=True, slots=True)
class Part:
    """One Parquet dataset of a table: the directory ``tables/<table>/<version>/``."""

    version: str
    #: the delivery whose rows the part holds (ledger tables), else None
    delivery_id: str | None = None


#: The warehouse's state: each table's parts, in order (a table without parts is empty).
State = dict[str, tuple[Part, ...]]


def read_manifest(root: Path) -> State:
    """The state ``root/manifest.json`` names (empty when there is no manifest yet)."""
    path = root / MANIFEST
    if not path.exists():
        return {}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise PuhuiError(
            f"{path} 的格式版本 {manifest.get('format')} 不受支持",
            f"{path} has manifest format {manifest.get('format')}, which is not supported",
        )
    return {
        str(table): tuple(Part(str(p["version"]), p.get("delivery_id")) for p in parts)
        for table, parts in manifest["tables"].items()
    }


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(directory: Path) -> None:
    """Flush every file and directory under ``directory`` to disk (Spark does not)."""
    for folder, _, files in os.walk(directory):
        for name in files:
            _fsync(Path(folder) / name)
        _fsync(Path(folder))


def _new_version() -> str:
    """A fresh, sortable version name."""
    return f"v{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


class SparkWarehouse:
    """The Parquet warehouse under ``root``, read through ``spark``.

    Feed tables have one part, rewritten whenever a delivery changes them. The ledger
    tables grow by one part per delivery (``deliveries``: per run), so a delivery never
    rewrites the rows of others; ingesting a delivery again replaces its ``quarantine`` and
    ``file_errors`` parts.
    """

    def __init__(self, spark: SparkSession, root: Path, key: bytes) -> None:
        self.spark = spark
        self.root = root
        (root / TABLES).mkdir(parents=True, exist_ok=True)
        install_session(spark, key)
        self.parts = read_manifest(root)

    def path(self, table: str, part: Part) -> Path:
        return self.root / TABLES / table / part.version

    def read(self, table: str, parts: tuple[Part, ...]) -> DataFrame:
        """The rows of ``parts`` of ``table`` (no parts: the empty table)."""
        schema = spark_schema(table)
        if not parts:
            return self.spark.createDataFrame([], schema)
        paths = [str(self.path(table, part)) for part in parts]
        return self.spark.read.schema(schema).parquet(*paths)

    def table(self, table: str) -> DataFrame:
        """The committed contents of ``table``."""
        return self.read(table, self.parts.get(table, ()))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the write lock and yield a :class:`Transaction`; commit it if the block ends
        normally, else remove everything it wrote and re-raise.

        Leftovers of a killed run (unnamed versions, staging files, temporary manifests)
        are removed first.
        """
        with self._locked():
            self.parts = read_manifest(self.root)
            self._remove_unnamed()
            transaction = Transaction(self)
            try:
                yield transaction
                transaction.commit()
            finally:
                # The manifest on disk is the truth (even if the commit failed after its
                # swap): remove a failed run's parts, or the parts the commit replaced.
                self.parts = read_manifest(self.root)
                self._remove_unnamed()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.root / LOCK).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PuhuiError(
                    f"{self.root} 正在被另一个入库进程写入",
                    f"another ingest is writing to {self.root}",
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _remove_unnamed(self) -> None:
        """Delete every version the manifest does not name, the staging area and any
        temporary manifest (call with the lock held)."""
        named = {(table, part.version) for table, parts in self.parts.items() for part in parts}
        for folder in (self.root / TABLES).glob("*/*"):
            if (folder.parent.name, folder.name) not in named:
                shutil.rmtree(folder, ignore_errors=True)
        for table in (self.root / TABLES).iterdir():
            if not any(table.iterdir()):
                table.rmdir()
        shutil.rmtree(self.root / STAGING, ignore_errors=True)
        for temp in self.root.glob(_MANIFEST_TEMP + "*"):
            temp.unlink(missing_ok=True)

    def publish(self, parts: State) -> None:
        """Make ``parts`` the warehouse's state: one atomic replacement of the manifest."""
        tables = {
            table: [
                {"version": p.version} | ({"delivery_id": p.delivery_id} if p.delivery_id else {})
                for p in table_parts
            ]
            for table, table_parts in sorted(parts.items())
            if table_parts
        }
        manifest = {
            "format": MANIFEST_FORMAT,
            "committed_at": datetime.now(UTC).isoformat(),
            "tables": tables,
        }
        temp = self.root / f"{_MANIFEST_TEMP}{uuid.uuid4().hex}.tmp"
        with temp.open("w", encoding="utf-8") as handle:
            json.dump(manifest, handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.root / MANIFEST)
        _fsync(self.root)
        self.parts = parts


class Transaction:
    """New parts of tables, invisible to readers until :meth:`commit`."""

    def __init__(self, warehouse: SparkWarehouse) -> None:
        self.warehouse = warehouse
        self.parts: State = dict(warehouse.parts)
        self.written: set[tuple[str, Part]] = set()
        run = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.staging = warehouse.root / STAGING / run
        self.staging.mkdir(parents=True)

    def table(self, table: str) -> DataFrame:
        """``table`` as this transaction leaves it so far."""
        return self.warehouse.read(table, self.parts.get(table, ()))

    def replace(self, table: str, frame: DataFrame) -> None:
        """Make ``frame`` (every column of ``table``, by name) the whole of ``table``.

        ``frame`` may read the parts it replaces: they stay on disk until the commit.
        """
        part = Part(_new_version())
        self._conform(table, frame).write.parquet(str(self.warehouse.path(table, part)))
        self.written.add((table, part))
        self.parts[table] = (part,)

    def new_part(self, table: str, delivery_id: str) -> Part:
        """A new, empty part of ``table`` holding rows of ``delivery_id``."""
        part = Part(_new_version(), delivery_id)
        self.parts[table] = (*self.parts.get(table, ()), part)
        self.written.add((table, part))
        return part

    def append(self, table: str, part: Part, frame: DataFrame) -> None:
        """Add the rows of ``frame`` (every column of ``table``) to its new ``part``."""
        path = self.warehouse.path(table, part)
        self._conform(table, frame).write.mode("append").parquet(str(path))

    def write_rows(self, table: str, part: Part, rows: pa.Table) -> None:
        """Write a few rows made in Python (typed as :func:`arrow_schema`) as ``part``,
        without a Spark job."""
        path = self.warehouse.path(table, part)
        path.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows.select([n for n, _ in spark_columns(table)]), path / "part-0.parquet")

    def drop_delivery(self, table: str, delivery_id: str) -> None:
        """Remove the parts of ``table`` that hold rows of ``delivery_id``."""
        kept = tuple(p for p in self.parts.get(table, ()) if p.delivery_id != delivery_id)
        self.parts[table] = kept

    @staticmethod
    def _conform(table: str, frame: DataFrame) -> DataFrame:
        """``frame`` with exactly the table's columns, in order, cast to its types."""
        return frame.select(
            *[frame[name].cast(spark_type).alias(name) for name, spark_type in spark_columns(table)]
        )

    def commit(self) -> None:
        """Flush the new parts to disk and publish the transaction's state.

        A new part that received no rows was never created: it is left out.
        """
        state: State = {}
        for table, parts in self.parts.items():
            state[table] = tuple(
                p
                for p in parts
                if (table, p) not in self.written or self.warehouse.path(table, p).exists()
            )
        for table, part in self.written:
            if part in state.get(table, ()):
                _fsync_tree(self.warehouse.path(table, part))
        self.warehouse.publish(state)

"""A scoring run's matching inputs: one Arrow IPC file per refresh, memory-mapped to read.

``puhui market refresh`` writes the per-business columns the product rules and the
ranking read (scores, PD, credit points, tier, pre-credit limit and price; entity type,
industry, district, years in business, the dishonest and abnormal flags; honours and the
pushed government lists) once, sorted by uscc, in the layout the matching core takes
without a copy:

* ``uscc`` a ``fixed_size_binary`` column, read as a numpy ``S`` array (sorted, so a
  business is found by ``searchsorted``);
* categories dictionary-encoded (``int32`` codes into a few labels, :class:`Coded`);
* numbers ``float64`` with NaN for missing (no validity bitmaps, so zero-copy);
* flags ``uint8`` 0/1 (viewed as ``bool``, unlike Arrow's bit-packed booleans);
* the policy-list memberships one ``fixed_size_list<uint8>`` column, read as an ``(N, L)``
  matrix; the list codes are in the schema's metadata.

A process maps each file once (:func:`read_region`, a small LRU of open files); pages of the
OS cache are shared by every worker. Files are never changed after they are written (a new
refresh writes a new file), so a path is a safe cache key.
"""

from __future__ import annotations

import json
import os
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from puhui.market.matching import Businesses, Coded

FORMAT = "1"
_CATEGORIES = ("entity_type", "industry_division", "district", "tier")
_NUMBERS = ("score", "credit_points", "pd", "age_years", "pre_credit_limit", "rate")
_FLAGS = ("dishonest_active", "abnormal_active")
#: Open region files kept mapped per process (a refresh makes a new one; the previous one
#: stays readable for requests that started before it).
OPEN_FILES = 4


def ascii_usccs(values: np.ndarray) -> np.ndarray:
    """Usccs as a fixed-width ``bytes`` array (they are ASCII by definition)."""
    array = np.asarray(values)
    if array.dtype.kind == "S":
        return array
    return np.asarray(array, dtype=str).astype(np.bytes_)


def write_region(path: Path, region: Businesses, as_of: date) -> None:
    """Write ``region`` to ``path`` (atomically: a partial file is renamed into place),
    sorted by uscc."""
    usccs = ascii_usccs(region.uscc)
    if len(usccs) > 1 and not bool(np.all(usccs[1:] >= usccs[:-1])):
        order = np.argsort(usccs, kind="stable")
        region, usccs = region.take(order), usccs[order]
    width = max(1, usccs.dtype.itemsize)
    usccs = usccs.astype(f"S{width}")
    n = len(usccs)
    columns: dict[str, pa.Array] = {
        "uscc": pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), n, [None, pa.py_buffer(np.ascontiguousarray(usccs).tobytes())]
        )
    }
    for name in _CATEGORIES:
        coded = Coded.of(getattr(region, name))
        columns[name] = pa.DictionaryArray.from_arrays(
            pa.array(np.asarray(coded.codes, dtype=np.int32)),
            pa.array(np.asarray(coded.labels, dtype=str), pa.string()),
        )
    for name in _NUMBERS:
        columns[name] = pa.array(np.asarray(getattr(region, name), dtype=np.float64))
    for name in _FLAGS:
        columns[name] = pa.array(np.asarray(getattr(region, name), dtype=bool).astype(np.uint8))
    lists = len(region.policy_list_codes)
    if lists:
        matrix = np.asarray(region.policy_lists, dtype=bool).reshape(n, lists)
        columns["policy_lists"] = pa.FixedSizeListArray.from_arrays(
            pa.array(matrix.astype(np.uint8).ravel()), lists
        )
    metadata = {
        "puhui.format": FORMAT,
        "puhui.as_of": as_of.isoformat(),
        "puhui.policy_list_codes": json.dumps(list(region.policy_list_codes)),
    }
    table = pa.table(columns).replace_schema_metadata(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(1, n))
    os.replace(partial, path)


def _column(table: pa.Table, name: str) -> pa.Array:
    chunked = table.column(name)
    # One batch is written; a file of several (never made here) is joined, at a copy.
    return chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()


def _numbers(array: pa.Array) -> np.ndarray:
    result: np.ndarray = array.to_numpy(zero_copy_only=True)
    return result


@lru_cache(maxsize=OPEN_FILES)
def read_region(path: str) -> Businesses:
    """The region of the file at ``path``, memory-mapped: no column is copied except each
    category's few labels."""
    table = pa.ipc.open_file(pa.memory_map(path, "r")).read_all()
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    if metadata.get("puhui.format") != FORMAT:
        raise ValueError(f"{path} is not a matching-inputs file of format {FORMAT}")
    n = table.num_rows
    uscc = _column(table, "uscc")
    width = uscc.type.byte_width
    values: dict[str, object] = {
        "uscc": np.frombuffer(
            uscc.buffers()[1], dtype=f"S{width}", count=n, offset=uscc.offset * width
        )
    }
    for name in _CATEGORIES:
        encoded = _column(table, name)
        values[name] = Coded(
            _numbers(encoded.indices),
            np.asarray(encoded.dictionary.to_pylist(), dtype=str).reshape(-1),
        )
    for name in _NUMBERS:
        values[name] = _numbers(_column(table, name))
    for name in _FLAGS:
        values[name] = _numbers(_column(table, name)).view(np.bool_)
    codes = tuple(json.loads(metadata["puhui.policy_list_codes"]))
    if codes:
        lists = _column(table, "policy_lists")
        values["policy_lists"] = _numbers(lists.flatten()).view(np.bool_).reshape(n, len(codes))
    else:
        values["policy_lists"] = np.zeros((n, 0), dtype=bool)
    values["policy_list_codes"] = codes
    return Businesses(**values)  # type: ignore[arg-type]


def find(usccs: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``wanted`` usccs in a region's sorted ``usccs``: ``(positions in wanted that
    are there, their rows)``."""
    raw = ascii_usccs(wanted)
    keys = raw.astype(usccs.dtype)  # a longer key is cut here: it is no one's
    rows = np.searchsorted(usccs, keys)
    inside = (rows < len(usccs)) & (np.char.str_len(raw) <= usccs.dtype.itemsize)
    found = np.zeros(len(keys), dtype=bool)
    found[inside] = usccs[rows[inside]] == keys[inside]
    return np.flatnonzero(found), rows[found]

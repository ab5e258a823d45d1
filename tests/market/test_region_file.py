"""A run's matching inputs on disk: written sorted by uscc, read back memory-mapped with the
same values, found by uscc; and the bounded cache the white lists live in."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from puhui.market import matching, region_file
from puhui.market.service import BoundedCache
from tests.market.factories import region_of, region_row

ROWS = (
    region_row("91330000000000003C", entity_type="", score=float("nan"), lists=("high_tech",)),
    region_row("91330000000000001A", district="330203", dishonest_active=True),
    region_row("91330000000000002B", tier="", pre_credit_limit=float("nan"), age_years=0.5),
)


def test_a_region_reads_back_sorted_and_memory_mapped(tmp_path: Path) -> None:
    region = region_of(*ROWS)
    path = tmp_path / "run.arrow"
    region_file.write_region(path, region, date(2026, 6, 30))
    back = region_file.read_region(str(path))

    order = np.argsort(region.uscc)
    assert back.uscc.tolist() == [u.encode() for u in region.uscc[order].tolist()]
    for name in ("entity_type", "industry_division", "district", "tier"):
        coded = getattr(back, name)
        assert isinstance(coded, matching.Coded)
        assert coded.decoded().tolist() == getattr(region, name)[order].tolist()
    for name in ("score", "credit_points", "pd", "age_years", "pre_credit_limit", "rate"):
        np.testing.assert_array_equal(getattr(back, name), getattr(region, name)[order])
    for name in ("dishonest_active", "abnormal_active", "policy_lists"):
        assert getattr(back, name).tolist() == getattr(region, name)[order].tolist()
    assert back.policy_list_codes == region.policy_list_codes
    # Views of the mapped file, not copies.
    assert not back.score.flags.owndata
    assert not back.score.flags.writeable
    assert not back.policy_lists.flags.owndata

    products = matching.Products.of(
        [
            {"amount_min": 1e4, "amount_max": 3e5, "rate_min": 4, "rate_max": 8},
            {"amount_min": 1e4, "amount_max": 3e5, "rate_min": 4, "rate_max": 8,
             "entity_types": ["enterprise"], "tiers": ["growth"], "min_score": 600,
             "policy_lists": ["high_tech"], "districts": ["330102"]},
        ]
    )  # fmt: skip
    mapped, fresh = matching.match(products, back), matching.match(products, region.take(order))
    np.testing.assert_array_equal(mapped.failures, fresh.failures)
    np.testing.assert_array_equal(mapped.limit, fresh.limit)
    np.testing.assert_allclose(mapped.fit, fresh.fit)


def test_businesses_are_found_by_uscc(tmp_path: Path) -> None:
    path = tmp_path / "run.arrow"
    region_file.write_region(path, region_of(*ROWS), date(2026, 6, 30))
    usccs = region_file.read_region(str(path)).uscc
    wanted = np.asarray(
        ["91330000000000002B", "nobody", "91330000000000001A", "91330000000000001AX", "9133"]
    )
    positions, rows = region_file.find(usccs, wanted)
    assert positions.tolist() == [0, 2]
    assert usccs[rows].tolist() == [b"91330000000000002B", b"91330000000000001A"]


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa

    path = tmp_path / "other.arrow"
    table = pa.table({"x": [1]})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(ValueError, match="not a matching-inputs file"):
        region_file.read_region(str(path))


def test_the_cache_is_bounded_in_entries_and_bytes() -> None:
    cache: BoundedCache[str, np.ndarray] = BoundedCache(3, 100, lambda a: int(a.nbytes))
    for key in "abc":
        cache.put(key, np.zeros(2, dtype=np.int32))
    assert cache.get("a") is not None  # now the most recently used
    cache.put("d", np.zeros(2, dtype=np.int32))
    assert [k for k in "abcd" if cache.get(k) is not None] == ["a", "c", "d"]
    cache.put("big", np.zeros(20, dtype=np.int32))  # 80 bytes: the least recent must go
    assert [k for k in ("a", "c", "d", "big") if cache.get(k) is not None] == ["c", "d", "big"]
    cache.put("huge", np.zeros(1000, dtype=np.int32))  # over the bound alone: still kept
    assert cache.get("huge") is not None
    assert cache.get("big") is None

"""The warehouse side of government lists: which businesses are of a tier.

Tiers live in the warehouse's ``scores`` table (the champion model's latest as-of date), not
in the app database, so a list defined by tier reads them here: the CLI through the
region's reader, a web request through a read-only connection that gives up at once (never
waits) when a batch job holds the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb
import numpy as np

from puhui.govlists.service import GovListError, TierLookup
from puhui.scoring.models import PLATFORM
from puhui.settings import Engine, Settings


class WarehouseUnavailableError(GovListError):
    """The warehouse cannot be read now (HTTP 503)."""

    http_status = 503


def tier_members(
    con: duckdb.DuckDBPyConnection, tiers: Sequence[str], owner: str = PLATFORM
) -> np.ndarray:
    """The usccs whose tier, in ``owner``'s champion scores of the latest as-of date, is one
    of ``tiers`` (sorted). No scores: an error naming the command to run."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'scores'"
    ).fetchone()
    if not found or not found[0]:
        raise GovListError(
            "数仓中还没有评分，请先运行 puhui score", "the warehouse has no scores: run puhui score"
        )
    rows = con.execute(
        "SELECT DISTINCT uscc FROM scores WHERE owner = $1 AND role = 'champion'"
        " AND as_of = (SELECT max(as_of) FROM scores WHERE owner = $1 AND role = 'champion')"
        " AND list_contains($2, tier) ORDER BY uscc",
        [owner, list(tiers)],
    ).fetchnumpy()
    return np.asarray(rows["uscc"], dtype=str)


def lookup_on(con: duckdb.DuckDBPyConnection, owner: str = PLATFORM) -> TierLookup:
    """A :data:`~puhui.govlists.service.TierLookup` reading ``con``."""

    def lookup(tiers: Sequence[str]) -> np.ndarray:
        return tier_members(con, tiers, owner)

    return lookup


@contextmanager
def read_only_lookup(settings: Settings) -> Iterator[TierLookup]:
    """For a web request: the region's scores, read only. A DuckDB warehouse that does not
    exist, or that a batch job holds open, is a clear 503 rather than a wait."""
    if settings.engine is Engine.SPARK:
        from puhui.scoring.engines import scoring_reader

        with scoring_reader(settings) as con:
            yield lookup_on(con)
        return
    path = settings.warehouse_dir / "warehouse.duckdb"
    if not path.exists():
        raise WarehouseUnavailableError(
            "尚无数仓，无法按层级筛选", "there is no warehouse yet: tiers cannot be read"
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        raise WarehouseUnavailableError(
            "数仓正被批处理占用，请稍后再试，或使用 puhui govlists define 命令",
            "the warehouse is busy with a batch job: try again later, or use puhui govlists define",
        ) from None
    try:
        yield lookup_on(con)
    finally:
        con.close()

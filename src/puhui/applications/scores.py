"""The latest batch score of one business, for a bank's review page, read from the
warehouse's ``scores`` table (see :mod:`puhui.scoring.service`) when there is one.

The review page works without a warehouse (a fresh region, a test): every failure to read
(no file, no table, the file locked by a running batch) is "no score", never an error.
The bank's own champion (一行一模型) is preferred to the platform's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from puhui.ingest.checks import literal
from puhui.scoring.models import PLATFORM
from puhui.settings import Engine, Settings

log = logging.getLogger("puhui.applications")

SCORES_TABLE = "scores"  # puhui.scoring.service.SCORES_TABLE (not imported: heavy imports)


@dataclass(frozen=True)
class ScoreView:
    as_of: date
    owner: str
    score: float
    pd: float
    tier: str
    credit_points: int
    pre_credit_limit: Decimal
    rate: Decimal
    admitted: bool
    reasons: tuple[str, ...]


_QUERY = f"""
SELECT as_of, owner, score, pd, tier, credit_points, pre_credit_limit, rate, admitted,
       reason_1, reason_2, reason_3
FROM {{source}}
WHERE uscc = $1 AND role = 'champion' AND owner IN ($2, '{PLATFORM}')
ORDER BY as_of DESC, owner = $2 DESC
LIMIT 1
"""


def _read(con: duckdb.DuckDBPyConnection, source: str, uscc: str, owner: str) -> ScoreView | None:
    row = con.execute(_QUERY.format(source=source), [uscc, owner]).fetchone()
    if row is None:
        return None
    reasons = tuple(str(r) for r in row[9:12] if r)
    return ScoreView(
        as_of=row[0],
        owner=str(row[1]),
        score=float(row[2]),
        pd=float(row[3]),
        tier=str(row[4]),
        credit_points=int(row[5]),
        pre_credit_limit=Decimal(str(row[6])),
        rate=Decimal(str(row[7])),
        admitted=bool(row[8]),
        reasons=reasons,
    )


def latest_score(settings: Settings, uscc: str, bank_code: str | None) -> ScoreView | None:
    """The newest champion score of ``uscc`` (the bank's own model first), or None."""
    owner = bank_code or PLATFORM
    try:
        if settings.engine is Engine.SPARK:
            folder = settings.spark_warehouse_dir / SCORES_TABLE
            if not any(folder.glob("*.parquet")):
                return None
            con = duckdb.connect()
            source = f"read_parquet({literal(str(folder / '*.parquet'))}, union_by_name = true)"
        else:
            path: Path = settings.warehouse_dir / "warehouse.duckdb"
            if not path.exists():
                return None
            con = duckdb.connect(str(path), read_only=True)
            tables = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = $1",
                [SCORES_TABLE],
            ).fetchone()
            if not tables or not tables[0]:
                con.close()
                return None
            source = SCORES_TABLE
        try:
            return _read(con, source, uscc, owner)
        finally:
            con.close()
    except duckdb.Error as error:
        log.warning("score of an application's business unavailable: %s", error)
        return None


def reason_text(code: str, locale: str) -> str:
    """A reason code (a feature's name) with its description in ``locale``."""
    from puhui.features.registry import features

    for _, feature in features():
        if feature.name == code:
            return f"{feature.zh if locale == 'zh_CN' else feature.en} ({code})"
    return code

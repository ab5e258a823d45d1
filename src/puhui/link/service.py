"""``puhui link``: resolve every record of the warehouse to the business it is about.

Three steps, each taking the records the one before left:

1. **uscc** — the record carries a uscc that is registered: linked, probability 1.
2. **person** — the record carries a person's id (an electricity account, a property or a
   court case in the owner's own name): linked to the individual business (个体工商户)
   that person represents, probability 1. An individual business and its owner are one
   legal person; an enterprise is not, so a person's records are never given to an
   enterprise they run or hold shares in. A person who runs several individual businesses
   is resolved by the record's address, else its district, when exactly one business
   matches; otherwise the record goes to review.
3. **probabilistic** — the rest are scored against every registered business by the
   Fellegi–Sunter model of :mod:`puhui.link.model`. The pairwise odds are normalised over
   the record's candidates (a record is about one business at most):
   ``p_i = odds_i / (c + Σ_j odds_j)``, where ``c`` (:data:`NO_MATCH_ODDS`) is the odds
   that the business is none of the candidates. A record is linked to its best candidate
   when ``p ≥ threshold`` and the runner-up is less than half as likely; otherwise it
   stays unlinked and is listed for review with its best candidate. Before that, the
   pairwise odds are multiplied by the Bayes factors of :mod:`puhui.link.evidence` (the
   exact registered name; for court parties, distress × role, the case's other party and
   the calibration of owner-name matches), and candidates that did not exist on the
   record's date are dropped.

Feeds that always identify a business by its uscc (registrations, tax, …) need no
resolution: their key is the entity. Results are in the warehouse table ``links``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from puhui.engine import DuckDBEngine, SparkEngine, SqlEngine
from puhui.errors import PuhuiError
from puhui.ingest.checks import literal
from puhui.ingest.warehouse import DERIVED, scalar
from puhui.link import evidence, model
from puhui.link.normalize import Places
from puhui.link.records import LINKED_FEEDS, entities_sql, records_sql

if TYPE_CHECKING:
    from puhui.ingest.spark_warehouse import SparkWarehouse

#: Default probability a record's best candidate needs to be linked.
DEFAULT_THRESHOLD = 0.4
#: Odds that a record's business is none of its blocked candidates (unregistered, or
#: written beyond recognition); see the module docstring.
NO_MATCH_ODDS = 0.02
#: A runner-up at least this fraction as likely as the best makes the record ambiguous.
AMBIGUITY_RATIO = 0.5
#: Pairs Splink scores below this are not kept. Low enough that the evidence of a court
#: case (:mod:`puhui.link.evidence`, factors up to about 4) can still lift a pair over the
#: threshold: with ``NO_MATCH_ODDS`` 0.02, a lone candidate needs odds 0.013 to reach 0.4.
MIN_PAIR_PROBABILITY = 0.002


@dataclass
class FeedLinkCounts:
    records: int = 0
    uscc: int = 0
    person: int = 0
    probabilistic: int = 0
    review: int = 0
    unlinked: int = 0


@dataclass
class LinkReport:
    threshold: float
    feeds: dict[str, FeedLinkCounts] = field(default_factory=dict)
    model: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "feeds": {feed: asdict(c) for feed, c in self.feeds.items()},
            "model": self.model,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class LinkEvidence:
    """What :mod:`puhui.link.evidence` estimated in one run."""

    factors: list[evidence.Factor]
    owner_scale: evidence.OwnerScale | None


#: Why a record is not linked (zh, en), by the code in ``links.reason``.
REASONS: dict[str, tuple[str, str]] = {
    "uscc_unregistered": ("统一社会信用代码未在本地登记", "its uscc is not registered here"),
    "person_without_business": (
        "证件号码对应的人未经营个体工商户",
        "the person named runs no individual business",
    ),
    "person_ambiguous": (
        "该人经营多家个体工商户，无法确定",
        "the person runs several individual businesses",
    ),
    "below_threshold": ("最佳候选的匹配概率低于阈值", "best candidate is below the threshold"),
    "ambiguous": ("有两个相近的候选主体", "two candidates are nearly as likely"),
    "no_candidate": ("没有相似的登记主体", "no registered business is similar"),
}


def region_places(engine: SqlEngine) -> Places:
    """The place names of the region the warehouse holds (from its registrations)."""
    codes = engine.rows("SELECT DISTINCT division FROM feed_registrations")
    return Places.for_divisions(str(row[0]) for row in codes if row[0])


def require_links(engine: SqlEngine) -> None:
    """Refuse to go on when ``links`` is empty: the steps after linking need it."""
    if not engine.rows("SELECT count(*) FROM links")[0][0]:
        raise PuhuiError(
            "尚无链接结果，请先运行 puhui link", "records are not linked yet: run puhui link first"
        )


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise PuhuiError(
            f"阈值须在0和1之间（收到 {threshold}）",
            f"the threshold must be above 0 and at most 1 (got {threshold})",
        )


#: Working tables of :func:`decide_links`, dropped by :func:`drop_working_tables`.
WORKING_TABLES = (
    "link_rec",
    "link_ent",
    "link_person",
    "link_settled",
    "link_pairs",
    "link_odds",
    "link_decisions",
    *evidence.WORKING_TABLES,
)

#: The columns of ``links``, in order, as :func:`decide_links` leaves them in
#: ``link_decisions``.
LINK_COLUMNS = tuple(name for name, _ in DERIVED["links"])


def decide_links(
    engine: SqlEngine, threshold: float = DEFAULT_THRESHOLD
) -> tuple[model.ModelSummary, LinkEvidence]:
    """Resolve every record into working table ``link_decisions`` (columns of ``links``).

    Written once for every engine: the warehouse's ``feed_*`` tables must be readable by
    ``engine``; nothing is written to the warehouse here. Returns the fitted model and the
    Bayes factors of the evidence beyond names (:mod:`puhui.link.evidence`).
    """
    _check_threshold(threshold)
    if not engine.rows("SELECT count(*) FROM feed_registrations")[0][0]:
        raise PuhuiError(
            "仓库中没有登记主体，请先导入登记数据（puhui ingest）",
            "the warehouse holds no registered businesses: ingest a delivery first",
        )
    places = region_places(engine)
    # Fixed row order, so that Splink's seeded sampling, and so the links, are repeatable.
    engine.materialize(
        "link_rec",
        "SELECT row_number() OVER (ORDER BY feed, record_key) AS uid, *"
        f" FROM ({records_sql(places)}) AS r",
    )
    engine.materialize(
        "link_ent",
        f"SELECT row_number() OVER (ORDER BY uscc) AS uid, * FROM ({entities_sql(places)}) AS e",
    )
    _exact_steps(engine)
    return _probabilistic_step(engine, threshold)


def _exact_steps(engine: SqlEngine) -> None:
    """Steps 1 and 2 into ``link_settled`` (one row per record they settle)."""
    # A person with several individual businesses: of those that existed on the record's
    # date, the one at the record's address, else the one in the record's district (the
    # property's county, the court's county).
    here = "coalesce(e.address_key = r.address_key, FALSE)"
    near = "coalesce(e.district = coalesce(r.district, r.court_district), FALSE)"
    engine.materialize(
        "link_person",
        f"""
        WITH owned AS (
            SELECT r.uid, e.uscc, {here} AS here, {near} AS near,
                   CASE WHEN {evidence.existed("r", "e")} THEN 1 ELSE 0 END AS existed
            FROM link_rec r JOIN link_ent e
              ON e.person_hash = r.person_hash AND e.entity_type = 'individual'
            WHERE r.given_uscc IS NULL
        ), owned_then AS (
            -- The businesses that existed on the record's date, if any did.
            SELECT *, max(existed) OVER (PARTITION BY uid) AS any_existed FROM owned
        )
        SELECT uid, uscc,
               count(*) OVER w AS businesses,
               sum(CASE WHEN here THEN 1 ELSE 0 END) OVER w AS at_address,
               here,
               sum(CASE WHEN near THEN 1 ELSE 0 END) OVER w AS in_district,
               near
        FROM owned_then
        WHERE existed = 1 OR any_existed = 0
        WINDOW w AS (PARTITION BY uid)
        """,
    )
    settled = (
        "businesses = 1 OR (at_address = 1 AND here)"
        " OR (at_address = 0 AND in_district = 1 AND near)"
    )
    nothing = "CAST(NULL AS VARCHAR)"
    no_number = "CAST(NULL AS DOUBLE)"
    engine.materialize(
        "link_settled",
        f"""
        SELECT r.uid, e.uscc, 'uscc' AS method, CAST(1.0 AS DOUBLE) AS probability,
               'linked' AS status, {nothing} AS candidate_uscc,
               {no_number} AS candidate_probability, {nothing} AS reason
        FROM link_rec r JOIN link_ent e ON e.uscc = r.given_uscc
        UNION ALL
        -- A uscc that is not registered here: the business is outside the region's register.
        SELECT r.uid, {nothing}, {nothing}, {no_number}, 'unlinked', {nothing}, {no_number},
               'uscc_unregistered'
        FROM link_rec r LEFT JOIN link_ent e ON e.uscc = r.given_uscc
        WHERE r.given_uscc IS NOT NULL AND e.uscc IS NULL
        UNION ALL
        SELECT uid, uscc, 'person', CAST(1.0 AS DOUBLE), 'linked', {nothing}, {no_number},
               {nothing}
        FROM link_person WHERE {settled}
        UNION ALL
        SELECT uid, {nothing}, {nothing}, {no_number}, 'review', min(uscc), {no_number},
               'person_ambiguous'
        FROM link_person GROUP BY uid HAVING NOT bool_or({settled})
        UNION ALL
        SELECT r.uid, {nothing}, {nothing}, {no_number}, 'unlinked', {nothing}, {no_number},
               'person_without_business'
        FROM link_rec r LEFT JOIN (SELECT DISTINCT uid FROM link_person) p ON p.uid = r.uid
        WHERE r.person_hash IS NOT NULL AND r.given_uscc IS NULL AND p.uid IS NULL
        """,
    )


def _probabilistic_step(
    engine: SqlEngine, threshold: float
) -> tuple[model.ModelSummary, LinkEvidence]:
    """Step 3 for every record steps 1 and 2 did not settle; all decisions into
    ``link_decisions``."""
    # The unsettled records, and the court parties identified by a person's id: scored
    # as if they had none, they calibrate the matches through an owner's name.
    todo = f"""
        SELECT r.* FROM link_rec r
        LEFT JOIN link_settled s ON s.uid = r.uid
        LEFT JOIN ({evidence.labelled_persons_sql()}) l ON l.uid = r.uid
        WHERE s.uid IS NULL OR l.uid IS NOT NULL
    """
    summary = model.predict(
        engine, todo, "SELECT * FROM link_ent", "link_pairs", min_probability=MIN_PAIR_PROBABILITY
    )
    factors = evidence.prepare(engine)
    engine.materialize(
        "link_odds",
        f"""
        -- Splink's pairwise odds, times the evidence of the case and the candidate's
        -- history; a candidate that did not exist on the record's date is no candidate.
        SELECT p.record_uid, p.entity_uid,
               p.match_probability / (1 - least(p.match_probability, 1 - 1e-12))
                   * ({evidence.pair_factor_sql(factors, "r", "e", "c", "d")}) AS odds,
               {evidence.through_owner("r", "e")} AS through_owner
        FROM link_pairs p
        JOIN link_rec r ON r.uid = p.record_uid
        JOIN link_ent e ON e.uid = p.entity_uid
        LEFT JOIN link_case c ON c.uid = p.record_uid
        LEFT JOIN link_distress d ON d.uscc = e.uscc
        WHERE {evidence.existed("r", "e")}
        """,
    )
    scale = evidence.owner_scale(engine, NO_MATCH_ODDS)
    k = scale.scale if scale is not None else 1.0
    linked = f"b.p1 >= {threshold} AND b.p2 < {AMBIGUITY_RATIO} * b.p1"
    engine.materialize(
        "link_decisions",
        f"""
        WITH odds AS (
            SELECT record_uid, entity_uid,
                   odds * CASE WHEN through_owner THEN {k!r} ELSE 1.0 END AS odds
            FROM link_odds
        ), normalised AS (
            SELECT record_uid, entity_uid,
                   odds / ({NO_MATCH_ODDS} + sum(odds) OVER (PARTITION BY record_uid)) AS p,
                   row_number() OVER (PARTITION BY record_uid ORDER BY odds DESC, entity_uid)
                       AS place
            FROM odds
        ), best AS (
            SELECT record_uid,
                   max(entity_uid) FILTER (WHERE place = 1) AS entity_uid,
                   max(p) FILTER (WHERE place = 1) AS p1,
                   coalesce(max(p) FILTER (WHERE place = 2), 0) AS p2
            FROM normalised WHERE place <= 2 GROUP BY record_uid
        ), decided AS (
            SELECT * FROM link_settled
            UNION ALL
            SELECT r.uid,
                   CASE WHEN {linked} THEN e.uscc END,
                   CASE WHEN {linked} THEN 'probabilistic' END,
                   CASE WHEN {linked} THEN b.p1 END,
                   CASE WHEN b.p1 IS NULL THEN 'unlinked'
                        WHEN {linked} THEN 'linked' ELSE 'review' END,
                   CASE WHEN NOT ({linked}) THEN e.uscc END,
                   CASE WHEN NOT ({linked}) THEN b.p1 END,
                   CASE WHEN b.p1 IS NULL THEN 'no_candidate'
                        WHEN b.p1 < {threshold} THEN 'below_threshold'
                        WHEN b.p2 >= {AMBIGUITY_RATIO} * b.p1 THEN 'ambiguous' END
            FROM link_rec r
            LEFT JOIN link_settled s ON s.uid = r.uid
            LEFT JOIN best b ON b.record_uid = r.uid
            LEFT JOIN link_ent e ON e.uid = b.entity_uid
            WHERE s.uid IS NULL
        )
        SELECT r.feed, r.record_key,
               CASE WHEN r.given_uscc IS NOT NULL THEN 'uscc'
                    WHEN r.person_hash IS NOT NULL THEN 'person' ELSE 'none' END AS given,
               d.uscc, d.method, d.probability, d.status, d.candidate_uscc,
               d.candidate_probability, d.reason
        FROM link_rec r JOIN decided d ON d.uid = r.uid
        """,
    )
    return summary, LinkEvidence(factors, scale)


def drop_working_tables(engine: SqlEngine) -> None:
    for table in WORKING_TABLES:
        engine.drop(table)


def link_report(
    engine: SqlEngine,
    threshold: float,
    summary: model.ModelSummary,
    found: LinkEvidence,
) -> LinkReport:
    """Counts per feed and method of ``link_decisions``, with the fitted model."""
    rows = engine.rows(
        """
        SELECT feed, count(*),
               sum(CASE WHEN method = 'uscc' THEN 1 ELSE 0 END),
               sum(CASE WHEN method = 'person' THEN 1 ELSE 0 END),
               sum(CASE WHEN method = 'probabilistic' THEN 1 ELSE 0 END),
               sum(CASE WHEN status = 'review' THEN 1 ELSE 0 END),
               sum(CASE WHEN status = 'unlinked' THEN 1 ELSE 0 END)
        FROM link_decisions GROUP BY feed
        """
    )
    counts = {str(r[0]): FeedLinkCounts(*(int(v) for v in r[1:])) for r in rows}
    return LinkReport(
        threshold=threshold,
        feeds={feed: counts.get(feed, FeedLinkCounts()) for feed in LINKED_FEEDS},
        model={
            "probability_two_random_records_match": summary.probability_two_random_records_match,
            "match_weights": summary.match_weights,
            "no_match_odds": NO_MATCH_ODDS,
            "evidence": {
                f.name: {
                    "m": round(f.m, 4),
                    "u": round(f.u, 4),
                    "labelled": f.labelled,
                    "factor_agrees": round(f.agrees, 3),
                    "factor_disagrees": round(f.disagrees, 3),
                }
                for f in found.factors
            },
            "owner_scale": asdict(found.owner_scale) if found.owner_scale else None,
        },
    )


def run_link(con: duckdb.DuckDBPyConnection, threshold: float = DEFAULT_THRESHOLD) -> LinkReport:
    """Resolve every record and replace the DuckDB warehouse's ``links`` (one transaction)."""
    started = time.perf_counter()
    engine = DuckDBEngine(con)
    try:
        summary, found = decide_links(engine, threshold)
        report = link_report(engine, threshold, summary, found)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM links")
            con.execute(f"INSERT INTO links SELECT {', '.join(LINK_COLUMNS)} FROM link_decisions")
            report.seconds = time.perf_counter() - started
            con.execute(
                "INSERT INTO link_runs VALUES ($1, now(), $2)",
                [_run_id(), json.dumps(report.to_json())],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        drop_working_tables(engine)
    return report


def _run_id() -> str:
    return f"link-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"


def run_link_spark(warehouse: SparkWarehouse, threshold: float = DEFAULT_THRESHOLD) -> LinkReport:
    """Resolve every record on Spark and replace the Parquet warehouse's ``links``."""
    from puhui.ingest.spark_warehouse import arrow_schema

    started = time.perf_counter()
    spark = warehouse.spark
    engine = SparkEngine(spark)
    for feed in ("registrations", *LINKED_FEEDS, *evidence.HISTORY_FEEDS):
        warehouse.table(f"feed_{feed}").createOrReplaceTempView(f"feed_{feed}")
    try:
        summary, found = decide_links(engine, threshold)
        report = link_report(engine, threshold, summary, found)
        with warehouse.transaction() as transaction:
            transaction.replace("links", spark.table("link_decisions"))
            run_id = _run_id()
            report.seconds = time.perf_counter() - started
            run = pa.table(
                {
                    "run_id": [run_id],
                    "linked_at": [datetime.now(UTC)],
                    "report": [json.dumps(report.to_json())],
                },
                schema=arrow_schema("link_runs"),
            )
            transaction.write_rows("link_runs", transaction.new_part("link_runs", run_id), run)
    finally:
        drop_working_tables(engine)
    return report


def review_rows(
    con: duckdb.DuckDBPyConnection, feed: str | None = None, limit: int | None = None
) -> list[dict[str, object]]:
    """Records under review: feed, record_key, name, best candidate, its probability, why."""
    where = "AND l.feed = $1" if feed else ""
    limit_sql = f"LIMIT {int(limit)}" if limit else ""
    rows = con.execute(
        f"""
        SELECT l.feed, l.record_key, l.candidate_uscc, g.name, l.candidate_probability, l.reason
        FROM links l LEFT JOIN feed_registrations g ON g.uscc = l.candidate_uscc
        WHERE l.status = 'review' {where}
        ORDER BY l.feed, l.candidate_probability DESC NULLS LAST, l.record_key {limit_sql}
        """,
        [feed] if feed else [],
    ).fetchall()
    return [
        {
            "feed": r[0],
            "record_key": r[1],
            "candidate_uscc": r[2],
            "candidate_name": r[3],
            "probability": r[4],
            "reason_zh": REASONS[str(r[5])][0],
            "reason_en": REASONS[str(r[5])][1],
        }
        for r in rows
    ]


def export_links(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """Write ``feed,record_key,uscc,method,probability`` for every record; returns the count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (
            SELECT feed, record_key, uscc, method, round(probability, 6) AS probability
            FROM links ORDER BY feed, record_key
        ) TO {literal(str(out))} (HEADER, DELIMITER ',')
        """
    )
    return int(scalar(con, "SELECT count(*) FROM links"))


@dataclass
class FeedEvaluation:
    """Accuracy of one feed's links against the truth, for records without a uscc."""

    feed: str
    records: int  # records without a uscc in the warehouse
    resolvable: int  # of those, records whose business is registered in the warehouse
    linked: int
    correct: int
    unlinkable: int  # records whose business is not in the warehouse (its row quarantined)

    @property
    def precision(self) -> float:
        return self.correct / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.resolvable if self.resolvable else 1.0


def evaluate(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> list[FeedEvaluation]:
    """Precision and recall per feed against a simulator's ``truth/records.csv``.

    Counted over the records that carry no uscc (those the linker has to work out). A
    record whose business has no registration in the warehouse (its registration row was
    quarantined) cannot be linked; it is counted apart, not as a miss.
    """
    path = truth_dir / "records.csv"
    if not path.is_file():
        raise PuhuiError(f"找不到 {path}", f"{path} not found (a simulator's truth/ folder)")
    require_links(DuckDBEngine(con))
    rows = con.execute(
        f"""
        WITH truth AS (
            SELECT feed, record_key, nullif(uscc, '') AS uscc
            FROM read_csv({literal(str(path))}, all_varchar = true, header = true)
        )
        SELECT l.feed,
               count(*),
               count(*) FILTER (WHERE g.uscc IS NOT NULL),
               count(*) FILTER (WHERE l.uscc IS NOT NULL),
               count(*) FILTER (WHERE l.uscc = t.uscc),
               count(*) FILTER (WHERE t.uscc IS NOT NULL AND g.uscc IS NULL)
        FROM links l
        LEFT JOIN truth t USING (feed, record_key)
        LEFT JOIN feed_registrations g ON g.uscc = t.uscc
        WHERE l.given <> 'uscc'
        GROUP BY l.feed
        """
    ).fetchall()
    found = {str(r[0]): FeedEvaluation(str(r[0]), *(int(v) for v in r[1:])) for r in rows}
    return [found.get(feed, FeedEvaluation(feed, 0, 0, 0, 0, 0)) for feed in LINKED_FEEDS]

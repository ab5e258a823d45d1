"""Evidence beyond the names: when a business existed, and what a court case says.

Splink (:mod:`puhui.link.model`) compares what a record writes — a name, a district, an
address — with each registered business. At a million businesses that is not enough for
court parties written only as the owner's name or a short trade name: a county has dozens
of 王勇 running an individual business and several 王记面馆. The warehouse knows more about
each candidate and each case, and four pieces of it are used here, as SQL on the scored
pairs (so on both engines):

1. **Existence.** A record dated *d* (a case filed, a penalty decided) is about a business
   that existed on *d*: registered on or before *d* and not cancelled before *d* (with
   :data:`CANCELLED_GRACE_DAYS` of grace for a case that outlives its business by a few
   weeks). A candidate that did not exist is dropped: no court hears a case against a
   business that was not yet registered. The person step (an individual business found
   through its owner's id) prefers, likewise, the owner's businesses that existed then.
2. **Distress and role.** A business under enforcement (被执行人, 失信被执行人) or sued is
   more often one in financial trouble than a random one: a loan in default, a listing as
   abnormal, tax arrears — recorded on or before the filing date, never after. A court
   candidate's odds are multiplied by the Bayes factor ``m/u`` (distressed) or
   ``(1-m)/(1-u)`` (not), per role: ``m`` is the share of distressed businesses among the
   court parties that the exact steps identified (a uscc or an owner's id: labelled
   examples the warehouse holds itself), ``u`` the share among all businesses existing at
   those parties' filing dates.
3. **The other party of the case** (only for a court party matched through the owner's
   name). A private person who shares a name with a business owner is the commoner reading
   when the case is against a registered business; the owner of an individual business
   is commoner when it is against a bank or a person. The Bayes factor compares the
   court parties identified by their id as owners of an individual business (``m``) with
   those identified by their id as persons who run none (``u``): how often the other
   party of their case is a registered business (named by its registered name or uscc).

4. **The registered name, exactly.** Names are unique in a register; a record written
   exactly as one business's registered name (台州市众光超市有限责任公司) is about that
   business far more often than about another that normalises alike (温岭市众光超市).
   Splink compares normalised names only (an exact level of its own was given too little
   weight by EM, see :mod:`puhui.link.model`); the factor ``m/u`` is estimated per feed
   from the records that carried their uscc: ``m`` how often such a record is written
   exactly as its business's name, ``u`` how often exactly as another business's.

The factors are estimated on every run from the region's own data, never from a
simulator's truth; with fewer than :data:`MIN_LABELLED` labelled examples a factor is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from puhui.engine import SqlEngine

#: A court case or penalty a few weeks after a business was cancelled (an execution that
#: outlives it, a decision dated late) still names it.
CANCELLED_GRACE_DAYS = 90

#: Fewest labelled examples on each side for a factor to be estimated (else 1).
MIN_LABELLED = 30

#: Roles grouped by what they say about a business's finances.
ROLE_GROUPS = {
    "executed": "enforcement",
    "dishonest": "enforcement",
    "defendant": "defendant",
    "plaintiff": "plaintiff",
}

#: Feeds keyed by uscc whose history tells distress (registered as views on Spark).
HISTORY_FEEDS = ("loans", "abnormal", "tax")

#: Working tables of this module (dropped with the linker's).
WORKING_TABLES = ("link_distress", "link_case")


@dataclass(frozen=True)
class Factor:
    """One piece of evidence: its share among true matches (m) and among others (u)."""

    name: str
    m: float
    u: float
    labelled: int

    @property
    def agrees(self) -> float:
        return self.m / self.u

    @property
    def disagrees(self) -> float:
        return (1 - self.m) / (1 - self.u)


def existed(record: str, entity: str) -> str:
    """SQL: the business ``entity`` existed on the record's date (true when undated)."""
    return (
        f"NOT coalesce({entity}.established > {record}.dated_on"
        f" OR {entity}.closed_on < {record}.dated_on - INTERVAL {CANCELLED_GRACE_DAYS} DAY,"
        " FALSE)"
    )


def _role_group(column: str) -> str:
    whens = " ".join(f"WHEN '{role}' THEN '{group}'" for role, group in ROLE_GROUPS.items())
    return f"CASE {column} {whens} END"


def _share(agree: int, total: int) -> float:
    """Share with one pseudo-count each way, so that neither m nor u is 0 or 1."""
    return (agree + 1) / (total + 2)


def prepare(engine: SqlEngine) -> list[Factor]:
    """Estimate the factors from ``link_rec``, ``link_ent`` and ``link_settled``; leaves the
    working tables ``link_distress`` and ``link_case`` for :func:`pair_factor_sql`."""
    # First sign of financial trouble per business, from the feeds keyed by uscc.
    engine.materialize(
        "link_distress",
        """
        SELECT uscc, min(since) AS distressed_on FROM (
            SELECT borrower_id AS uscc, min(default_on) AS since FROM feed_loans
            WHERE default_on IS NOT NULL GROUP BY borrower_id
            UNION ALL
            SELECT uscc, min(listed_on) FROM feed_abnormal GROUP BY uscc
            UNION ALL
            SELECT uscc, min(CAST(period || '-01' AS DATE)) FROM feed_tax
            WHERE arrears > 0 GROUP BY uscc
        ) AS d WHERE uscc IS NOT NULL GROUP BY uscc
        """,
    )
    # Per court party: its role group, and whether the case's other party is a registered
    # business (a registered uscc, exactly a registered name, or the id of a person who
    # runs an individual business).
    engine.materialize(
        "link_case",
        f"""
        SELECT r.uid, r.dated_on, {_role_group("r.role")} AS role_group,
               coalesce(
                   bool_or(by_uscc.uid IS NOT NULL OR by_name.name IS NOT NULL
                           OR by_owner.person_hash IS NOT NULL),
                   FALSE
               ) AS opposite_business
        FROM link_rec r
        LEFT JOIN link_rec o ON o.case_no = r.case_no AND o.uid <> r.uid
        LEFT JOIN link_ent by_uscc ON by_uscc.uscc = o.given_uscc
        LEFT JOIN (SELECT DISTINCT name FROM link_ent) by_name ON by_name.name = o.name
        LEFT JOIN (
            SELECT DISTINCT person_hash FROM link_ent WHERE entity_type = 'individual'
        ) by_owner ON by_owner.person_hash = o.person_hash
        WHERE r.feed = 'court'
        GROUP BY r.uid, r.dated_on, r.role
        """,
    )
    return _exact_name_factors(engine) + _distress_factors(engine) + _opposite_factor(engine)


def _distressed(distress: str, dated: str) -> str:
    """SQL: the business had shown distress on or before ``dated``."""
    return f"coalesce({distress}.distressed_on <= {dated}, FALSE)"


def _exact_name_factors(engine: SqlEngine) -> list[Factor]:
    """Per feed: how often a record is written exactly as its business's registered name
    (m), and how often exactly as another business's (u), among the records that carried
    their uscc."""
    rows = engine.rows(
        """
        SELECT r.feed, count(*),
               sum(CASE WHEN r.name = e.name THEN 1 ELSE 0 END),
               sum(CASE WHEN other.name IS NOT NULL THEN 1 ELSE 0 END)
        FROM link_settled s
        JOIN link_rec r ON r.uid = s.uid
        JOIN link_ent e ON e.uscc = s.uscc
        LEFT JOIN (SELECT DISTINCT name FROM link_ent) other
          ON other.name = r.name AND r.name <> e.name
        WHERE s.method = 'uscc'
        GROUP BY r.feed
        """
    )
    return [
        Factor(
            f"exact_name:{feed}",
            m=_share(int(exact), int(total)),
            u=_share(int(other), int(total)),
            labelled=int(total),
        )
        for feed, total, exact, other in sorted(rows)
        if int(total) >= MIN_LABELLED
    ]


def _distress_factors(engine: SqlEngine) -> list[Factor]:
    """m per role group from the court parties the exact steps linked; u from all
    businesses existing on the first day of those parties' filing months."""
    labelled = engine.rows(
        f"""
        SELECT c.role_group, count(*),
               sum(CASE WHEN {_distressed("d", "c.dated_on")} THEN 1 ELSE 0 END)
        FROM link_case c
        JOIN link_settled s ON s.uid = c.uid AND s.method IN ('uscc', 'person')
        JOIN link_ent e ON e.uscc = s.uscc
        LEFT JOIN link_distress d ON d.uscc = e.uscc
        WHERE c.role_group IS NOT NULL AND c.dated_on IS NOT NULL
        GROUP BY c.role_group
        """
    )
    # u: the share of distressed businesses among those that existed in each month,
    # weighted by the labelled parties of each role group filed in that month.
    month = "CAST(date_trunc('month', c.dated_on) AS DATE)"
    population = engine.rows(
        f"""
        WITH months AS (
            SELECT c.role_group, {month} AS month, count(*) AS parties
            FROM link_case c
            JOIN link_settled s ON s.uid = c.uid AND s.method IN ('uscc', 'person')
            WHERE c.role_group IS NOT NULL AND c.dated_on IS NOT NULL
            GROUP BY c.role_group, {month}
        ), share AS (
            SELECT m.month,
                   avg(CASE WHEN {_distressed("d", "m.month")} THEN 1.0 ELSE 0.0 END)
                       AS distressed
            FROM (SELECT DISTINCT month FROM months) m
            JOIN link_ent e ON e.established <= m.month
                AND coalesce(e.closed_on >= m.month, TRUE)
            LEFT JOIN link_distress d ON d.uscc = e.uscc
            GROUP BY m.month
        )
        SELECT months.role_group, sum(months.parties * share.distressed) / sum(months.parties)
        FROM months JOIN share ON share.month = months.month
        GROUP BY months.role_group
        """
    )
    u_by_group = {str(r[0]): float(r[1]) for r in population}
    factors = []
    for group, total, agree in sorted(labelled):
        if int(total) < MIN_LABELLED or str(group) not in u_by_group:
            continue
        factors.append(
            Factor(
                f"distress:{group}",
                m=_share(int(agree), int(total)),
                u=min(max(u_by_group[str(group)], 0.001), 0.999),
                labelled=int(total),
            )
        )
    return factors


def _opposite_factor(engine: SqlEngine) -> list[Factor]:
    """Owners identified by id (``person`` links) against persons identified by id who run
    no individual business: how often the other party of their case is a business."""
    rows = engine.rows(
        """
        SELECT CASE WHEN s.method = 'person' THEN 'owner' ELSE 'private' END AS who,
               count(*), sum(CASE WHEN c.opposite_business THEN 1 ELSE 0 END)
        FROM link_case c JOIN link_settled s ON s.uid = c.uid
        WHERE s.method = 'person' OR s.reason = 'person_without_business'
        GROUP BY CASE WHEN s.method = 'person' THEN 'owner' ELSE 'private' END
        """
    )
    counts = {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
    owner, private = counts.get("owner", (0, 0)), counts.get("private", (0, 0))
    if min(owner[0], private[0]) < MIN_LABELLED:
        return []
    return [
        Factor(
            "opposite_business",
            m=_share(owner[1], owner[0]),
            u=_share(private[1], private[0]),
            labelled=owner[0] + private[0],
        )
    ]


def through_owner(record: str, entity: str) -> str:
    """SQL: a court party matched through the owner's name (its name is the owner's of an
    individual business, not the business's own)."""
    return (
        f"coalesce({record}.feed = 'court' AND {record}.name = {entity}.owner_key"
        f" AND {record}.name_norm <> {entity}.name_norm, FALSE)"
    )


def _number(value: float) -> str:
    """A DOUBLE literal (a bare 0.25 is a DECIMAL, whose products overflow)."""
    return f"CAST({value!r} AS DOUBLE)"


ONE = _number(1.0)


def pair_factor_sql(
    factors: list[Factor], record: str, entity: str, case: str, distress: str
) -> str:
    """SQL: the product of the Bayes factors of one pair (1 when nothing applies).

    ``record`` (``link_rec``), ``entity`` (``link_ent``), ``case`` (``link_case``, LEFT
    JOINed on the record) and ``distress`` (``link_distress``, LEFT JOINed on the entity)
    are the aliases in the caller's query.
    """
    by_name = {f.name: f for f in factors}

    def bayes(f: Factor, condition: str) -> str:
        return f"CASE WHEN {condition} THEN {_number(f.agrees)} ELSE {_number(f.disagrees)} END"

    distressed = _distressed(distress, f"{case}.dated_on")
    role_whens = " ".join(
        f"WHEN '{f.name.removeprefix('distress:')}' THEN {bayes(f, distressed)}"
        for f in factors
        if f.name.startswith("distress:")
    )
    role = f"CASE {case}.role_group {role_whens} ELSE {ONE} END" if role_whens else ONE
    opposite = ONE
    if "opposite_business" in by_name:
        opposite = (
            f"CASE WHEN {through_owner(record, entity)} THEN"
            f" {bayes(by_name['opposite_business'], f'{case}.opposite_business')} ELSE {ONE} END"
        )
    # Only the agreeing side: Splink's normalised-name level was fitted on names written
    # both ways, so its weight already stands for a name that is not exact.
    exact_whens = " ".join(
        f"WHEN '{f.name.removeprefix('exact_name:')}' THEN {_number(f.agrees)}"
        for f in factors
        if f.name.startswith("exact_name:")
    )
    exact = (
        f"CASE WHEN {record}.name = {entity}.name THEN"
        f" CASE {record}.feed {exact_whens} ELSE {ONE} END ELSE {ONE} END"
        if exact_whens
        else ONE
    )
    in_court = f"CASE WHEN {case}.uid IS NULL THEN {ONE} ELSE ({role}) * ({opposite}) END"
    return f"({exact}) * ({in_court})"


#: Scales tried for the odds of matches through the owner's name: 1/256 … 16, in half
#: powers of two.
OWNER_SCALES = tuple(2 ** (j / 2) for j in range(-16, 9))


def labelled_persons_sql() -> str:
    """SQL: court parties the person step identified by their id — an owner of an
    individual business (``truth_uid``: the business) or a person who runs none
    (``truth_uid`` NULL). Scored like the others, they calibrate the matches through the
    owner's name."""
    return """
        SELECT s.uid, e.uid AS truth_uid
        FROM link_settled s
        JOIN link_rec r ON r.uid = s.uid
        LEFT JOIN link_ent e ON e.uscc = s.uscc AND s.method = 'person'
        WHERE r.feed = 'court' AND (s.method = 'person' OR s.reason = 'person_without_business')
    """


@dataclass(frozen=True)
class OwnerScale:
    """The factor on the odds of matches through the owner's name, and on how many
    labelled persons it was estimated."""

    scale: float
    labelled: int


def owner_scale(engine: SqlEngine, no_match_odds: float) -> OwnerScale | None:
    """The factor ``k`` on the odds of matches through the owner's name that makes the
    labelled persons' outcomes likeliest (maximum likelihood over :data:`OWNER_SCALES`).

    Reads ``link_odds`` (record_uid, entity_uid, odds, through_owner) for the labelled
    persons. Splink's level "written as the owner" has a fixed m and a u among registered
    businesses only: it cannot know how many private persons share an owner's name, which
    is what the persons identified by id tell.
    """
    grid = " UNION ALL ".join(f"SELECT CAST({k!r} AS DOUBLE) AS k" for k in OWNER_SCALES)
    c = repr(no_match_odds)
    scaled = "o.odds * CASE WHEN o.through_owner THEN g.k ELSE 1.0 END"
    rows = engine.rows(
        f"""
        WITH grid AS ({grid}),
        labelled AS ({labelled_persons_sql()}),
        scored AS (
            SELECT g.k, o.record_uid,
                   sum({scaled}) AS total,
                   sum(CASE WHEN o.entity_uid = l.truth_uid THEN {scaled} ELSE 0.0 END)
                       AS truth_odds
            FROM link_odds o
            JOIN labelled l ON l.uid = o.record_uid
            -- Only parties with a candidate through the owner's name say anything of k.
            JOIN (SELECT DISTINCT record_uid FROM link_odds WHERE through_owner) t
              ON t.record_uid = o.record_uid
            CROSS JOIN grid g
            GROUP BY g.k, o.record_uid
        )
        SELECT k, sum(ln(CASE WHEN truth_odds > 0 THEN truth_odds ELSE {c} END / ({c} + total))),
               count(*)
        FROM scored GROUP BY k
        """
    )
    if not rows or int(rows[0][2]) < MIN_LABELLED:
        return None
    best = max(rows, key=lambda r: (float(r[1]), -abs(float(r[0]) - 1.0)))
    return OwnerScale(scale=float(best[0]), labelled=int(best[2]))

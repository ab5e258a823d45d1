"""The point-in-time feature table, as one SQL query written once for DuckDB and Spark.

:func:`features_sql` turns the registry (:mod:`puhui.features.registry`) into a single
SELECT over the warehouse tables (``feed_*`` and ``links``) that returns one row per
business registered before the as-of date, with every feature. Every source row is
filtered to what was dated before the as-of date before it is aggregated, so adding data
dated later changes no feature. Window bounds are computed here in Python and written into
the SQL as literals, which keeps the SQL free of engine-specific date arithmetic.

The query is written in DuckDB's dialect and runs on DuckDB as it is, or on Spark through
:class:`puhui.engine.SparkEngine`, which transpiles it with SQLGlot (the way Splink runs one
SQL on both engines).
"""

from __future__ import annotations

from datetime import date, timedelta

from puhui.features.registry import BLOCKS, MONTH_INDEX, REGISTRATION, RELATED, Block

#: Tables the query reads.
SOURCE_TABLES = (
    "feed_registrations",
    "feed_tax",
    "feed_tax_grade",
    "feed_social_insurance",
    "feed_utilities",
    "feed_penalties",
    "feed_court",
    "feed_abnormal",
    "feed_property",
    "feed_honors",
    "feed_carbon",
    "feed_loans",
    "feed_orders",
    "links",
)

#: Records of the resolved feeds, with the business each is linked to.
LINKED_VIEWS = {
    "linked_utilities": (
        "SELECT l.uscc, f.utility, f.account_no, f.period, f.usage, f.overdue,"
        f" {MONTH_INDEX} AS m FROM feed_utilities f JOIN links l"
        " ON l.feed = 'utilities' AND l.record_key = f.utility || '|' || f.account_no"
        " WHERE l.uscc IS NOT NULL"
    ),
    "linked_penalties": (
        "SELECT l.uscc, f.decided_on, f.serious, f.amount FROM feed_penalties f JOIN links l"
        " ON l.feed = 'penalties' AND l.record_key = f.decision_no WHERE l.uscc IS NOT NULL"
    ),
    "linked_court": (
        "SELECT l.uscc, f.role, f.filed_on, f.closed_on, f.amount FROM feed_court f JOIN links l"
        " ON l.feed = 'court' AND l.record_key = f.case_no || '|' || f.party_name"
        " WHERE l.uscc IS NOT NULL"
    ),
    "linked_property": (
        "SELECT l.uscc, f.cert_no, f.value, f.mortgaged FROM feed_property f JOIN links l"
        " ON l.feed = 'property' AND l.record_key = f.cert_no WHERE l.uscc IS NOT NULL"
    ),
}


def as_of_params(as_of: date) -> dict[str, str]:
    """The placeholder values of the registry's SQL for one as-of date."""

    def day(d: date) -> str:
        return f"DATE '{d.isoformat()}'"

    return {
        "as_of": day(as_of),
        "month": str(as_of.year * 12 + as_of.month - 1),
        "year": str(as_of.year),
        "d365": day(as_of - timedelta(days=365)),
        "d730": day(as_of - timedelta(days=730)),
        "d1095": day(as_of - timedelta(days=1095)),
    }


def _block_cte(block: Block, params: dict[str, str]) -> str:
    items = ", ".join(f"{f.sql.format(**params)} AS {f.name}" for f in block.features)
    rows = block.rows.format(**params)
    return f"b_{block.name} AS (SELECT uscc, {items} FROM ({rows}) AS r GROUP BY uscc)"


def _filled(block: Block, alias: str) -> list[str]:
    return [
        f"coalesce({alias}.{f.name}, {f.fill}) AS {f.name}"
        if f.fill != "NULL"
        else f"{alias}.{f.name}"
        for f in block.features
    ]


def features_sql(as_of: date) -> str:
    """One SELECT: ``as_of``, ``uscc`` and every registry feature, one row per business."""
    params = as_of_params(as_of)
    ctes = [f"ent AS ({REGISTRATION.rows.format(**params)})"]
    ctes += [f"{name} AS ({sql})" for name, sql in LINKED_VIEWS.items()]
    ctes += [_block_cte(block, params) for block in BLOCKS]
    columns = ["ent.uscc", "ent.legal_rep_id_hash"]
    joins = []
    for block in BLOCKS:
        columns += _filled(block, f"b_{block.name}")
        joins.append(f"LEFT JOIN b_{block.name} ON b_{block.name}.uscc = ent.uscc")
    ctes.append(f"per_entity AS (SELECT {', '.join(columns)} FROM ent {' '.join(joins)})")
    related = ", ".join(f"{f.sql.format(**params)} AS {f.name}" for f in RELATED.features)
    ctes.append(
        f"b_related AS (SELECT e.uscc, {related} FROM per_entity e JOIN per_entity o"
        " ON o.legal_rep_id_hash = e.legal_rep_id_hash AND o.uscc <> e.uscc GROUP BY e.uscc)"
    )
    names = [f.name for block in BLOCKS for f in block.features]
    outputs = [f"p.{n} AS {n}" for n in names] + _filled(RELATED, "b_related")
    kinds = [f.kind for block in (*BLOCKS, RELATED) for f in block.features]
    numbers = [
        _missing_not_nan(o) if k == "number" else o for o, k in zip(outputs, kinds, strict=True)
    ]
    return (
        "WITH " + ",\n".join(ctes) + f"\nSELECT {params['as_of']} AS as_of, p.uscc, "
        f"{', '.join(numbers)} FROM per_entity p LEFT JOIN b_related ON b_related.uscc = p.uscc"
    )


def _missing_not_nan(output: str) -> str:
    """``<expr> AS name`` with NaN (0.0/0.0 on DuckDB) made NULL: a feature is a number or
    missing, so scoring needs no NaN test per value (see ``Scorecard.score_sql``)."""
    expression, _, name = output.rpartition(" AS ")
    return f"CASE WHEN isnan({expression}) THEN NULL ELSE {expression} END AS {name}"

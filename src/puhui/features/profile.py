"""The credit profile (画像) of every business, assembled in the warehouse as JSON.

One SQL query (:func:`profiles_sql`) builds, for each business registered before the
as-of date, a document with six sections and its features:

``registration``  the register entry; the legal representative's id masked only
``relations``     a small graph: the business, its shareholders (people masked, companies
                  by uscc), its legal representative and the representative's other
                  businesses, and its supply-chain partners (the core enterprises it buys
                  from)
``operations``    monthly series of the 24 months before the as-of month: revenue, tax
                  paid, insured headcount, electricity (kWh) and water (m³)
``assets``        real-estate certificates with value and mortgage
``risk``          penalties, court cases, abnormal listings, months in tax or insurance
                  arrears
``tags``          honours, carbon grade, industry, policy lists
``features``      every feature of the registry (:mod:`puhui.features.registry`)

Like the features, every part is taken from data dated before the as-of date. Money is
written as a decimal string rounded half-up to the fen ("1234.50"), never as a float.
"""

from __future__ import annotations

from datetime import date

from puhui.features.pipeline import LINKED_VIEWS, as_of_params, features_sql
from puhui.features.registry import MONTH_INDEX, REGISTRATION, feature_names

#: Months of the operations series.
SERIES_MONTHS = 24
#: The sections of a profile document, in the order the profile page shows them; a
#: consent names the ones a bank may read (``as_of`` goes with every section).
PROFILE_SECTIONS: tuple[str, ...] = (
    "registration",
    "relations",
    "operations",
    "assets",
    "risk",
    "tags",
    "features",
)


def money(expr: str) -> str:
    """SQL: an amount as a decimal string to the fen (half-up), NULL stays NULL."""
    return f"CAST(round(CAST({expr} AS DECIMAL(20, 4)), 2) AS VARCHAR)"


def _series(table: str, value: str) -> str:
    """A CTE body: per uscc, the list of (period, value) of the series window."""
    return (
        f"SELECT uscc, list(struct_pack(period := period, value := {value}) ORDER BY period)"
        f" AS points FROM {table} WHERE {MONTH_INDEX} BETWEEN {{month}} - {SERIES_MONTHS}"
        " AND {month} - 1 GROUP BY uscc"
    )


def profiles_sql(as_of: date) -> str:
    """SELECT ``uscc``, ``name``, ``entity_type``, ``district``, ``industry_code`` and
    ``document`` (JSON text) for every business registered before ``as_of``."""
    p = as_of_params(as_of)
    feature_items = ", ".join(f"{name} := f.{name}" for name in feature_names())
    ctes = {
        "ent": REGISTRATION.rows.format(**p),
        **LINKED_VIEWS,
        "feat": features_sql(as_of),
        "s_revenue": _series("feed_tax", money("revenue")).format(**p),
        "s_tax": _series("feed_tax", money("tax_paid")).format(**p),
        "s_insured": _series("feed_social_insurance", "insured").format(**p),
        "s_power": _series(
            "(SELECT uscc, period, sum(usage) AS usage FROM linked_utilities"
            " WHERE utility = 'electricity' GROUP BY uscc, period)",
            "usage",
        ).format(**p),
        "s_water": _series(
            "(SELECT uscc, period, sum(usage) AS usage FROM linked_utilities"
            " WHERE utility = 'water' GROUP BY uscc, period)",
            "usage",
        ).format(**p),
        "holders": (
            "SELECT s.uscc, list(struct_pack(name := s.holder_name, kind := s.holder_type,"
            " id := coalesce(s.holder_id, s.holder_id_masked), ratio := s.ratio,"
            " subscribed_wan := CAST(s.subscribed AS VARCHAR))"
            " ORDER BY s.ratio DESC, s.holder_name)"
            " AS holders FROM feed_shareholders s GROUP BY s.uscc"
        ),
        "rep_others": (
            "SELECT e.uscc, list(struct_pack(uscc := o.uscc, name := o.name, status := o.status)"
            " ORDER BY o.uscc) AS others FROM ent e JOIN ent o"
            " ON o.legal_rep_id_hash = e.legal_rep_id_hash AND o.uscc <> e.uscc GROUP BY e.uscc"
        ),
        "partners": (
            "SELECT buyer_id AS uscc, list(DISTINCT struct_pack(uscc := seller_id,"
            " platform := platform)) AS partners FROM feed_orders"
            f" WHERE ordered_on < {p['as_of']} GROUP BY buyer_id"
        ),
        "props": (
            "SELECT l.uscc, list(struct_pack(cert_no := f.cert_no, kind := f.kind,"
            f" area_m2 := f.area_m2, value := {money('f.value')}, mortgaged := f.mortgaged,"
            " mortgagee := f.mortgagee) ORDER BY f.cert_no) AS items"
            " FROM feed_property f JOIN links l ON l.feed = 'property' AND l.record_key = f.cert_no"
            " WHERE l.uscc IS NOT NULL AND CAST(nullif(regexp_extract(f.cert_no,"
            f" '[(（]([0-9]{{4}})[)）]', 1), '') AS INTEGER) < {p['year']} GROUP BY l.uscc"
        ),
        "pens": (
            "SELECT l.uscc, list(struct_pack(decision_no := f.decision_no,"
            " authority := f.authority,"
            f" decided_on := f.decided_on, kind := f.kind, amount := {money('f.amount')},"
            " serious := f.serious) ORDER BY f.decided_on DESC) AS items FROM feed_penalties f"
            " JOIN links l ON l.feed = 'penalties' AND l.record_key = f.decision_no"
            f" WHERE l.uscc IS NOT NULL AND f.decided_on < {p['as_of']}"
            f" AND f.decided_on >= {p['d1095']} GROUP BY l.uscc"
        ),
        "cases": (
            "SELECT l.uscc, list(struct_pack(case_no := f.case_no, role := f.role,"
            f" filed_on := f.filed_on, amount := {money('f.amount')},"
            f" closed_on := CASE WHEN f.closed_on < {p['as_of']} THEN f.closed_on END)"
            " ORDER BY f.filed_on DESC) AS items FROM feed_court f JOIN links l"
            " ON l.feed = 'court' AND l.record_key = f.case_no || '|' || f.party_name"
            f" WHERE l.uscc IS NOT NULL AND f.filed_on < {p['as_of']} GROUP BY l.uscc"
        ),
        "listings": (
            "SELECT uscc, list(struct_pack(listed_on := listed_on, reason := reason,"
            f" removed_on := CASE WHEN removed_on < {p['as_of']} THEN removed_on END)"
            f" ORDER BY listed_on DESC) AS items FROM feed_abnormal WHERE listed_on < {p['as_of']}"
            " GROUP BY uscc"
        ),
        "arrears": (
            "SELECT uscc, list(struct_pack(period := period, source := source,"
            f" amount := {money('amount')}) ORDER BY period DESC, source) AS items FROM ("
            "SELECT uscc, period, 'tax' AS source, arrears AS amount FROM feed_tax"
            " WHERE arrears > 0 UNION ALL SELECT uscc, period, 'social_insurance', arrears"
            " FROM feed_social_insurance WHERE arrears > 0) AS a"
            f" WHERE {MONTH_INDEX} BETWEEN {p['month']} - 12 AND {p['month']} - 1 GROUP BY uscc"
        ),
        "honours": (
            "SELECT uscc, list(struct_pack(tag := tag, year := year) ORDER BY year DESC, tag)"
            f" AS items FROM feed_honors WHERE year < {p['year']} GROUP BY uscc"
        ),
    }
    document = f"""
        to_json(struct_pack(
            as_of := {p["as_of"]},
            registration := struct_pack(
                uscc := e.uscc, name := e.name, entity_type := e.entity_type,
                legal_rep := e.legal_rep, legal_rep_id := e.legal_rep_id_masked,
                industry_code := e.industry_code,
                registered_capital_wan := CAST(e.registered_capital AS VARCHAR),
                established := e.established,
                status := CASE WHEN e.status = 'cancelled' AND e.closed_on >= {p["as_of"]}
                               THEN 'active' ELSE e.status END,
                closed_on := CASE WHEN e.closed_on < {p["as_of"]} THEN e.closed_on END,
                division := e.division, address := e.address, lon := e.lon, lat := e.lat),
            relations := struct_pack(
                shareholders := coalesce(h.holders, []),
                legal_rep_other_businesses := coalesce(r.others, []),
                supply_chain_partners := coalesce(sc.partners, [])),
            operations := struct_pack(
                revenue := coalesce(sr.points, []), tax_paid := coalesce(st.points, []),
                insured := coalesce(si.points, []), electricity_kwh := coalesce(sp.points, []),
                water_m3 := coalesce(sw.points, [])),
            assets := struct_pack(property := coalesce(pr.items, [])),
            risk := struct_pack(
                penalties_36m := coalesce(pe.items, []), court := coalesce(ca.items, []),
                abnormal := coalesce(li.items, []), arrears_12m := coalesce(ar.items, [])),
            tags := struct_pack(
                honours := coalesce(ho.items, []), carbon_grade := f.carbon_grade_latest,
                industry_code := e.industry_code, policy_lists := []::VARCHAR[]),
            features := struct_pack({feature_items})
        ))
    """
    joins = [
        ("feat", "f"),
        ("holders", "h"),
        ("rep_others", "r"),
        ("partners", "sc"),
        ("s_revenue", "sr"),
        ("s_tax", "st"),
        ("s_insured", "si"),
        ("s_power", "sp"),
        ("s_water", "sw"),
        ("props", "pr"),
        ("pens", "pe"),
        ("cases", "ca"),
        ("listings", "li"),
        ("arrears", "ar"),
        ("honours", "ho"),
    ]
    join_sql = " ".join(
        f"LEFT JOIN {name} {alias} ON {alias}.uscc = e.uscc" for name, alias in joins
    )
    with_sql = ",\n".join(f"{name} AS ({sql})" for name, sql in ctes.items())
    return (
        f"WITH {with_sql}\nSELECT e.uscc, e.name, e.entity_type, e.division AS district,"
        f" e.industry_code, CAST({document} AS VARCHAR) AS document FROM ent e {join_sql}"
    )

"""What linking compares: one row per entity and one row per record to resolve, as SQL.

Entities are the registered businesses (``feed_registrations``, one per uscc). Records are
the rows of the feeds that name their party without a reliable uscc, at the grain the
contract keys them (``record_key``):

=========  ===========================  ======================================
feed       record_key                   what names the party
=========  ===========================  ======================================
utilities  ``utility|account_no``       account_name, address, uscc (often
                                        empty), holder_id (the owner's id)
penalties  ``decision_no``              name, uscc (optional), authority
court      ``case_no|party_name``       party_name, party_id (uscc or person)
property   ``cert_no``                  owner_name, owner_id (uscc or person)
=========  ===========================  ======================================

Both sides get the same comparison columns, which is what Splink's ``link_only`` needs:
``name_norm`` and ``name_form`` (see :mod:`puhui.link.normalize`), ``owner_key`` (the name
of the person behind the record: the legal representative of an individual business — the
only kind a department writes under its owner's name — and the written name for a record),
``district`` (county-level division code, NULL when the text does not say),
``court_district`` (court only: the division of the court, compared with the business's
district as a weaker hint) and ``address_key`` (road + number, utilities only).
"""

from __future__ import annotations

from dataclasses import dataclass

from puhui.ingest.checks import literal
from puhui.link.normalize import Places

#: Feeds whose records are resolved, in report order.
LINKED_FEEDS = ("utilities", "penalties", "court", "property")

#: GB/T 2260 province code of each province's one-character abbreviation, as court case
#: numbers write it: （2025）浙1002民初… is a case of court 1002 of Zhejiang (33), whose
#: four digits are the prefecture and county digits of the court's division (331002).
PROVINCE_ABBREVIATIONS = {
    "京": "11", "津": "12", "冀": "13", "晋": "14", "蒙": "15", "辽": "21", "吉": "22",
    "黑": "23", "沪": "31", "苏": "32", "浙": "33", "皖": "34", "闽": "35", "赣": "36",
    "鲁": "37", "豫": "41", "鄂": "42", "湘": "43", "粤": "44", "桂": "45", "琼": "46",
    "渝": "50", "川": "51", "贵": "52", "云": "53", "藏": "54", "陕": "61", "甘": "62",
    "青": "63", "宁": "64", "新": "65",
}  # fmt: skip


@dataclass(frozen=True)
class RecordSource:
    """How one feed's rows become records (SQL over ``feed_<name>`` aliased ``f``)."""

    feed: str
    record_key: str
    name: str
    district: str
    address: str | None
    uscc: str
    person_hash: str
    #: GROUP BY for feeds whose record spans several rows (utilities: one per month)
    group_by: str | None = None
    #: division of the court that heard the case (court only): a hint, not the party's
    #: own district, since a counterparty may be from anywhere
    court_district: str = "CAST(NULL AS VARCHAR)"
    #: the day the record was made (a case filed, a penalty decided): its business must
    #: have existed then
    dated_on: str = "CAST(NULL AS DATE)"
    #: court only: the case (whose other party is evidence too) and the party's role
    case_no: str = "CAST(NULL AS VARCHAR)"
    role: str = "CAST(NULL AS VARCHAR)"


def _court_division(places: Places) -> str:
    """The division of the court named in a case number, if it is one of the region's."""
    whens = " ".join(
        f"WHEN {literal(abbr)} THEN {literal(code)}"
        for abbr, code in sorted(PROVINCE_ABBREVIATIONS.items())
    )
    abbr = "regexp_extract(f.case_no, '[)）]([^0-9])([0-9]{4})', 1)"
    digits = "regexp_extract(f.case_no, '[)）]([^0-9])([0-9]{4})', 2)"
    code = f"(CASE {abbr} {whens} END || {digits})"
    counties = ", ".join(literal(c) for c in sorted(set(places.counties.values()))) or "''"
    return f"CASE WHEN {code} IN ({counties}) THEN {code} END"


def record_sources(places: Places) -> list[RecordSource]:
    """The record definition of every linked feed."""

    def district(*texts: str) -> str:
        return "coalesce(" + ", ".join(places.county_sql(t) for t in texts) + ")"

    return [
        RecordSource(
            feed="utilities",
            record_key="f.utility || '|' || f.account_no",
            # The latest month's name and address; an id given in any month.
            name="arg_max(f.account_name, f.period)",
            district=district("arg_max(f.address, f.period)", "arg_max(f.account_name, f.period)"),
            address="arg_max(f.address, f.period)",
            uscc="max(f.uscc)",
            person_hash="max(f.holder_id_hash)",
            group_by="f.utility, f.account_no",
        ),
        RecordSource(
            feed="penalties",
            record_key="f.decision_no",
            name="f.name",
            district=district("f.authority", "f.name"),
            address=None,
            uscc="f.uscc",
            person_hash="CAST(NULL AS VARCHAR)",
            dated_on="f.decided_on",
        ),
        RecordSource(
            feed="court",
            record_key="f.case_no || '|' || f.party_name",
            name="f.party_name",
            district=places.county_sql("f.party_name"),
            address=None,
            uscc="f.party_id",
            person_hash="f.party_id_hash",
            court_district=_court_division(places),
            dated_on="f.filed_on",
            case_no="f.case_no",
            role="f.role",
        ),
        RecordSource(
            feed="property",
            record_key="f.cert_no",
            name="f.owner_name",
            district=district("f.cert_no", "f.owner_name"),
            address=None,
            uscc="f.owner_id",
            person_hash="f.owner_id_hash",
        ),
    ]


def records_sql(places: Places) -> str:
    """SELECT of every record to resolve: feed, record_key, name, the comparison columns,
    ``given_uscc``, ``person_hash``, ``dated_on`` and, for court parties, ``case_no`` and
    ``role``."""
    parts = []
    for src in record_sources(places):
        inner = (
            f"SELECT {literal(src.feed)} AS feed, {src.record_key} AS record_key,"
            f" {src.name} AS name, {src.district} AS district,"
            f" {src.address or 'CAST(NULL AS VARCHAR)'} AS address,"
            f" {src.uscc} AS given_uscc, {src.person_hash} AS person_hash,"
            f" {src.court_district} AS court_district, {src.dated_on} AS dated_on,"
            f" {src.case_no} AS case_no, {src.role} AS role"
            f" FROM feed_{src.feed} f"
        )
        if src.group_by:
            inner += f" GROUP BY {src.group_by}"
        parts.append(inner)
    union = "\nUNION ALL\n".join(parts)
    return (
        "SELECT feed, record_key, name, "
        f"{places.name_sql('name')} AS name_norm, {places.form_sql('name')} AS name_form, "
        "name AS owner_key, district, "
        f"CASE WHEN address IS NOT NULL THEN {places.address_sql('address')} END AS address_key, "
        "court_district, given_uscc, person_hash, dated_on, case_no, role "
        f"FROM ({union}) AS r"
    )


def entities_sql(places: Places) -> str:
    """SELECT of every registered business with the same comparison columns, and when it
    existed (``established``, ``closed_on`` of a cancelled one)."""
    return (
        "SELECT uscc, name, "
        f"{places.name_sql('name')} AS name_norm, {places.form_sql('name')} AS name_form, "
        # Only an individual business is written under its owner's own name: an enterprise
        # is a legal person of its own.
        "CASE WHEN entity_type = 'individual' THEN legal_rep END AS owner_key, "
        "division AS district, division AS court_district, "
        f"{places.address_sql('address')} AS address_key, "
        "entity_type, status, legal_rep_id_hash AS person_hash, established, "
        # Only a cancelled business has ceased to exist; a revoked one can still be sued.
        "CASE WHEN status = 'cancelled' THEN closed_on END AS closed_on "
        "FROM feed_registrations"
    )

"""The service report page (考核通报): government and the operator see every bank ranked, a
bank's administrator its own bank beside the region's median; Plotly charts and a link to
the Excel workbook.

Thin: parse the dates, call the service, shape tables and figures. Charts are plotly.js
(served by the app) drawn from figure JSON in the page, started by one inline script
carrying the page's CSP nonce.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from puhui.accounts.actor import Role
from puhui.service_report.service import (
    STAGE_TIMES,
    BankFigures,
    Report,
    ReportError,
    default_period,
    report_for,
)
from puhui.web.deps import DbSession, PageActor
from puhui.web.i18n import N_, locale_of, translator
from puhui.web.nav import NavLink, register
from puhui.web.templating import add_template_dir, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")

register(
    NavLink(
        "/reports/service",
        N_("Bank service report"),
        roles=frozenset({Role.GOVERNMENT, Role.OPERATOR, Role.BANK_ADMIN}),
        description=N_("Banks' service times, SLA breaches, approvals, first and credit loans"),
    )
)

COLOURS = ("#b3261e", "#1f6fb2", "#1b7f4b", "#8a5a00")
STAGE_LABELS = {
    "acceptance": N_("Acceptance time"),
    "decision": N_("Decision time"),
    "disbursement": N_("Disbursement time"),
    "service": N_("Submission to decision time"),
}


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _layout(title: str, axis: str, percent: bool = False) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}},
        "barmode": "group",
        "height": 320,
        "margin": {"l": 60, "r": 10, "t": 40, "b": 60},
        "legend": {"orientation": "h", "y": -0.25},
        "yaxis": {"title": {"text": axis}},
    }
    if percent:
        layout["yaxis"]["tickformat"] = ".0%"
    return layout


def _bar(name: str, x: list[str], y: list[float | None], colour: str) -> dict[str, Any]:
    return {"type": "bar", "name": name, "x": x, "y": y, "marker": {"color": colour}}


def charts_all(report: Report, _: Any) -> dict[str, dict[str, Any]]:
    """Every bank, in rank order: stage medians, 90th percentiles, shares, breach rates."""
    names = [f.bank_name for f in report.banks]
    stages = [(code, _(STAGE_LABELS[code])) for code, _zh, _en in STAGE_TIMES[:3]]
    hours = _("hours")
    return {
        "median": {
            "data": [
                _bar(label, names, [f.stages[code].median_hours for f in report.banks], colour)
                for (code, label), colour in zip(stages, COLOURS, strict=False)
            ],
            "layout": _layout(_("Median time per stage"), hours),
        },
        "p90": {
            "data": [
                _bar(label, names, [f.stages[code].p90_hours for f in report.banks], colour)
                for (code, label), colour in zip(stages, COLOURS, strict=False)
            ],
            "layout": _layout(_("90th percentile per stage"), hours),
        },
        "shares": {
            "data": [
                _bar(
                    _("Approval rate"), names, [f.approval_rate for f in report.banks], COLOURS[0]
                ),
                _bar(
                    _("First-loan share"),
                    names,
                    [f.first_loan_share for f in report.banks],
                    COLOURS[1],
                ),
                _bar(
                    _("Credit-loan share"),
                    names,
                    [f.credit_loan_share for f in report.banks],
                    COLOURS[2],
                ),
                _bar(
                    _("SLA breach rate"), names, [f.breach_rate for f in report.banks], COLOURS[3]
                ),
            ],
            "layout": _layout(_("Rates and shares"), "", percent=True),
        },
    }


def charts_own(report: Report, _: Any) -> dict[str, dict[str, Any]]:
    """One bank beside the region's median: stage times and rates."""
    own = report.banks[0] if report.banks else None
    stages = [(code, _(STAGE_LABELS[code])) for code, _zh, _en in STAGE_TIMES]
    labels = [label for _code, label in stages]
    hours = _("hours")
    region = report.region

    def series(part: str) -> tuple[list[float | None], list[float | None]]:
        mine = [
            (own.stages[code].median_hours if part == "median" else own.stages[code].p90_hours)
            if own
            else None
            for code, _label in stages
        ]
        theirs = [region.get(f"{code}_{part}") for code, _label in stages]
        return mine, theirs

    rates = [
        ("approval_rate", _("Approval rate")),
        ("first_loan_share", _("First-loan share")),
        ("credit_loan_share", _("Credit-loan share")),
        ("breach_rate", _("SLA breach rate")),
    ]
    bank = own.bank_name if own else report.bank_code or ""
    figures: dict[str, dict[str, Any]] = {}
    for part, title in (
        ("median", _("Median time per stage")),
        ("p90", _("90th percentile per stage")),
    ):
        mine, theirs = series(part)
        figures[part] = {
            "data": [
                _bar(bank, labels, mine, COLOURS[0]),
                _bar(_("Region median"), labels, theirs, COLOURS[1]),
            ],
            "layout": _layout(title, hours),
        }
    figures["shares"] = {
        "data": [
            _bar(
                bank,
                [label for _n, label in rates],
                [getattr(own, name) if own else None for name, _l in rates],
                COLOURS[0],
            ),
            _bar(
                _("Region median"),
                [label for _n, label in rates],
                [region.get(name) for name, _l in rates],
                COLOURS[1],
            ),
        ],
        "layout": _layout(_("Rates and shares"), "", percent=True),
    }
    return figures


def _row(f: BankFigures) -> dict[str, Any]:
    return {
        "rank": f.rank if f.rank is not None else "—",
        "bank": f.bank_name,
        "code": f.bank_code,
        "received": f.received,
        "approved": f.approved,
        "declined": f.declined,
        "approval_rate": _share(f.approval_rate),
        "disbursed": f.disbursed,
        "amount": f"{f.disbursed_amount:,.2f}",
        "stages": {
            code: (_hours(s.median_hours), _hours(s.p90_hours), s.count)
            for code, s in f.stages.items()
        },
        "breaches": f"{f.sla_breaches} / {f.sla_checked}",
        "breach_rate": _share(f.breach_rate),
        "first_loan_share": _share(f.first_loan_share),
        "credit_loan_share": _share(f.credit_loan_share),
    }


@router.get("/reports/service", response_class=Response)
def service_report_page(
    request: Request,
    db: DbSession,
    actor: PageActor,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    _ = translator(request)
    first, last = default_period()
    error = None
    chosen_start, chosen_end = _day(start), _day(end)
    if (start and chosen_start is None) or (end and chosen_end is None):
        error = _("Enter the dates as YYYY-MM-DD.")
    chosen_start, chosen_end = chosen_start or first, chosen_end or last
    try:
        report = report_for(db, actor, chosen_start, chosen_end)
    except ReportError as failure:
        if failure.http_status == 403:
            raise
        error = failure.message_zh if locale_of(request) == "zh_CN" else failure.message_en
        chosen_start, chosen_end = first, last
        report = report_for(db, actor, chosen_start, chosen_end)
    own = report.bank_code is not None
    charts = charts_own(report, _) if own else charts_all(report, _)
    query = urlencode(
        {"start": chosen_start.isoformat(), "end": chosen_end.isoformat(), "format": "xlsx"}
    )
    region = report.region
    return render(
        request,
        "service_report/report.html",
        {
            "actor": actor,
            "start": chosen_start.isoformat(),
            "end": chosen_end.isoformat(),
            "own": own,
            "rows": [_row(f) for f in report.banks],
            "ranked": report.ranked_banks,
            "stages": [(code, STAGE_LABELS[code]) for code, _zh, _en in STAGE_TIMES],
            "region": {
                "stages": {
                    code: (
                        _hours(region.get(f"{code}_median")),
                        _hours(region.get(f"{code}_p90")),
                    )
                    for code, _zh, _en in STAGE_TIMES
                },
                "approval_rate": _share(region.get("approval_rate")),
                "breach_rate": _share(region.get("breach_rate")),
                "first_loan_share": _share(region.get("first_loan_share")),
                "credit_loan_share": _share(region.get("credit_loan_share")),
            },
            "charts": charts if report.banks else {},
            "download": f"/api/v1/reports/service?{query}",
            "error": error,
        },
    )

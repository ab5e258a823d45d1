"""The service report's API: ``GET /api/v1/reports/service`` as JSON or an Excel workbook.

Thin: parse, call the service, translate. Who sees what is the service's.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from puhui.service_report.excel import workbook
from puhui.service_report.schemas import ServiceReportOut
from puhui.service_report.service import report_for
from puhui.web.deps import CurrentActor, DbSession
from puhui.web.problems import PROBLEM_RESPONSES, STATUS_TITLES, ProblemDetails

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    400: {
        "model": ProblemDetails,
        "content": {"application/problem+json": {}},
        "description": STATUS_TITLES[400],
    },
}

router = APIRouter(tags=["reports"], responses=RESPONSES)


def filename(start: date, end: date, bank: str | None) -> str:
    suffix = f"-{bank}" if bank else ""
    return f"service-report-{start.isoformat()}-{end.isoformat()}{suffix}.xlsx"


@router.get(
    "/reports/service",
    response_model=ServiceReportOut,
    summary="Bank service report (考核通报)",
    responses={200: {"content": {XLSX: {}}, "description": "JSON, or the workbook"}},
)
def service_report(
    db: DbSession,
    actor: CurrentActor,
    start: Annotated[date, Query(description="first day of submission, YYYY-MM-DD")],
    end: Annotated[date, Query(description="last day of submission, YYYY-MM-DD")],
    format: Annotated[Literal["json", "xlsx"], Query(description="json or xlsx")] = "json",
) -> Any:
    """Per bank, for the applications submitted from ``start`` to ``end``: applications,
    stage times (median and 90th percentile), SLA breaches, approval rate, first-loan and
    credit-loan shares, and the ranking by service time. Government and the operator get
    every bank; a bank's administrator or system its own bank beside the region's median;
    anyone else 403. ``format=xlsx`` answers the Excel workbook (one sheet per table)."""
    report = report_for(db, actor, start, end)
    if format == "xlsx":
        return Response(
            workbook(report),
            media_type=XLSX,
            headers={
                "Content-Disposition": (
                    f'attachment; filename="{filename(start, end, report.bank_code)}"'
                ),
                "Cache-Control": "no-store",
            },
        )
    return ServiceReportOut.of(report)

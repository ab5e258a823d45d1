"""The bank service report's figures on a known set of applications (tests/service_report/
conftest.py), on SQLite and PostgreSQL; the Excel workbook; who sees what."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.models import AuditEntry
from puhui.service_report.excel import workbook
from puhui.service_report.service import (
    ReportError,
    ReportForbiddenError,
    bank_service_report,
    report_for,
)
from tests.service_report.conftest import END, START, Known


def _by_bank(report: object) -> dict[str, object]:
    return {f.bank_code: f for f in report.banks}  # type: ignore[attr-defined]


def test_figures_per_bank(session: Session, known: Known) -> None:
    report = bank_service_report(session, START, END)
    assert [f.bank_code for f in report.banks] == ["BANKB", "BANKA", "BANKC"]
    assert [f.rank for f in report.banks] == [1, 2, None]
    assert report.ranked_banks == 2

    a = _by_bank(report)["BANKA"]
    assert (a.received, a.accepted, a.decided, a.approved, a.declined, a.disbursed) == (
        10, 10, 8, 6, 2, 4,
    )  # fmt: skip
    assert a.approval_rate == pytest.approx(0.75)
    times = {code: (s.count, s.median_hours, s.p90_hours) for code, s in a.stages.items()}
    assert times["acceptance"] == (10, pytest.approx(5.5), pytest.approx(9.1))
    assert times["decision"] == (8, pytest.approx(45.0), pytest.approx(73.0))
    assert times["disbursement"] == (4, pytest.approx(5.0), pytest.approx(71.8))
    assert times["service"] == (8, pytest.approx(49.5), pytest.approx(80.3))
    assert (a.sla_checked, a.sla_breaches) == (30, 2)
    assert a.breach_rate == pytest.approx(2 / 30)
    assert a.disbursed_amount == Decimal("250000.10")
    assert (a.first_loans, a.first_loan_share) == (3, pytest.approx(0.75))
    assert (a.credit_loans, a.credit_loan_share) == (2, pytest.approx(0.5))
    assert a.bank_name == "甲银行"

    b = _by_bank(report)["BANKB"]
    assert (b.received, b.approved, b.declined, b.disbursed) == (4, 4, 0, 0)
    assert b.approval_rate == pytest.approx(1.0)
    assert (b.stages["acceptance"].median_hours, b.stages["acceptance"].p90_hours) == (
        pytest.approx(5.0),
        pytest.approx(7.4),
    )
    assert b.stages["decision"].median_hours == pytest.approx(2.5)
    assert b.stages["service"].p90_hours == pytest.approx(11.1)
    assert (b.sla_checked, b.sla_breaches, b.breach_rate) == (12, 0, 0.0)
    assert (b.first_loan_share, b.credit_loan_share) == (None, None)
    assert b.disbursed_amount == Decimal("0.00")

    c = _by_bank(report)["BANKC"]
    assert (c.received, c.accepted, c.approval_rate) == (1, 0, None)
    assert c.stages["acceptance"].median_hours is None

    by_stage = {(r.bank_code, r.stage): (r.checked, r.breached) for r in report.breaches}
    assert by_stage[("BANKA", "under_review")] == (8, 1)
    assert by_stage[("BANKA", "contract_signed")] == (4, 1)
    assert by_stage[("BANKA", "submitted")] == (10, 0)
    assert ("BANKA", "approved") not in by_stage  # the applicant's step does not count

    region = report.region
    assert region["received"] == pytest.approx(4.0)
    assert region["approval_rate"] == pytest.approx(0.875)
    assert region["acceptance_median"] == pytest.approx(5.25)
    assert region["service_median"] == pytest.approx(28.5)
    assert region["first_loan_share"] == pytest.approx(0.75)


def test_the_warehouse_loan_history_narrows_first_loans(session: Session, known: Known) -> None:
    history = {known.warehouse_business: date(2025, 3, 1), "91000000000000000X": date(2020, 1, 1)}
    report = bank_service_report(session, START, END, first_loans_before=history)
    a = _by_bank(report)["BANKA"]
    assert (a.first_loans, a.first_loan_share) == (2, pytest.approx(0.5))
    assert report.first_loan_basis == "platform+warehouse"
    # A loan in the history that started after the disbursement does not count against it.
    later = bank_service_report(
        session, START, END, first_loans_before={known.warehouse_business: date(2027, 1, 1)}
    )
    assert _by_bank(later)["BANKA"].first_loans == 3


def test_the_period_chooses_the_applications(session: Session, known: Known) -> None:
    report = bank_service_report(session, date(2026, 6, 1), date(2026, 6, 3))
    a = _by_bank(report)["BANKA"]
    assert a.received == 2  # submitted on 2 and 3 June
    assert a.stages["acceptance"].median_hours == pytest.approx(1.5)
    july = bank_service_report(session, date(2026, 7, 1), date(2026, 7, 31))
    assert [(f.bank_code, f.received, f.rank) for f in july.banks] == [("BANKA", 1, None)]
    empty = bank_service_report(session, date(2025, 1, 1), date(2025, 1, 31))
    assert (empty.banks, empty.region, empty.ranked_banks) == ([], {}, 0)
    with pytest.raises(ReportError, match="before the start"):
        bank_service_report(session, END, START)
    with pytest.raises(ReportError, match="at most"):
        bank_service_report(session, date(2020, 1, 1), date(2026, 1, 1))


def test_one_bank_beside_the_region(session: Session, known: Known) -> None:
    whole = bank_service_report(session, START, END)
    own = bank_service_report(session, START, END, bank_code="BANKA")
    assert [f.bank_code for f in own.banks] == ["BANKA"]
    assert own.banks[0].rank == 2
    assert own.region == whole.region  # the region is every bank's, anonymised
    assert {r.bank_code for r in own.breaches} == {"BANKA"}


def test_who_reads_what(session: Session, known: Known) -> None:
    government = Actor(kind="system", id="gov", role=Role.OPERATOR)
    assert len(report_for(session, government, START, END).banks) == 3
    admin = Actor(kind="client", id="sys-a", role=Role.BANK_SYSTEM, bank_code="BANKA")
    mine = report_for(session, admin, START, END)
    assert [f.bank_code for f in mine.banks] == ["BANKA"]
    assert mine.bank_code == "BANKA"
    for refused in (
        Actor(kind="user", id="9", role=Role.BANK_OFFICER, bank_code="BANKA"),
        Actor(kind="user", id="9", role=Role.ENTERPRISE, uscc="91331002000000001X"),
        Actor(kind="user", id="9", role=Role.CUSTOMER_MANAGER, bank_code="BANKA"),
    ):
        with pytest.raises(ReportForbiddenError):
            report_for(session, refused, START, END)
    reads = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "report.service.read")
    ).all()
    assert [(r.actor_id, r.detail.get("bank")) for r in reads] == [
        ("gov", None),
        ("sys-a", "BANKA"),
    ]


def test_the_workbook_holds_the_numbers(session: Session, known: Known) -> None:
    report = bank_service_report(session, START, END)
    book = load_workbook(BytesIO(workbook(report)))
    assert book.sheetnames == ["排名", "办理时长", "超时情况", "区域中位数", "说明"]

    ranking = book["排名"]
    header = [cell.value for cell in ranking[1]]
    assert header[:4] == ["排名", "银行代码", "银行名称", "受理申请数"]
    rows = {row[1]: row for row in ranking.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"BANKA", "BANKB", "BANKC"}
    a = dict(zip(header, rows["BANKA"], strict=True))
    assert a["排名"] == 2
    assert a["受理申请数"] == 10
    assert a["审批通过率"] == pytest.approx(0.75)
    assert a["放款金额（元）"] == pytest.approx(250000.10)
    assert a["受理时长中位数（小时）"] == pytest.approx(5.5)
    assert a["受理时长90分位（小时）"] == pytest.approx(9.1)
    assert a["超时次数"] == 2
    assert a["首贷占比"] == pytest.approx(0.75)
    assert a["信用贷款占比"] == pytest.approx(0.5)
    formats = {
        header[i]: ranking.cell(row=3, column=i + 1).number_format for i in range(len(header))
    }
    assert formats["放款金额（元）"] == "#,##0.00"
    assert formats["审批通过率"] == "0.0%"
    assert formats["受理时长中位数（小时）"] == "0.0"
    assert formats["受理申请数"] == "#,##0"

    times = list(book["办理时长"].iter_rows(min_row=2, values_only=True))
    assert ("BANKB", "乙银行", "受理", 4, pytest.approx(5.0), pytest.approx(7.4)) in times
    breaches = list(book["超时情况"].iter_rows(min_row=2, values_only=True))
    assert ("BANKA", "审查中", 8, 1, pytest.approx(0.125)) in breaches
    region = {row[0]: row[1] for row in book["区域中位数"].iter_rows(min_row=2, values_only=True)}
    assert region["审批通过率"] == pytest.approx(0.875)
    assert book["区域中位数"]["B3"].number_format == "0.0%"
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["统计期间"].startswith("2026-06-01 至 2026-06-30")

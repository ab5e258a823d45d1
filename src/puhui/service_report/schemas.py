"""What the service report's API gives (Pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from puhui.service_report.service import BankFigures, BreachRow, Report, StageTime


class StageTimeOut(BaseModel):
    count: int = Field(description="applications that reached the stage's end")
    median_hours: float | None
    p90_hours: float | None

    @classmethod
    def of(cls, stage: StageTime) -> StageTimeOut:
        return cls(count=stage.count, median_hours=stage.median_hours, p90_hours=stage.p90_hours)


class BankFiguresOut(BaseModel):
    rank: int | None = Field(description="by service time, 1 = fastest; null: no decision yet")
    bank: str
    bank_name: str
    received: int
    accepted: int
    decided: int
    approved: int
    declined: int
    disbursed: int
    disbursed_amount: Decimal = Field(description="yuan")
    approval_rate: float | None = Field(description="approved / (approved + declined)")
    stages: dict[str, StageTimeOut] = Field(
        description="acceptance, decision, disbursement, service (submitted → decision)"
    )
    sla_checked: int
    sla_breaches: int
    breach_rate: float | None
    first_loans: int
    first_loan_share: float | None = Field(description="of the disbursed applications")
    credit_loans: int
    credit_loan_share: float | None = Field(description="of the disbursed applications")

    @classmethod
    def of(cls, f: BankFigures) -> BankFiguresOut:
        return cls(
            rank=f.rank,
            bank=f.bank_code,
            bank_name=f.bank_name,
            received=f.received,
            accepted=f.accepted,
            decided=f.decided,
            approved=f.approved,
            declined=f.declined,
            disbursed=f.disbursed,
            disbursed_amount=f.disbursed_amount,
            approval_rate=f.approval_rate,
            stages={code: StageTimeOut.of(stage) for code, stage in f.stages.items()},
            sla_checked=f.sla_checked,
            sla_breaches=f.sla_breaches,
            breach_rate=f.breach_rate,
            first_loans=f.first_loans,
            first_loan_share=f.first_loan_share,
            credit_loans=f.credit_loans,
            credit_loan_share=f.credit_loan_share,
        )


class BreachOut(BaseModel):
    bank: str
    stage: str = Field(description="the stage whose deadline it was")
    checked: int
    breached: int

    @classmethod
    def of(cls, row: BreachRow) -> BreachOut:
        return cls(bank=row.bank_code, stage=row.stage, checked=row.checked, breached=row.breached)


class ServiceReportOut(BaseModel):
    """The bank service report (考核通报) for applications submitted from ``start`` to
    ``end``; a bank's reader gets its own bank only, beside the region's median."""

    start: date
    end: date
    generated_at: datetime
    bank: str | None = Field(description="the one bank shown, for a bank's reader")
    ranked_banks: int = Field(description="banks ranked in all")
    first_loan_basis: str = Field(description="platform, or platform+warehouse")
    banks: list[BankFiguresOut]
    breaches: list[BreachOut]
    region: dict[str, float | None] = Field(description="median over the banks, per indicator")

    @classmethod
    def of(cls, report: Report) -> ServiceReportOut:
        return cls(
            start=report.start,
            end=report.end,
            generated_at=report.generated_at,
            bank=report.bank_code,
            ranked_banks=report.ranked_banks,
            first_loan_basis=report.first_loan_basis,
            banks=[BankFiguresOut.of(f) for f in report.banks],
            breaches=[BreachOut.of(b) for b in report.breaches],
            region=report.region,
        )

"""The bank service report (考核通报): how fast and how well each bank served applications.

:func:`bank_service_report` computes, per bank, for the applications *submitted* in a period
(the cohort; whatever happened to them up to now counts):

* **received** — applications of the cohort the bank holds (sent to one of its products, or
  claimed from the open pool); accepted, decided, approved, declined, disbursed, and the
  amount disbursed (approved amount, else the amount asked; ``Decimal``);
* **stage times** in hours, median and 90th percentile (numpy's linear interpolation) over
  the applications that reached the stage's end: *acceptance* (submitted → accepted),
  *decision* (accepted → approved or declined, the review included), *disbursement*
  (contract signed → disbursed: the bank's own step; the applicant's signing is not
  counted) and *service* (submitted → approved or declined, the bank's whole part up to
  its decision — the time banks are **ranked** by, shortest median first, then shortest
  90th percentile, then code; a bank with no decision yet is ranked last);
* **SLA breaches** — of the stage events that had a deadline in a stage the bank must act in
  (submitted, accepted, under review, contract signed), how many came late or expired
  (``application_events.due_at`` / ``breached``); per bank and per stage;
* **approval rate** — approved / (approved + declined);
* **first-loan share** — of the disbursed applications, those that are the business's first
  loan: its first disbursement on the platform (no disbursed application of the same
  business, at any bank, before it) and — when the warehouse's loan history is given
  (``first_loans_before``, the earliest loan start per business) — no loan in that history
  started before the disbursement day;
* **credit-loan share** — of the disbursed applications, those for a product whose guarantee
  is ``credit`` (信用); a pool application without a product counts as not credit.

The region figure beside a bank is the **median over the banks** of each indicator (no bank
is named). Everything is computed in SQL (one query for the cohort's applications with
their stage times, one aggregate for the SLA events) and vectorised pandas/numpy group-bys;
nothing loops over applications.

:func:`report_for` narrows for an actor: government and the operator see every bank; a
bank's administrator or system sees its own bank beside the region median; anyone else
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import case, func, inspect, literal, select
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import list_banks, record, utcnow
from puhui.errors import PuhuiError

#: Stage times, in the order shown: (code, zh, en).
STAGE_TIMES: tuple[tuple[str, str, str], ...] = (
    ("acceptance", "受理", "acceptance"),
    ("decision", "审批", "decision"),
    ("disbursement", "放款", "disbursement"),
    ("service", "受理至审批", "submission to decision"),
)
#: Stages in which the bank must act next: their deadlines count against it (the
#: applications domain's SLA table: submitted, accepted, under review, contract signed).
BANK_STAGES: tuple[str, ...] = ("submitted", "accepted", "under_review", "contract_signed")
#: Longest period one report covers.
MAX_DAYS = 3 * 366
FEN = Decimal("0.01")


class ReportError(PuhuiError):
    """A report that cannot be made as asked (HTTP 400)."""

    http_status = 400


class ReportForbiddenError(ReportError):
    http_status = 403


@dataclass(frozen=True)
class StageTime:
    """One stage's time for one bank: applications measured, median and 90th percentile
    (hours; None when none reached the stage's end)."""

    count: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class BankFigures:
    """One bank's figures for the period (see the module's docstring)."""

    bank_code: str
    bank_name: str
    received: int
    accepted: int
    decided: int
    approved: int
    declined: int
    disbursed: int
    disbursed_amount: Decimal
    approval_rate: float | None
    stages: dict[str, StageTime]
    sla_checked: int
    sla_breaches: int
    breach_rate: float | None
    first_loans: int
    first_loan_share: float | None
    credit_loans: int
    credit_loan_share: float | None
    rank: int | None = None


@dataclass(frozen=True)
class BreachRow:
    """SLA deadlines of one bank in one stage: how many applied, how many were missed."""

    bank_code: str
    stage: str
    checked: int
    breached: int

    @property
    def rate(self) -> float | None:
        return self.breached / self.checked if self.checked else None


#: Indicators whose median over the banks is the region's figure.
REGION_INDICATORS: tuple[str, ...] = (
    "received",
    "approval_rate",
    "breach_rate",
    "first_loan_share",
    "credit_loan_share",
    *(f"{code}_{part}" for code, _zh, _en in STAGE_TIMES for part in ("median", "p90")),
)


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    generated_at: datetime
    banks: list[BankFigures]
    breaches: list[BreachRow]
    region: dict[str, float | None]
    ranked_banks: int
    first_loan_basis: str  # "platform" or "platform+warehouse"
    bank_code: str | None = None


def indicator(figures: BankFigures, name: str) -> float | None:
    """One of :data:`REGION_INDICATORS` for one bank."""
    for code, _zh, _en in STAGE_TIMES:
        if name == f"{code}_median":
            return figures.stages[code].median_hours
        if name == f"{code}_p90":
            return figures.stages[code].p90_hours
    value = getattr(figures, name)
    return None if value is None else float(value)


# --------------------------------------------------------------------------- computing


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise ReportError(
            f"结束日期 {end} 早于开始日期 {start}", f"the end {end} is before the start {start}"
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise ReportError(
            f"一份通报最多覆盖 {MAX_DAYS} 天", f"a report covers at most {MAX_DAYS} days"
        )
    return datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())


def _has_tables(session: Session) -> bool:
    inspector = inspect(session.connection())
    return all(inspector.has_table(t) for t in ("applications", "application_events"))


def _cohort_rows(session: Session, since: datetime, until: datetime) -> pd.DataFrame:
    """One row per application of the cohort held by a bank, with the first time it reached
    each stage, whether it was approved, its money, its product's guarantee, and its
    business's first disbursement on the platform (all time, all banks)."""
    from puhui.applications.models import Application, ApplicationEvent
    from puhui.market.models import Product

    e = ApplicationEvent

    def first(*stages: str) -> Any:
        return func.min(case((e.stage.in_(stages), e.at)))

    stage_times = (
        select(
            e.application_id.label("app_id"),
            first("accepted").label("accepted_at"),
            first("approved", "declined").label("decided_at"),
            first("approved").label("approved_at"),
            first("declined").label("declined_at"),
            first("contract_signed").label("signed_at"),
            first("disbursed").label("disbursed_at"),
        )
        .group_by(e.application_id)
        .subquery("stage_times")
    )
    disbursed = (
        select(e.application_id.label("app_id"), func.min(e.at).label("at"))
        .where(e.stage == "disbursed")
        .group_by(e.application_id)
        .subquery("disbursed")
    )
    first_loan = (
        select(Application.uscc.label("uscc"), func.min(disbursed.c.at).label("first_at"))
        .join(disbursed, disbursed.c.app_id == Application.id)
        .group_by(Application.uscc)
        .subquery("first_loan")
    )
    statement = (
        select(
            Application.id,
            Application.bank_code,
            Application.uscc,
            Application.submitted_at,
            stage_times.c.accepted_at,
            stage_times.c.decided_at,
            stage_times.c.approved_at,
            stage_times.c.declined_at,
            stage_times.c.signed_at,
            stage_times.c.disbursed_at,
            first_loan.c.first_at,
            case((Product.guarantee == "credit", literal(1)), else_=literal(0)).label("credit"),
        )
        .outerjoin(stage_times, stage_times.c.app_id == Application.id)
        .outerjoin(first_loan, first_loan.c.uscc == Application.uscc)
        .outerjoin(Product, Product.id == Application.product_id)
        .where(
            Application.bank_code.is_not(None),
            Application.submitted_at >= since,
            Application.submitted_at < until,
        )
        .order_by(Application.id)
    )
    columns = [
        "id",
        "bank_code",
        "uscc",
        "submitted_at",
        "accepted_at",
        "decided_at",
        "approved_at",
        "declined_at",
        "signed_at",
        "disbursed_at",
        "first_at",
        "credit",
    ]
    frame = pd.DataFrame(session.execute(statement).all(), columns=columns)
    for name in columns[3:11]:
        frame[name] = pd.to_datetime(frame[name])
    return frame


def _sla_rows(session: Session, since: datetime, until: datetime) -> list[BreachRow]:
    """Per bank and stage: events of the cohort with a deadline, and those missed (SQL)."""
    from puhui.applications.models import Application, ApplicationEvent

    e = ApplicationEvent
    statement = (
        select(
            Application.bank_code,
            e.from_stage,
            func.count(),
            func.sum(case((e.breached, 1), else_=0)),
        )
        .join(Application, Application.id == e.application_id)
        .where(
            Application.bank_code.is_not(None),
            Application.submitted_at >= since,
            Application.submitted_at < until,
            e.due_at.is_not(None),
            e.from_stage.in_(BANK_STAGES),
        )
        .group_by(Application.bank_code, e.from_stage)
        .order_by(Application.bank_code, e.from_stage)
    )
    return [
        BreachRow(str(bank), str(stage), int(checked), int(breached or 0))
        for bank, stage, checked, breached in session.execute(statement)
    ]


def _amounts(session: Session, since: datetime, until: datetime) -> dict[str, Decimal]:
    """Per bank: the amount disbursed on the cohort's applications (exact, summed in SQL)."""
    from puhui.applications.models import Application, ApplicationEvent

    disbursed = select(ApplicationEvent.application_id).where(ApplicationEvent.stage == "disbursed")
    statement = (
        select(
            Application.bank_code,
            func.sum(func.coalesce(Application.approved_amount, Application.amount)),
        )
        .where(
            Application.bank_code.is_not(None),
            Application.submitted_at >= since,
            Application.submitted_at < until,
            Application.id.in_(disbursed),
        )
        .group_by(Application.bank_code)
    )
    return {str(bank): _money(total) for bank, total in session.execute(statement)}


def _hours(end: pd.Series, begin: pd.Series) -> pd.Series:
    seconds = (end - begin).dt.total_seconds()
    return seconds / 3600.0


def _stage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per bank and stage: count, median and 90th percentile of the hours (vectorised)."""
    spans = pd.DataFrame(
        {
            "bank_code": frame["bank_code"],
            "acceptance": _hours(frame["accepted_at"], frame["submitted_at"]),
            "decision": _hours(frame["decided_at"], frame["accepted_at"]),
            "disbursement": _hours(frame["disbursed_at"], frame["signed_at"]),
            "service": _hours(frame["decided_at"], frame["submitted_at"]),
        }
    )
    long = spans.melt(id_vars="bank_code", var_name="stage", value_name="hours").dropna()
    grouped = long.groupby(["bank_code", "stage"])["hours"]
    return pd.DataFrame(
        {
            "count": grouped.count(),
            "median": grouped.median(),
            "p90": grouped.quantile(0.9),
        }
    )


def _first_loans(frame: pd.DataFrame, before: Mapping[str, date] | None) -> pd.Series:
    """Per application: disbursed, and the business's first loan (see the docstring)."""
    disbursed = frame["disbursed_at"].notna()
    first = disbursed & (frame["disbursed_at"] == frame["first_at"])
    if before:
        history = pd.to_datetime(frame["uscc"].map(dict(before)))
        prior = history.notna() & (history < frame["disbursed_at"].dt.normalize())
        first = first & ~prior
    return first


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(values: list[float | None]) -> float | None:
    present = np.asarray([v for v in values if v is not None], dtype=np.float64)
    return float(np.median(present)) if len(present) else None


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def bank_service_report(
    session: Session,
    start: date,
    end: date,
    bank_code: str | None = None,
    first_loans_before: Mapping[str, date] | None = None,
) -> Report:
    """The service report of every bank (ranked) for the applications submitted from
    ``start`` to ``end`` (both included), or of ``bank_code`` only (its rank among all, and
    the region median over all banks beside it). ``first_loans_before``: the earliest loan
    start per business in the warehouse's loan history, if it is to count (see the module's
    docstring)."""
    since, until = _period(start, end)
    names = {bank.code: bank.name for bank in list_banks(session)}
    basis = "platform+warehouse" if first_loans_before is not None else "platform"
    if not _has_tables(session):
        return Report(start, end, utcnow(), [], [], {}, 0, basis, bank_code)
    frame = _cohort_rows(session, since, until)
    if frame.empty:
        return Report(start, end, utcnow(), [], [], {}, 0, basis, bank_code)
    breaches = _sla_rows(session, since, until)
    frame["first"] = _first_loans(frame, first_loans_before)
    frame["is_disbursed"] = frame["disbursed_at"].notna()
    flags = pd.DataFrame(
        {
            "bank_code": frame["bank_code"],
            "received": 1,
            "accepted": frame["accepted_at"].notna(),
            "decided": frame["decided_at"].notna(),
            "approved": frame["approved_at"].notna(),
            "declined": frame["declined_at"].notna() & frame["approved_at"].isna(),
            "disbursed": frame["is_disbursed"],
            "first": frame["first"],
            "credit": frame["is_disbursed"] & (frame["credit"] == 1),
        }
    )
    counts = flags.groupby("bank_code").sum()
    times: dict[Any, dict[Any, Any]] = _stage_table(frame).to_dict("index")
    amounts = _amounts(session, since, until)
    sla = pd.DataFrame(
        [(b.bank_code, b.checked, b.breached) for b in breaches],
        columns=["bank_code", "checked", "breached"],
    )
    sla_totals: dict[Any, dict[Any, Any]] = sla.groupby("bank_code").sum().to_dict("index")

    def stage(bank: str, code: str) -> StageTime:
        found = times.get((bank, code))
        if found is None:
            return StageTime(0, None, None)
        return StageTime(
            int(found["count"]), round(float(found["median"]), 4), round(float(found["p90"]), 4)
        )

    figures = []
    for bank in sorted(counts.index):  # one step per bank
        c = counts.loc[bank]
        sla_checked = int(sla_totals.get(bank, {}).get("checked", 0))
        sla_breaches = int(sla_totals.get(bank, {}).get("breached", 0))
        disbursed = int(c["disbursed"])
        figures.append(
            BankFigures(
                bank_code=str(bank),
                bank_name=names.get(str(bank), str(bank)),
                received=int(c["received"]),
                accepted=int(c["accepted"]),
                decided=int(c["decided"]),
                approved=int(c["approved"]),
                declined=int(c["declined"]),
                disbursed=disbursed,
                disbursed_amount=_money(amounts.get(bank, Decimal(0))),
                approval_rate=_share(int(c["approved"]), int(c["approved"] + c["declined"])),
                stages={code: stage(str(bank), code) for code, _zh, _en in STAGE_TIMES},
                sla_checked=sla_checked,
                sla_breaches=sla_breaches,
                breach_rate=_share(sla_breaches, sla_checked),
                first_loans=int(c["first"]),
                first_loan_share=_share(int(c["first"]), disbursed),
                credit_loans=int(c["credit"]),
                credit_loan_share=_share(int(c["credit"]), disbursed),
            )
        )
    ranked = _rank(figures)
    region = {name: _median([indicator(f, name) for f in ranked]) for name in REGION_INDICATORS}
    shown = [f for f in ranked if bank_code is None or f.bank_code == bank_code]
    rows = [b for b in breaches if bank_code is None or b.bank_code == bank_code]
    ranked_count = sum(1 for f in ranked if f.rank is not None)
    return Report(start, end, utcnow(), shown, rows, region, ranked_count, basis, bank_code)


def _rank(figures: list[BankFigures]) -> list[BankFigures]:
    """Banks by service time: shortest median first, then shortest p90, then code; banks
    without a decision last (unranked)."""
    timed = [f for f in figures if f.stages["service"].median_hours is not None]
    untimed = [f for f in figures if f.stages["service"].median_hours is None]
    timed.sort(
        key=lambda f: (
            f.stages["service"].median_hours,
            f.stages["service"].p90_hours,
            f.bank_code,
        )
    )
    ranked = [replace(f, rank=i) for i, f in enumerate(timed, start=1)]
    return ranked + sorted(untimed, key=lambda f: f.bank_code)


# --------------------------------------------------------------------------- who sees what


def may_read_all(actor: Actor) -> bool:
    return actor.role in (Role.GOVERNMENT, Role.OPERATOR) and actor.kind != "client"


def may_read_own(actor: Actor) -> bool:
    return actor.role in (Role.BANK_ADMIN, Role.BANK_SYSTEM) and bool(actor.bank_code)


def report_for(
    session: Session,
    actor: Actor,
    start: date,
    end: date,
    first_loans_before: Mapping[str, date] | None = None,
) -> Report:
    """The report ``actor`` may read: every bank for government and the operator; its own
    bank beside the region median for a bank's administrator or system (another bank's
    figures never leave the service); anyone else 403. Each read is audited."""
    if may_read_all(actor):
        report = bank_service_report(session, start, end, None, first_loans_before)
    elif may_read_own(actor):
        report = bank_service_report(session, start, end, actor.bank_code, first_loans_before)
    else:
        raise ReportForbiddenError(
            "只有政府部门、平台运营方和银行管理员可以查看考核通报",
            "only government, the operator and a bank's administrator read the service report",
        )
    record(
        session,
        actor,
        "report.service.read",
        "report",
        f"service:{start.isoformat()}..{end.isoformat()}",
        {"bank": report.bank_code},
    )
    return report


def default_period(today: date | None = None) -> tuple[date, date]:
    """The first day of the month to today (a report page opened without dates)."""
    today = today or utcnow().date()
    return today.replace(day=1), today

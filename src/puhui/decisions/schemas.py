"""What the decisions API takes and sends (Pydantic). Money is a decimal string in yuan,
rates a decimal string in annual %."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from puhui.decisions.engine import HintResult, SurveyFigures
from puhui.decisions.models import Decision
from puhui.decisions.service import MAX_AMOUNT, MAX_TERM

Amount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, decimal_places=2)]
Figure = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), decimal_places=2)]


class DecisionIn(BaseModel):
    """A loan request to decide: the business, the amount, and optionally the bank's
    product and a term."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=18, max_length=18, examples=["91331002123456788L"])
    amount: Amount = Field(description="yuan", examples=["300000.00"])
    product_id: int | None = Field(default=None, ge=1, description="one of your bank's products")
    term_months: int | None = Field(default=None, ge=1, le=MAX_TERM)


class ReasonOut(BaseModel):
    code: str
    kind: str = Field(description="knockout, decline, product or refer")
    text: str = Field(description="in the caller's language")
    zh: str
    en: str


class DecisionOut(BaseModel):
    id: str = Field(description="the decision's public id")
    created_at: datetime
    uscc: str
    bank_code: str | None
    product_id: int | None
    amount: Decimal
    term_months: int | None
    outcome: str = Field(description="approve, refer or decline")
    reasons: list[ReasonOut]
    approved_amount: Decimal | None
    pre_credit_limit: Decimal
    rate: Decimal = Field(description="annual %")
    instant: bool = Field(description="approved within the limit on an instant product")
    features_as_of: date
    champion_model_id: int
    challenger_model_ids: list[int]
    policy_version: str
    policy_fingerprint: str
    application_id: int | None
    result: dict[str, Any] = Field(description="the engine's whole answer (see docs/decisions.md)")

    @classmethod
    def of(cls, row: Decision, locale: str) -> DecisionOut:
        result = row.result
        approved = result.get("approved_amount")
        return cls(
            id=row.public_id,
            created_at=row.created_at,
            uscc=row.uscc,
            bank_code=row.bank_code,
            product_id=row.product_id,
            amount=row.amount,
            term_months=row.term_months,
            outcome=row.outcome,
            reasons=[reason(r, locale) for r in result["reasons"]],
            approved_amount=Decimal(approved) if approved is not None else None,
            pre_credit_limit=Decimal(result["limit"]["pre_credit_limit"]),
            rate=Decimal(result["price"]["rate"]),
            instant=bool(result["instant"]),
            features_as_of=row.features_as_of,
            champion_model_id=row.champion_model_id,
            challenger_model_ids=list(row.challenger_model_ids),
            policy_version=row.policy_version,
            policy_fingerprint=row.policy_fingerprint,
            application_id=row.application_id,
            result=result,
        )


def reason(data: dict[str, str], locale: str) -> ReasonOut:
    return ReasonOut(
        code=data["code"],
        kind=data["kind"],
        text=data["zh"] if locale == "zh_CN" else data["en"],
        zh=data["zh"],
        en=data["en"],
    )


class HintIn(BaseModel):
    """The survey (惠富码): the business and what it reports, per month in yuan. Every
    figure is optional; see docs/decisions.md for how each one is used."""

    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=18, max_length=18)
    revenue: Figure | None = Field(default=None, description="monthly revenue, yuan")
    profit: (
        Annotated[Decimal, Field(ge=Decimal("-1e12"), le=Decimal("1e12"), decimal_places=2)] | None
    ) = Field(default=None, description="monthly profit, yuan (may be negative)")
    costs: Figure | None = Field(default=None, description="monthly costs other than rent, yuan")
    rent: Figure | None = Field(default=None, description="monthly rent, yuan")
    employees: int | None = Field(default=None, ge=0, le=100_000)

    def figures(self) -> SurveyFigures:
        return SurveyFigures(
            revenue=self.revenue,
            profit=self.profit,
            costs=self.costs,
            rent=self.rent,
            employees=self.employees,
        )


class AdjustmentOut(BaseModel):
    feature: str
    recorded: float | None = Field(description="the department data's value (null: none)")
    used: float = Field(description="the value the hint used")
    source: str = Field(description="recorded or reported")


class HintOut(BaseModel):
    uscc: str
    features_as_of: date
    risk: str = Field(description="low, medium, high or ineligible")
    risk_text: str
    pd: float
    credit_points: int
    tier: str
    pre_credit_limit: Decimal
    repayment_capacity: Decimal | None
    suggested_amount: Decimal
    rate: Decimal = Field(description="annual %")
    reasons: list[ReasonOut]
    model_reasons: list[dict[str, str]]
    adjustments: list[AdjustmentOut]
    policy_version: str

    @classmethod
    def of(cls, uscc: str, as_of: date, result: HintResult, locale: str) -> HintOut:
        data = result.to_json()
        capacity = data["repayment_capacity"]
        return cls(
            uscc=uscc,
            features_as_of=as_of,
            risk=data["risk"],
            risk_text=data["risk_zh"] if locale == "zh_CN" else data["risk_en"],
            pd=data["pd"],
            credit_points=data["credit_points"],
            tier=data["tier"],
            pre_credit_limit=Decimal(data["pre_credit_limit"]),
            repayment_capacity=Decimal(capacity) if capacity is not None else None,
            suggested_amount=Decimal(data["suggested_amount"]),
            rate=Decimal(data["rate"]),
            reasons=[reason(r, locale) for r in data["reasons"]],
            model_reasons=data["model_reasons"],
            adjustments=[AdjustmentOut(**a) for a in data["adjustments"]],
            policy_version=data["policy"]["version"],
        )


class PingOut(BaseModel):
    status: str = "ok"

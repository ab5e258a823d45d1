"""What the government lists' API takes and gives (Pydantic)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from puhui.govlists.models import GovList, GovListPush
from puhui.govlists.service import AddResult, DefineResult, MemberView, Tracking, TrackingRow
from puhui.govlists.vocab import CODE_PATTERN

Kind = Literal["tech", "srdi", "first_loan", "key_support", "other"]
Status = Literal["draft", "pushed", "archived"]
EntityType = Literal["enterprise", "individual", "coop"]
Tier = Literal["survival", "growth", "development"]
Code = Annotated[str, Field(pattern=f"^{CODE_PATTERN}$", description="the list's code")]
Industry = Annotated[str, Field(pattern=r"^\d{2,4}$", description="GB/T 4754 division or prefix")]
District = Annotated[str, Field(pattern=r"^\d{6}$", description="county-level division code")]


class GovListIn(BaseModel):
    """A new list (it starts as a draft, with no members)."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: str = Field(min_length=1, max_length=200)
    kind: Kind = Field(
        description="tech 科技型, srdi 专精特新, first_loan 首贷培育, key_support 重点支持, other"
    )
    description: str = Field(default="", max_length=5000)


class GovListOut(BaseModel):
    code: str
    name: str
    kind: Kind
    description: str
    status: Status
    criteria: dict[str, Any] | None = Field(description="the filter it was last defined by")
    members: int
    banks: list[str] = Field(description="banks it was pushed to (a bank sees only itself)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, found: GovList, members: int, banks: list[str]) -> GovListOut:
        return cls(
            code=found.code,
            name=found.name,
            kind=found.kind,
            description=found.description,
            status=found.status,
            criteria=found.criteria,
            members=members,
            banks=banks,
            created_at=found.created_at,
            updated_at=found.updated_at,
        )


class CriteriaIn(BaseModel):
    """A filter over the published profiles and the latest champion tiers; at least one
    list must be given, every one given narrows."""

    model_config = ConfigDict(extra="forbid")

    industries: list[Industry] = Field(default_factory=list, max_length=100)
    districts: list[District] = Field(default_factory=list, max_length=500)
    entity_types: list[EntityType] = Field(default_factory=list, max_length=3)
    tiers: list[Tier] = Field(default_factory=list, max_length=3)


class DefineOut(BaseModel):
    code: str
    matched: int = Field(description="businesses the filter found")
    added: int = Field(description="of them, put on the list now")
    already: int = Field(description="of them, on the list before")

    @classmethod
    def of(cls, result: DefineResult) -> DefineOut:
        return cls(
            code=result.code, matched=result.matched, added=result.added, already=result.already
        )


class RowProblemOut(BaseModel):
    row: int = Field(description="1-based data row (the header is not counted)")
    value: str
    code: Literal["empty", "length", "characters", "region", "check", "duplicate"]
    reason: str = Field(description="why, in the caller's language")


class UploadOut(BaseModel):
    code: str
    rows: int = Field(description="data rows read (blank rows skipped)")
    added: int
    already: int = Field(description="good rows whose business was on the list before")
    refused: int
    problems: list[RowProblemOut]

    @classmethod
    def of(cls, result: AddResult, locale: str) -> UploadOut:
        return cls(
            code=result.code,
            rows=result.rows,
            added=result.added,
            already=result.already,
            refused=len(result.problems),
            problems=[
                RowProblemOut(
                    row=p.row,
                    value=p.value,
                    code=p.code,
                    reason=p.text(locale),
                )
                for p in result.problems
            ],
        )


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(pattern=r"^[0-9A-Za-z]{18}$")
    note: str = Field(default="", max_length=500)


class MemberOut(BaseModel):
    uscc: str
    name: str | None = Field(description="registered name, when it has a published profile")
    added_at: datetime
    source: Literal["upload", "filter", "manual"]
    note: str
    pre_credit_limit: Decimal | None = Field(
        description="largest pre-credit limit on the reader's bank's white lists (any bank's "
        "for government), yuan; null when on none"
    )
    products: int = Field(description="white lists it is on")

    @classmethod
    def of(cls, view: MemberView) -> MemberOut:
        return cls(
            uscc=view.uscc,
            name=view.name,
            added_at=view.added_at,
            source=view.source,
            note=view.note,
            pre_credit_limit=view.pre_credit_limit,
            products=view.products,
        )


class PushIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    banks: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=1, max_length=100
    )


class PushOut(BaseModel):
    bank: str
    pushed_at: datetime

    @classmethod
    def of(cls, push: GovListPush) -> PushOut:
        return cls(bank=push.bank_code, pushed_at=push.pushed_at)


class TrackingRowOut(BaseModel):
    bank: str | None = Field(description="null: all banks (the reader's own, for a bank)")
    applications: int = Field(description="applications of members since they were listed")
    applied: int = Field(description="members with such an application")
    approved: int = Field(description="members with such an application approved")
    disbursed: int = Field(description="those applications disbursed")
    disbursed_amount: Decimal = Field(description="their amount, yuan")
    first_loans: int = Field(description="members whose first platform loan is one of them")

    @classmethod
    def of(cls, row: TrackingRow) -> TrackingRowOut:
        return cls(
            bank=row.bank_code,
            applications=row.applications,
            applied=row.applied,
            approved=row.approved,
            disbursed=row.disbursed,
            disbursed_amount=row.disbursed_amount,
            first_loans=row.first_loans,
        )


class TrackingOut(BaseModel):
    code: str
    members: int
    total: TrackingRowOut
    banks: list[TrackingRowOut]

    @classmethod
    def of(cls, tracking: Tracking) -> TrackingOut:
        return cls(
            code=tracking.code,
            members=tracking.members,
            total=TrackingRowOut.of(tracking.total),
            banks=[TrackingRowOut.of(row) for row in tracking.banks],
        )

"""What the market's API takes and gives: products, filters, matches (Pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from puhui.market import matching
from puhui.market.models import Product, ProductMatch

Guarantee = Literal["credit", "guarantee", "mortgage", "pledge"]
EntityType = Literal["enterprise", "individual", "coop"]
Tier = Literal["survival", "growth", "development"]
PolicyList = Annotated[
    str,
    Field(
        pattern=r"^(specialized|high_tech|tech_sme|contract|first_loan|key_support"
        r"|list:[A-Za-z0-9][A-Za-z0-9_.\-]{0,31})$",
        description="honours lists (specialized, high_tech, tech_sme, contract), government "
        "list kinds (first_loan, key_support) or one government list (list:<code>)",
    ),
]
Status = Literal["draft", "published", "withdrawn"]
Sort = Literal["popularity", "rate"]

Money = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999999999.99"), decimal_places=2)]
Rate = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
Months = Annotated[int, Field(ge=1, le=600)]
Division = Annotated[str, Field(pattern=r"^\d{2}$", description="GB/T 4754 division, 2 digits")]
District = Annotated[str, Field(pattern=r"^\d{6}$", description="county-level division code")]

_RANGES = (
    ("amount_min", "amount_max"),
    ("term_min", "term_max"),
    ("rate_min", "rate_max"),
)


class ProductIn(BaseModel):
    """A product as a bank writes it. Target lists empty = any; thresholds null = none."""

    model_config = ConfigDict(extra="forbid")

    bank: str | None = Field(
        default=None, description="the bank's code; a bank's user or system may leave it out"
    )
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    amount_min: Money = Field(description="smallest loan, yuan")
    amount_max: Money = Field(description="largest loan, yuan")
    term_min: Months = Field(description="shortest term, months")
    term_max: Months = Field(description="longest term, months")
    rate_min: Rate = Field(description="lowest annual rate, %")
    rate_max: Rate = Field(description="highest annual rate, %")
    guarantee: Guarantee
    entity_types: list[EntityType] = Field(default_factory=list, max_length=10)
    industries: list[Division] = Field(default_factory=list, max_length=100)
    districts: list[District] = Field(default_factory=list, max_length=500)
    tiers: list[Tier] = Field(default_factory=list, max_length=3)
    policy_lists: list[PolicyList] = Field(
        default_factory=list, max_length=10, description="on at least one of these lists"
    )
    min_score: float | None = Field(default=None, ge=0, le=1000)
    min_credit_points: int | None = Field(default=None, ge=0, le=1000)
    max_pd: float | None = Field(default=None, gt=0, le=1)
    min_age_years: float | None = Field(default=None, ge=0, le=200)
    exclude_dishonest: bool = True
    exclude_abnormal: bool = True
    instant: bool = Field(default=False, description="may be approved without a person")

    @model_validator(mode="after")
    def _ranges(self) -> ProductIn:
        for low, high in _RANGES:
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        return self


class ProductUpdate(BaseModel):
    """A change to a product: only the fields sent change (the bank never does)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    amount_min: Money | None = None
    amount_max: Money | None = None
    term_min: Months | None = None
    term_max: Months | None = None
    rate_min: Rate | None = None
    rate_max: Rate | None = None
    guarantee: Guarantee | None = None
    entity_types: list[EntityType] | None = None
    industries: list[Division] | None = None
    districts: list[District] | None = None
    tiers: list[Tier] | None = None
    policy_lists: list[PolicyList] | None = None
    min_score: float | None = Field(default=None, ge=0, le=1000)
    min_credit_points: int | None = Field(default=None, ge=0, le=1000)
    max_pd: float | None = Field(default=None, gt=0, le=1)
    min_age_years: float | None = Field(default=None, ge=0, le=200)
    exclude_dishonest: bool | None = None
    exclude_abnormal: bool | None = None
    instant: bool | None = None


class ProductFilters(BaseModel):
    """Filters of the product list; each one left out does not filter."""

    bank: str | None = Field(default=None, description="only this bank's products")
    amount: Decimal | None = Field(default=None, ge=0, description="lends this amount, yuan")
    rate: Decimal | None = Field(default=None, ge=0, description="lowest rate at most this, %")
    guarantee: Guarantee | None = None
    term: int | None = Field(default=None, ge=1, description="lends for this many months")
    status: Status | None = Field(default=None, description="only products in this status")


class ProductOut(BaseModel):
    id: int
    bank: str
    name: str
    description: str
    amount_min: Decimal
    amount_max: Decimal
    term_min: int
    term_max: int
    rate_min: Decimal
    rate_max: Decimal
    guarantee: Guarantee
    entity_types: list[str]
    industries: list[str]
    districts: list[str]
    tiers: list[str]
    policy_lists: list[str]
    min_score: float | None
    min_credit_points: int | None
    max_pd: float | None
    min_age_years: float | None
    exclude_dishonest: bool
    exclude_abnormal: bool
    instant: bool
    status: Status
    popularity: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls.model_validate(
            {
                **{c: getattr(product, c) for c in cls.model_fields if c != "bank"},
                "bank": product.bank_code,
            }
        )


class RuleOut(BaseModel):
    code: str = Field(description="the rule's code (see docs/market.md)")
    text: str = Field(description="what it means, in the caller's language")

    @classmethod
    def of(cls, code: str, locale: str) -> RuleOut:
        rule = matching.RULES_BY_CODE.get(code)
        return cls(code=code, text=rule.text(locale) if rule else code)


class MatchOut(BaseModel):
    """A business on a product's white list (白名单)."""

    uscc: str
    as_of: date
    pre_credit_limit: Decimal = Field(description="the amount offered, yuan")
    rate: Decimal = Field(description="the rate offered, annual %")
    fit: float
    gov_lists: list[str] = Field(
        default_factory=list,
        description="codes of the government lists pushed to the product's bank that the "
        "business is on (精准推送)",
    )

    @classmethod
    def of(cls, match: ProductMatch, gov_lists: list[str] | None = None) -> MatchOut:
        return cls(
            uscc=match.uscc,
            as_of=match.as_of,
            pre_credit_limit=match.pre_credit_limit,
            rate=match.rate,
            fit=round(match.fit, 4),
            gov_lists=gov_lists or [],
        )


class BusinessProductOut(BaseModel):
    """A product for one business: whether it is eligible, what it would be offered, and the
    rules that hold (``fits``) and fail (``fails``)."""

    product: ProductOut
    as_of: date
    eligible: bool
    fit: float
    pre_credit_limit: Decimal = Field(description="the amount offered, yuan (0: none)")
    rate: Decimal = Field(description="the rate offered, annual %")
    fits: list[RuleOut]
    fails: list[RuleOut]


def active_rules(product: Product) -> list[str]:
    """The codes of the rules ``product`` sets (``limit`` always applies)."""
    codes = [
        code
        for code, is_set in (
            ("entity_type", bool(product.entity_types)),
            ("industry", bool(product.industries)),
            ("district", bool(product.districts)),
            ("tier", bool(product.tiers)),
            ("policy_list", bool(product.policy_lists)),
            ("min_score", product.min_score is not None),
            ("min_credit_points", product.min_credit_points is not None),
            ("max_pd", product.max_pd is not None),
            ("min_age", product.min_age_years is not None),
            ("dishonest", product.exclude_dishonest),
            ("abnormal", product.exclude_abnormal),
            ("limit", True),
        )
        if is_set
    ]
    return codes


def business_product(match: ProductMatch, locale: str) -> BusinessProductOut:
    fails = list(match.reasons or [])
    fits = [code for code in active_rules(match.product) if code not in fails]
    return BusinessProductOut(
        product=ProductOut.of(match.product),
        as_of=match.as_of,
        eligible=match.eligible,
        fit=round(match.fit, 4),
        pre_credit_limit=match.pre_credit_limit,
        rate=match.rate,
        fits=[RuleOut.of(code, locale) for code in fits],
        fails=[RuleOut.of(code, locale) for code in fails],
    )

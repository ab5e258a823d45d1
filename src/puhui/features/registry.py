"""Every entity feature, declared once: name, zh and en description, source feeds, window,
and the SQL that computes it.

The pipeline (:mod:`puhui.features.pipeline`), the docs and the profile page all read this
registry. Features are grouped in blocks; a block is one aggregation over one source's
rows that are dated **before the as-of date** (the block's ``rows`` SQL does that
filtering), grouped by ``uscc``. A feature's ``sql`` is an aggregate expression over those
rows; ``fill`` is its value for an entity with no rows in the block (0 for counts, NULL
where "no data" is not "zero").

Placeholders in the SQL, filled by the pipeline for one as-of date D:

``{as_of}``      D, as a DATE literal
``{month}``      the month index of D (year · 12 + month − 1); periods before it are past
``{year}``       the year of D; yearly data of earlier years is past
``{d365}``       D − 365 days, a DATE literal (start of the 12-month window)
``{d730}``       D − 730 days, a DATE literal (start of the 24-month window)
``{d1095}``      D − 1095 days, a DATE literal (start of the 36-month window)

Month windows: "last 3 months" are the periods ``{month}-3 … {month}-1``; the month of D
itself is not yet reported on D.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["number", "flag", "category"]


@dataclass(frozen=True)
class Feature:
    name: str
    zh: str
    en: str
    sql: str
    kind: Kind = "number"
    fill: str = "NULL"
    window: str = "as of"


@dataclass(frozen=True)
class Block:
    """One aggregation: ``rows`` (a SELECT with a ``uscc`` column) grouped by uscc."""

    name: str
    sources: tuple[str, ...]
    rows: str
    features: tuple[Feature, ...]
    #: profile section the block's features belong to
    section: str


def _count(name: str, zh: str, en: str, condition: str, window: str) -> Feature:
    return Feature(name, zh, en, f"count(*) FILTER (WHERE {condition})", fill="0", window=window)


def _share(name: str, zh: str, en: str, condition: str, months: int) -> Feature:
    """Share of the reported months of the last ``months`` in which ``condition`` held.

    A share rather than a count, so that a business with a short history is compared
    with others on the months it has.
    """
    window = f"m >= {{month}} - {months}"
    return Feature(
        name,
        zh,
        en,
        f"count(*) FILTER (WHERE {window} AND {condition})"
        f" / nullif(count(*) FILTER (WHERE {window}), 0)",
        window=f"{months} months",
    )


# Periods 'YYYY-MM' as a month index, comparable with {month}.
MONTH_INDEX = (
    "(CAST(substr(period, 1, 4) AS INTEGER) * 12 + CAST(substr(period, 6, 2) AS INTEGER) - 1)"
)


def _ratio_trend(value: str, recent: tuple[int, int], earlier: tuple[int, int]) -> str:
    """avg(value) over months ago ``recent`` ÷ over months ago ``earlier``, minus 1."""

    def avg(span: tuple[int, int]) -> str:
        return (
            f"avg({value}) FILTER (WHERE m BETWEEN {{month}} - {span[1]} AND {{month}} - {span[0]})"
        )

    return f"{avg(recent)} / nullif({avg(earlier)}, 0) - 1"


REGISTRATION = Block(
    name="registration",
    sources=("registrations",),
    rows="SELECT * FROM feed_registrations WHERE established < {as_of}",
    section="registration",
    features=(
        Feature(
            "age_years",
            "成立年限（年）",
            "years since establishment",
            "CAST(max(date_diff('day', established, {as_of})) AS DOUBLE) / 365.25",
        ),
        Feature("entity_type", "主体类型", "entity type", "max(entity_type)", "category"),
        Feature(
            "industry_code",
            "行业小类代码",
            "industry class (GB/T 4754)",
            "max(industry_code)",
            "category",
        ),
        Feature(
            "industry_division",
            "行业大类代码",
            "industry division (first two digits)",
            "max(substr(industry_code, 1, 2))",
            "category",
        ),
        Feature("district", "所在县区代码", "county-level division", "max(division)", "category"),
        Feature(
            "registered_capital_wan",
            "注册资本（万元）",
            "registered capital (10k yuan)",
            "max(CAST(registered_capital AS DOUBLE))",
        ),
        Feature(
            "is_cancelled",
            "截至观察日已注销",
            "cancelled before the as-of date",
            "max(CASE WHEN status = 'cancelled' AND closed_on < {as_of} THEN 1 ELSE 0 END)",
            "flag",
            "0",
        ),
    ),
)

TAX = Block(
    name="tax",
    sources=("tax",),
    rows=f"SELECT uscc, {MONTH_INDEX} AS m, CAST(revenue AS DOUBLE) AS revenue, "
    "CAST(tax_paid AS DOUBLE) AS tax_paid, CAST(arrears AS DOUBLE) AS arrears "
    f"FROM feed_tax WHERE {MONTH_INDEX} < {{month}}",
    section="operations",
    features=(
        Feature(
            "revenue_avg_3m",
            "近3个月月均销售收入（元）",
            "average monthly revenue, last 3 months (yuan)",
            "avg(revenue) FILTER (WHERE m >= {month} - 3)",
            window="3 months",
        ),
        Feature(
            "revenue_avg_12m",
            "近12个月月均销售收入（元）",
            "average monthly revenue, last 12 months (yuan)",
            "avg(revenue) FILTER (WHERE m >= {month} - 12)",
            window="12 months",
        ),
        Feature(
            "revenue_trend_3m",
            "近3个月收入较前3个月变化率",
            "revenue of the last 3 months against the 3 before, change ratio",
            _ratio_trend("revenue", (1, 3), (4, 6)),
            window="6 months",
        ),
        Feature(
            "revenue_trend_6m",
            "近6个月收入较前6个月变化率",
            "revenue of the last 6 months against the 6 before, change ratio",
            _ratio_trend("revenue", (1, 6), (7, 12)),
            window="12 months",
        ),
        Feature(
            "revenue_trend_12m",
            "近12个月收入较前12个月变化率",
            "revenue of the last 12 months against the 12 before, change ratio",
            _ratio_trend("revenue", (1, 12), (13, 24)),
            window="24 months",
        ),
        Feature(
            "revenue_volatility_12m",
            "近12个月收入波动系数",
            "coefficient of variation of monthly revenue, last 12 months",
            "stddev_samp(revenue) FILTER (WHERE m >= {month} - 12)"
            " / nullif(avg(revenue) FILTER (WHERE m >= {month} - 12), 0)",
            window="12 months",
        ),
        Feature(
            "tax_paid_12m",
            "近12个月实缴税额（元）",
            "tax paid, last 12 months (yuan)",
            "sum(tax_paid) FILTER (WHERE m >= {month} - 12)",
            fill="0",
            window="12 months",
        ),
        Feature(
            "revenue_growth_24m",
            "近24个月收入月均增长率（对数趋势）",
            "monthly growth rate of revenue over the last 24 months (slope of log revenue)",
            # A slope over two years says more about how a business is run than a
            # comparison of two windows, which one good or bad month can swing.
            "regr_slope(ln(revenue), m) FILTER (WHERE m >= {month} - 24 AND revenue > 0)",
            window="24 months",
        ),
        _count(
            "tax_arrears_months_12m",
            "近12个月欠税月数",
            "months with tax arrears, last 12 months",
            "m >= {month} - 12 AND arrears > 0",
            "12 months",
        ),
        _share(
            "tax_arrears_share_36m",
            "近36个月欠税月份占比",
            "share of reported months with tax arrears, last 36 months",
            "arrears > 0",
            36,
        ),
        Feature(
            "tax_arrears_latest",
            "最近一期欠税金额（元）",
            "tax arrears in the latest reported month (yuan)",
            "max_by(arrears, m)",
        ),
        _count(
            "tax_months_reported_12m",
            "近12个月申报月数",
            "months with a tax return, last 12 months",
            "m >= {month} - 12",
            "12 months",
        ),
    ),
)

_GRADE_RANK = (
    "CASE grade WHEN 'A' THEN 1 WHEN 'B' THEN 2 WHEN 'M' THEN 3 WHEN 'C' THEN 4 WHEN 'D' THEN 5 END"
)

TAX_GRADE = Block(
    name="tax_grade",
    sources=("tax_grade",),
    rows=f"SELECT uscc, year, grade, {_GRADE_RANK} AS rank FROM feed_tax_grade"
    " WHERE year < {year}",
    section="risk",
    features=(
        Feature(
            "taxpayer_grade_latest",
            "最近年度纳税信用等级",
            "taxpayer credit grade of the latest year",
            "max_by(grade, year)",
            "category",
            window="years before the as-of year",
        ),
        Feature(
            "taxpayer_grade_worst_3y",
            "近3年最差纳税信用等级（1=A … 5=D）",
            "worst taxpayer grade of the last 3 years (1 = A … 5 = D)",
            "max(rank) FILTER (WHERE year >= {year} - 3)",
            window="3 years",
        ),
    ),
)

SOCIAL_INSURANCE = Block(
    name="social_insurance",
    sources=("social_insurance",),
    rows=f"SELECT uscc, {MONTH_INDEX} AS m, insured, CAST(paid AS DOUBLE) AS paid, "
    "CAST(arrears AS DOUBLE) AS arrears FROM feed_social_insurance"
    f" WHERE {MONTH_INDEX} < {{month}}",
    section="operations",
    features=(
        Feature(
            "insured_latest",
            "最近一期参保人数",
            "insured employees in the latest reported month",
            "max_by(insured, m)",
            fill="0",
        ),
        Feature(
            "insured_trend_12m",
            "参保人数近3个月均值较一年前变化率",
            "insured headcount, last 3 months against 10-12 months ago, change ratio",
            _ratio_trend("insured", (1, 3), (10, 12)),
            window="12 months",
        ),
        _count(
            "insurance_arrears_months_12m",
            "近12个月社保欠费月数",
            "months with social-insurance arrears, last 12 months",
            "m >= {month} - 12 AND arrears > 0",
            "12 months",
        ),
        _share(
            "insurance_arrears_share_36m",
            "近36个月社保欠费月份占比",
            "share of reported months with social-insurance arrears, last 36 months",
            "arrears > 0",
            36,
        ),
        Feature(
            "insurance_paid_12m",
            "近12个月社保缴费（元）",
            "social insurance paid, last 12 months (yuan)",
            "sum(paid) FILTER (WHERE m >= {month} - 12)",
            fill="0",
            window="12 months",
        ),
    ),
)

# Utilities per entity-month (accounts linked to the entity, summed), from the pipeline's
# linked_utilities view.
UTILITIES = Block(
    name="utilities",
    sources=("utilities",),
    rows="SELECT uscc, m, sum(usage) FILTER (WHERE utility = 'electricity') AS kwh, "
    "sum(usage) FILTER (WHERE utility = 'water') AS water, "
    "max(CASE WHEN overdue THEN 1 ELSE 0 END) AS overdue, "
    "count(DISTINCT utility || account_no) AS accounts "
    "FROM linked_utilities WHERE m < {month} GROUP BY uscc, m",
    section="operations",
    features=(
        Feature(
            "electricity_avg_3m",
            "近3个月月均用电量（千瓦时）",
            "average monthly electricity, last 3 months (kWh)",
            "avg(kwh) FILTER (WHERE m >= {month} - 3)",
            window="3 months",
        ),
        Feature(
            "electricity_trend_3m",
            "近3个月用电量较前3个月变化率",
            "electricity of the last 3 months against the 3 before, change ratio",
            _ratio_trend("kwh", (1, 3), (4, 6)),
            window="6 months",
        ),
        Feature(
            "electricity_sudden_drop",
            "近3个月内某月用电量低于此前6个月均值的一半",
            "a month of the last 3 used under half the average of the 6 months before",
            "CASE WHEN min(kwh) FILTER (WHERE m >= {month} - 3) < 0.5 * avg(kwh) FILTER "
            "(WHERE m BETWEEN {month} - 9 AND {month} - 4) THEN 1 ELSE 0 END",
            "flag",
            "0",
            "9 months",
        ),
        Feature(
            "water_12m",
            "近12个月用水量（立方米）",
            "water used, last 12 months (m³)",
            "sum(water) FILTER (WHERE m >= {month} - 12)",
            window="12 months",
        ),
        _count(
            "utility_overdue_months_12m",
            "近12个月水电欠费月数",
            "months with an overdue utility bill, last 12 months",
            "m >= {month} - 12 AND overdue = 1",
            "12 months",
        ),
        _share(
            "utility_overdue_share_36m",
            "近36个月水电账期欠费占比",
            "share of utility bills overdue, last 36 months",
            "overdue = 1",
            36,
        ),
        Feature(
            "utility_accounts",
            "水电户数",
            "utility accounts linked to the business",
            "max(accounts) FILTER (WHERE m >= {month} - 12)",
            fill="0",
            window="12 months",
        ),
    ),
)

PENALTIES = Block(
    name="penalties",
    sources=("penalties",),
    rows="SELECT uscc, decided_on, serious, CAST(amount AS DOUBLE) AS amount "
    "FROM linked_penalties WHERE decided_on < {as_of}",
    section="risk",
    features=(
        _count(
            "penalties_12m",
            "近12个月行政处罚次数",
            "administrative penalties, last 12 months",
            "decided_on >= {d365}",
            "12 months",
        ),
        _count(
            "penalties_serious_12m",
            "近12个月严重失信类处罚次数",
            "serious penalties, last 12 months",
            "decided_on >= {d365} AND serious",
            "12 months",
        ),
        Feature(
            "penalty_amount_12m",
            "近12个月罚没金额（元）",
            "penalty amounts, last 12 months (yuan)",
            "sum(amount) FILTER (WHERE decided_on >= {d365})",
            fill="0",
            window="12 months",
        ),
        _count(
            "penalties_36m",
            "近36个月行政处罚次数",
            "administrative penalties, last 36 months",
            "decided_on >= {d1095}",
            "36 months",
        ),
    ),
)

_OPEN = "(closed_on IS NULL OR closed_on >= {as_of})"

COURT = Block(
    name="court",
    sources=("court",),
    rows="SELECT uscc, role, filed_on, closed_on, CAST(amount AS DOUBLE) AS amount "
    "FROM linked_court WHERE filed_on < {as_of}",
    section="risk",
    features=(
        _count(
            "court_defendant_24m",
            "近24个月作为被告的案件数",
            "cases as defendant, last 24 months",
            "filed_on >= {d730} AND role = 'defendant'",
            "24 months",
        ),
        _count(
            "court_plaintiff_24m",
            "近24个月作为原告的案件数",
            "cases as plaintiff, last 24 months",
            "filed_on >= {d730} AND role = 'plaintiff'",
            "24 months",
        ),
        _count(
            "court_executed_24m",
            "近24个月被执行案件数",
            "enforcement cases against it, last 24 months",
            "filed_on >= {d730} AND role IN ('executed', 'dishonest')",
            "24 months",
        ),
        Feature(
            "dishonest_active",
            "观察日为失信被执行人",
            "listed as a dishonest judgment debtor on the as-of date",
            f"max(CASE WHEN role = 'dishonest' AND {_OPEN} THEN 1 ELSE 0 END)",
            "flag",
            "0",
        ),
        Feature(
            "court_open_amount",
            "未结案件标的金额（被告、被执行）（元）",
            "amount of open cases as defendant or debtor (yuan)",
            f"sum(amount) FILTER (WHERE role <> 'plaintiff' AND {_OPEN})",
            fill="0",
        ),
    ),
)

ABNORMAL = Block(
    name="abnormal",
    sources=("abnormal",),
    rows="SELECT uscc, listed_on, removed_on FROM feed_abnormal WHERE listed_on < {as_of}",
    section="risk",
    features=(
        Feature(
            "abnormal_active",
            "观察日在经营异常名录中",
            "on the abnormal-operation list on the as-of date",
            "max(CASE WHEN removed_on IS NULL OR removed_on >= {as_of} THEN 1 ELSE 0 END)",
            "flag",
            "0",
        ),
        _count(
            "abnormal_listings",
            "历史经营异常列入次数",
            "abnormal-operation listings ever",
            "TRUE",
            "all history",
        ),
    ),
)

# A certificate's issue year is written in its number: 浙（2019）椒江区不动产权第…号.
PROPERTY = Block(
    name="property",
    sources=("property",),
    rows="SELECT uscc, CAST(value AS DOUBLE) AS value, mortgaged FROM linked_property "
    "WHERE CAST(nullif(regexp_extract(cert_no, '[(（]([0-9]{{4}})[)）]', 1), '') AS INTEGER)"
    " < {year}",
    section="assets",
    features=(
        _count(
            "property_count",
            "不动产数量",
            "real-estate certificates",
            "TRUE",
            "certificates issued before the as-of year",
        ),
        Feature(
            "property_value",
            "不动产评估价值（元）",
            "assessed value of real estate (yuan)",
            "sum(value)",
            fill="0",
            window="certificates issued before the as-of year",
        ),
        _count(
            "property_mortgaged",
            "已抵押不动产数量",
            "mortgaged certificates",
            "mortgaged",
            "certificates issued before the as-of year",
        ),
    ),
)

HONORS = Block(
    name="honors",
    sources=("honors",),
    rows="SELECT uscc, tag, year FROM feed_honors WHERE year < {year}",
    section="tags",
    features=(
        Feature(
            "honor_specialized",
            "专精特新",
            "specialised and innovative (专精特新)",
            "max(CASE WHEN tag = '专精特新' THEN 1 ELSE 0 END)",
            "flag",
            "0",
            "years before the as-of year",
        ),
        Feature(
            "honor_high_tech",
            "高新技术企业",
            "high-tech enterprise",
            "max(CASE WHEN tag = '高新技术企业' THEN 1 ELSE 0 END)",
            "flag",
            "0",
            "years before the as-of year",
        ),
        Feature(
            "honor_tech_sme",
            "科技型中小企业",
            "technology-based SME",
            "max(CASE WHEN tag = '科技型中小企业' THEN 1 ELSE 0 END)",
            "flag",
            "0",
            "years before the as-of year",
        ),
        Feature(
            "honor_contract",
            "守合同重信用",
            "contract-abiding and trustworthy",
            "max(CASE WHEN tag = '守合同重信用' THEN 1 ELSE 0 END)",
            "flag",
            "0",
            "years before the as-of year",
        ),
        Feature(
            "honors_count",
            "荣誉资质数（不同名称）",
            "distinct honours held",
            "count(DISTINCT tag)",
            fill="0",
            window="years before the as-of year",
        ),
    ),
)

CARBON = Block(
    name="carbon",
    sources=("carbon",),
    rows="SELECT uscc, year, CAST(grade AS INTEGER) AS grade FROM feed_carbon WHERE year < {year}",
    section="tags",
    features=(
        Feature(
            "carbon_grade_latest",
            "最近年度碳效等级（1最优）",
            "carbon-efficiency grade of the latest year (1 best)",
            "max_by(grade, year)",
            window="years before the as-of year",
        ),
    ),
)

_LIVE = "start < {as_of} AND maturity >= {as_of} AND (default_on IS NULL OR default_on >= {as_of})"

LOANS = Block(
    name="loans",
    sources=("loans",),
    rows="SELECT borrower_id AS uscc, start, maturity, default_on, max_dpd,"
    " CAST(amount AS DOUBLE) AS amount FROM feed_loans"
    " WHERE borrower_id IS NOT NULL AND start < {as_of}",
    section="credit",
    features=(
        _count(
            "loans_prior",
            "历史贷款笔数",
            "loans started before the as-of date",
            "TRUE",
            "all history",
        ),
        _count(
            "loans_outstanding",
            "观察日未到期贷款笔数",
            "loans outstanding on the as-of date",
            _LIVE,
            "as of",
        ),
        Feature(
            "loan_balance_outstanding",
            "观察日未到期贷款金额（元）",
            "amount of loans outstanding on the as-of date (yuan)",
            f"sum(amount) FILTER (WHERE {_LIVE})",
            fill="0",
        ),
        _count(
            "defaults_prior",
            "历史违约笔数",
            "loans in default before the as-of date",
            "default_on < {as_of}",
            "all history",
        ),
        # The contract's max_dpd is the worst as of the delivery, which may lie after the
        # as-of date; only the dated default is known on the as-of date.
        Feature(
            "worst_dpd_known",
            "观察日已知的最长逾期天数（来自违约日期）",
            "worst days past due known on the as-of date (from dated defaults)",
            "max(90 + date_diff('day', default_on, {as_of})) FILTER (WHERE default_on < {as_of})",
            fill="0",
            window="all history",
        ),
    ),
)

_DUE = "due_on >= {d365} AND due_on < {as_of}"
_LATE = "(paid_on IS NULL OR paid_on >= {as_of} OR paid_on > due_on)"

ORDERS = Block(
    name="orders",
    sources=("orders",),
    rows="SELECT buyer_id AS uscc, ordered_on, due_on, paid_on, CAST(amount AS DOUBLE) AS amount "
    "FROM feed_orders WHERE ordered_on < {as_of}",
    section="operations",
    features=(
        _count(
            "orders_12m",
            "近12个月供应链订单数",
            "supply-chain orders, last 12 months",
            "ordered_on >= {d365}",
            "12 months",
        ),
        Feature(
            "order_amount_12m",
            "近12个月供应链订单金额（元）",
            "supply-chain order amount, last 12 months (yuan)",
            "sum(amount) FILTER (WHERE ordered_on >= {d365})",
            fill="0",
            window="12 months",
        ),
        Feature(
            "order_late_share_12m",
            "近12个月到期订单逾期付款占比",
            "share of orders due in the last 12 months paid late (or not yet)",
            f"CAST(count(*) FILTER (WHERE {_DUE} AND {_LATE}) AS DOUBLE)"
            f" / nullif(count(*) FILTER (WHERE {_DUE}), 0)",
            window="12 months",
        ),
        _count(
            "orders_overdue_unpaid",
            "观察日逾期未付订单数",
            "orders past due and unpaid on the as-of date",
            "due_on < {as_of} AND (paid_on IS NULL OR paid_on >= {as_of})",
            "as of",
        ),
        Feature(
            "order_avg_days_late_12m",
            "近12个月已付订单平均逾期天数",
            "average days paid after the due date, orders paid in the last 12 months",
            "avg(CASE WHEN paid_on > due_on THEN date_diff('day', due_on, paid_on) ELSE 0 END)"
            " FILTER (WHERE paid_on >= {d365} AND paid_on < {as_of})",
            window="12 months",
        ),
    ),
)

#: Blocks computed per entity from its own records, in pipeline order.
BLOCKS: tuple[Block, ...] = (
    REGISTRATION,
    TAX,
    TAX_GRADE,
    SOCIAL_INSURANCE,
    UTILITIES,
    PENALTIES,
    COURT,
    ABNORMAL,
    PROPERTY,
    HONORS,
    CARBON,
    LOANS,
    ORDERS,
)

#: The legal representative's other businesses (registered before the as-of date), seen
#: through their own features; computed after the blocks above.
RELATED = Block(
    name="related",
    sources=("registrations", "abnormal", "court", "loans"),
    rows="",  # built by the pipeline from the per-entity features
    section="relations",
    features=(
        _count(
            "rep_other_businesses",
            "法定代表人名下其他主体数",
            "other businesses of the legal representative",
            "TRUE",
            "as of",
        ),
        _count(
            "rep_other_cancelled",
            "法定代表人名下已注销的其他主体数",
            "of those, cancelled before the as-of date",
            "o.is_cancelled = 1",
            "as of",
        ),
        _count(
            "rep_other_abnormal",
            "法定代表人名下在经营异常名录中的其他主体数",
            "of those, on the abnormal list on the as-of date",
            "o.abnormal_active = 1",
            "as of",
        ),
        _count(
            "rep_other_dishonest_or_default",
            "法定代表人名下失信或违约的其他主体数",
            "of those, dishonest debtors or with a loan default",
            "o.dishonest_active = 1 OR o.defaults_prior > 0",
            "as of",
        ),
    ),
)

ALL_BLOCKS: tuple[Block, ...] = (*BLOCKS, RELATED)


def features() -> list[tuple[Block, Feature]]:
    """Every feature with its block, in output order."""
    return [(block, feature) for block in ALL_BLOCKS for feature in block.features]


def feature_names() -> list[str]:
    return [feature.name for _, feature in features()]

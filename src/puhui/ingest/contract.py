"""The department feed contract (``shared/contracts/feeds.md``, v1) as one declaration per feed.

Everything that reads or writes a feed — the simulator, the readers, the validators, the
docs — takes its column names, Chinese aliases, types, rules and keys from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """The type of a contract column; each kind has one parser and one check."""

    TEXT = "text"
    USCC = "uscc"
    PERSON_ID = "person_id"
    PARTY_ID = "party_id"  # a uscc or a person id
    DATE = "date"
    PERIOD = "period"  # YYYY-MM
    YEAR = "year"
    INT = "int"
    NUMBER = "number"
    MONEY = "money"  # yuan
    MONEY_WAN = "money_wan"  # 万元
    RATE = "rate"  # annual percent
    RATIO = "ratio"  # 0..100
    BOOL = "bool"
    ENUM = "enum"
    INDUSTRY = "industry"  # GB/T 4754-2017 class
    DIVISION = "division"  # GB/T 2260, 6 digits
    VILLAGE = "village"  # 12 digits
    LON = "lon"
    LAT = "lat"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    alias: str
    kind: Kind
    required: bool = False
    #: for ENUM: the contract value -> its Chinese alias
    choices: dict[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    #: personal information: stored only hashed and masked
    personal: bool = False
    #: further Chinese headers that departments use for this column
    other_aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Feed:
    name: str
    title_zh: str
    row_is: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    #: optional columns the platform understands beyond contract v1 (extra columns are kept)
    extensions: tuple[Column, ...] = ()

    def column(self, name: str) -> Column:
        for col in (*self.columns, *self.extensions):
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def aliases(self) -> dict[str, str]:
        """Contract name -> its (first) Chinese header."""
        return {c.name: c.alias for c in self.columns}

    def header_map(self) -> dict[str, str]:
        """Every accepted header (English name and Chinese aliases) -> contract name."""
        mapping: dict[str, str] = {}
        for col in (*self.columns, *self.extensions):
            for header in (col.name, col.alias, *col.other_aliases):
                mapping[header] = col.name
        return mapping


def _c(name: str, alias: str, kind: Kind, required: bool = False, **kw: object) -> Column:
    return Column(name, alias, kind, required, **kw)  # type: ignore[arg-type]


ENTITY_TYPES = {"enterprise": "企业", "individual": "个体工商户", "coop": "农民专业合作社"}
STATUSES = {"active": "存续", "revoked": "吊销", "cancelled": "注销"}
HOLDER_TYPES = {"person": "自然人", "enterprise": "企业"}
TAX_GRADES = {g: g for g in ("A", "B", "M", "C", "D")}
UTILITIES = {"electricity": "电", "water": "水"}
PENALTY_KINDS = {
    "warning": "警告",
    "fine": "罚款",
    "confiscation": "没收",
    "suspension": "责令停产停业",
    "revocation": "吊销",
}
COURT_ROLES = {
    "plaintiff": "原告",
    "defendant": "被告",
    "executed": "被执行人",
    "dishonest": "失信被执行人",
}
PROPERTY_KINDS = {
    "residential": "住宅",
    "commercial": "商业",
    "industrial": "工业",
    "land": "土地",
}
GUARANTEES = {"credit": "信用", "guarantee": "保证", "mortgage": "抵押", "pledge": "质押"}
LOAN_STATUSES = {"current": "正常", "overdue": "逾期", "repaid": "结清", "default": "违约"}
CARBON_GRADES = {str(g): str(g) for g in range(1, 6)}

FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed(
            "registrations",
            "市场主体登记",
            "a registered market entity",
            ("uscc",),
            (
                _c("uscc", "统一社会信用代码", Kind.USCC, True),
                _c("name", "名称", Kind.TEXT, True),
                _c("entity_type", "主体类型", Kind.ENUM, True, choices=ENTITY_TYPES),
                _c("legal_rep", "法定代表人", Kind.TEXT, True),
                _c("legal_rep_id", "法定代表人证件号码", Kind.PERSON_ID, True, personal=True),
                _c("industry_code", "行业代码", Kind.INDUSTRY, True),
                _c("registered_capital", "注册资本(万元)", Kind.MONEY_WAN, minimum=0),
                _c("established", "成立日期", Kind.DATE, True),
                _c("status", "登记状态", Kind.ENUM, True, choices=STATUSES),
                _c("closed_on", "注销日期", Kind.DATE),
                _c("division", "行政区划代码", Kind.DIVISION, True),
                _c("address", "住所", Kind.TEXT, True),
                _c("lon", "经度", Kind.LON),
                _c("lat", "纬度", Kind.LAT),
                _c("phone", "联系电话", Kind.TEXT, personal=True),
            ),
        ),
        Feed(
            "shareholders",
            "股东",
            "one holder of one entity",
            ("uscc", "holder_id"),
            (
                _c("uscc", "统一社会信用代码", Kind.USCC, True),
                _c("holder_name", "股东名称", Kind.TEXT, True),
                _c("holder_type", "股东类型", Kind.ENUM, True, choices=HOLDER_TYPES),
                _c("holder_id", "股东证件号码", Kind.PARTY_ID, True, personal=True),
                _c("ratio", "持股比例", Kind.RATIO, minimum=0, maximum=100),
                _c("subscribed", "认缴出资额(万元)", Kind.MONEY_WAN, minimum=0),
            ),
        ),
        Feed(
            "abnormal",
            "经营异常名录",
            "one listing on the abnormal-operation list",
            ("uscc", "listed_on"),
            (
                _c("uscc", "统一社会信用代码", Kind.USCC, True),
                _c("listed_on", "列入日期", Kind.DATE, True),
                _c("reason", "列入原因", Kind.TEXT, True),
                _c("removed_on", "移出日期", Kind.DATE),
            ),
        ),
        Feed(
            "tax",
            "纳税",
            "one entity-month of tax",
            ("uscc", "period"),
            (
                _c("uscc", "统一社会信用代码", Kind.USCC, True),
                _c("period", "所属期", Kind.PERIOD, True),
                _c("revenue", "销售收入", Kind.MONEY, True, minimum=0),
                _c("tax_paid", "实缴税额", Kind.MONEY, True, minimum=0),
                _c("arrears", "欠税金额", Kind.MONEY, minimum=0),
            ),
        ),
        Feed(
            "tax_grade",
            "纳税信用等级",
            "one entity-year taxpayer credit grade",
            ("uscc", "year"),
            (
                _c("uscc", "统一社会信用代码", Kind.USCC, True),
                _c("year", "年度", Kind.YEAR, True),
                _c("grade", "等级", Kind.ENUM, True, choices=TAX_GRADES),
            ),
        ),
        Feed(
            "social_insurance",
            "社保",
            "one entity-month of social insurance",
            ("uscc", "period"),
            (
                _c("uscc", "统一社会信用代码", Kind.USCC, True),
                _c("period", "所属期", Kind.PERIOD, True),
                _c("insured", "参保人数", Kind.INT, True, minimum=0),
                _c("paid", "缴费金额", Kind.MONEY, True, minimum=0),
                _c("arrears", "欠费金额", Kind.MONEY, minimum=0),
            ),
        ),
        Feed(
            "utilities",
            "水电",
            "one account-month of electricity or water",
            ("utility", "account_no", "period"),
            (
                _c("utility", "类别", Kind.ENUM, True, choices=UTILITIES),
                _c("account_no", "户号", Kind.TEXT, True),
                _c("account_name", "户名", Kind.TEXT, True),
                _c("address", "用电地址", Kind.TEXT, other_aliases=("用水地址", "地址")),
                _c("uscc", "统一社会信用代码", Kind.USCC),
                _c("period", "所属期", Kind.PERIOD, True),
                _c("usage", "用量", Kind.NUMBER, True, minimum=0),
                _c("amount", "金额", Kind.MONEY, True, minimum=0),
                _c("overdue", "是否欠费", Kind.BOOL),
            ),
            # An account held in a person's own name (an individual business's owner).
            extensions=(_c("holder_id", "户主证件号码", Kind.PERSON_ID, personal=True),),
        ),
        Feed(
            "penalties",
            "行政处罚",
            "one administrative penalty decision",
            ("decision_no",),
            (
                _c("decision_no", "决定书文号", Kind.TEXT, True),
                _c("uscc", "统一社会信用代码", Kind.USCC),
                _c("name", "当事人名称", Kind.TEXT, True),
                _c("authority", "处罚机关", Kind.TEXT, True),
                _c("decided_on", "处罚日期", Kind.DATE, True),
                _c("kind", "处罚种类", Kind.ENUM, True, choices=PENALTY_KINDS),
                _c("amount", "罚没金额", Kind.MONEY, minimum=0),
                _c("serious", "是否严重失信", Kind.BOOL),
            ),
        ),
        Feed(
            "court",
            "司法",
            "one party of one court case",
            ("case_no", "party_name"),
            (
                _c("case_no", "案号", Kind.TEXT, True),
                _c("party_name", "当事人", Kind.TEXT, True),
                _c("party_id", "当事人证件号", Kind.PARTY_ID, personal=True),
                _c("role", "诉讼地位", Kind.ENUM, True, choices=COURT_ROLES),
                _c("filed_on", "立案日期", Kind.DATE, True),
                _c("amount", "标的金额", Kind.MONEY, minimum=0),
                _c("closed_on", "结案日期", Kind.DATE),
            ),
        ),
        Feed(
            "property",
            "不动产",
            "one real-estate certificate",
            ("cert_no",),
            (
                _c("cert_no", "不动产权证号", Kind.TEXT, True),
                _c("owner_name", "权利人", Kind.TEXT, True),
                _c("owner_id", "权利人证件号", Kind.PARTY_ID, True, personal=True),
                _c("kind", "用途", Kind.ENUM, True, choices=PROPERTY_KINDS),
                _c("area_m2", "面积", Kind.NUMBER, minimum=0),
                _c("value", "评估价值", Kind.MONEY, minimum=0),
                _c("mortgaged", "是否抵押", Kind.BOOL),
                _c("mortgagee", "抵押权人", Kind.TEXT),
            ),
        ),
        Feed(
            "honors",
            "荣誉资质",
            "one qualification or honour of one entity-year",
            ("uscc", "tag", "year"),
            (
                _c("uscc", "统一社会信用代码", Kind.USCC, True),
                _c("tag", "名称", Kind.TEXT, True),
                _c("year", "年度", Kind.YEAR, True),
            ),
        ),
        Feed(
            "carbon",
            "碳效",
            "one entity-year carbon-efficiency grade",
            ("uscc", "year"),
            (
                _c("uscc", "统一社会信用代码", Kind.USCC, True),
                _c("year", "年度", Kind.YEAR, True),
                _c("grade", "碳效等级", Kind.ENUM, True, choices=CARBON_GRADES),
            ),
        ),
        Feed(
            "loans",
            "信贷",
            "one bank loan, with its outcome so far",
            ("bank", "loan_id"),
            (
                _c("bank", "机构代码", Kind.TEXT, True),
                _c("loan_id", "借据号", Kind.TEXT, True),
                _c("borrower_id", "借款人证件号", Kind.PARTY_ID, True, personal=True),
                _c("product", "产品", Kind.TEXT),
                _c("guarantee", "担保方式", Kind.ENUM, True, choices=GUARANTEES),
                _c("amount", "金额", Kind.MONEY, True, minimum=0),
                _c("rate", "年利率%", Kind.RATE, True, minimum=0, maximum=36),
                _c("start", "放款日期", Kind.DATE, True),
                _c("maturity", "到期日期", Kind.DATE, True),
                _c("first_loan", "是否首贷", Kind.BOOL),
                _c("status", "状态", Kind.ENUM, True, choices=LOAN_STATUSES),
                _c("max_dpd", "最长逾期天数", Kind.INT, minimum=0),
                _c("default_on", "违约日期", Kind.DATE),
            ),
        ),
        Feed(
            "orders",
            "供应链订单",
            "one supply-chain order",
            ("platform", "order_id"),
            (
                _c("platform", "平台", Kind.TEXT, True),
                _c("order_id", "订单号", Kind.TEXT, True),
                _c("buyer_id", "采购方", Kind.USCC, True),
                _c("buyer_name", "采购方名称", Kind.TEXT),
                _c("seller_id", "核心企业", Kind.USCC, True),
                _c("ordered_on", "下单日期", Kind.DATE, True),
                _c("amount", "金额", Kind.MONEY, True, minimum=0),
                _c("due_on", "应付日期", Kind.DATE, True),
                _c("paid_on", "付款日期", Kind.DATE),
            ),
        ),
        Feed(
            "households",
            "农户家庭资产负债",
            "one farm household's balance-sheet survey",
            ("household_id",),
            (
                _c("household_id", "户编号", Kind.TEXT, True),
                _c("village", "行政村代码", Kind.VILLAGE, True),
                _c("head_name", "户主", Kind.TEXT, True),
                _c("head_id", "户主证件号", Kind.PERSON_ID, True, personal=True),
                _c("members", "人口", Kind.INT, minimum=0),
                _c("workers", "劳动力", Kind.INT, minimum=0),
                _c("land_mu", "承包地(亩)", Kind.NUMBER, minimum=0),
                _c("house_value", "房产价值", Kind.MONEY, minimum=0),
                _c("livestock_value", "活体价值", Kind.MONEY, minimum=0),
                _c("machinery_value", "农机价值", Kind.MONEY, minimum=0),
                _c("deposits", "存款", Kind.MONEY, minimum=0),
                _c("annual_income", "年收入", Kind.MONEY, minimum=0),
                _c("liabilities", "负债", Kind.MONEY, minimum=0),
            ),
        ),
    )
}

#: File formats a delivery may hold.
FORMATS = ("csv", "xlsx", "parquet", "jsonl")

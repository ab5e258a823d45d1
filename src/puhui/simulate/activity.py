"""What the region's businesses do, month by month, as the departments record it.

Each ``*_rows`` function takes a :class:`Chunk` (a slice of the businesses with its own
random stream) and returns the feed's rows for that slice as a dict of equal-length numpy
arrays, named by the contract. Hidden soundness drives every signal: a business heading
for trouble sells less, uses less electricity (a month ahead), falls into tax, social
insurance and utility arrears, gets penalised and sued, and defaults on its loans about
four months after the onset. The signal is real but noisy, as in life.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from puhui.ingest.contract import COURT_ROLES, PENALTY_KINDS, PROPERTY_KINDS
from puhui.simulate import vocab
from puhui.simulate.population import (
    COOP,
    ENTERPRISE,
    INDIVIDUAL,
    NO_MONTH,
    BoolArray,
    FloatArray,
    IntArray,
    Region,
    StrArray,
    _join,
    _sigmoid,
)

Columns = dict[str, npt.NDArray[Any]]
DEFAULT_LAG_DAYS = 120  # first missed payment ~30 days after the onset, then 90 days past due
NAT = np.datetime64("NaT", "D")

_INDUSTRY_KWH = np.array([p.kwh_per_k_yuan for p in vocab.INDUSTRIES])
_INDUSTRY_WATER = np.array([p.water for p in vocab.INDUSTRIES])
_INDUSTRY_MANUFACTURING = np.array([p.manufacturing for p in vocab.INDUSTRIES])
_DISTRICT_NAMES = np.array([d.name for d in vocab.DISTRICTS])
_DISTRICT_SHORT = np.array([d.name[0] for d in vocab.DISTRICTS])
_DISTRICT_COURT = np.array([str(d.code)[2:] for d in vocab.DISTRICTS])  # 浙1002: 椒江区人民法院
_ROADS = np.array(vocab.ROADS)
# Spring festival dip and year-end peak.
_SEASON = np.array([1.05, 0.78, 0.97, 1.0, 1.0, 0.98, 0.96, 0.97, 1.0, 1.02, 1.06, 1.15])


def fmt_dates(
    days: npt.NDArray[np.datetime64], rng: np.random.Generator, mixed: bool = True
) -> StrArray:
    """Dates as the contract's text; ``mixed`` writes some as YYYY/MM/DD and YYYYMMDD.

    NaT becomes an empty string (an empty cell).
    """
    text = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype("U10")
    text[np.isnat(days)] = ""
    if mixed:
        roll = rng.random(len(text))
        slash = (roll < 0.05) & (text != "")
        compact = (roll > 0.97) & (text != "")
        if slash.any():
            text[slash] = np.char.replace(text[slash], "-", "/")
        if compact.any():
            text[compact] = np.char.replace(text[compact], "-", "")
    return text


def fmt_periods(months: npt.NDArray[np.datetime64]) -> StrArray:
    return np.datetime_as_string(months.astype("datetime64[M]"), unit="M")


def money(values: FloatArray) -> FloatArray:
    return np.round(values, 2)


@dataclass
class Chunk:
    """A slice of the region's businesses (global indices ``index``) and its random stream."""

    region: Region
    index: IntArray
    rng: np.random.Generator
    #: a permutation of all businesses: account and certificate numbers are drawn from it
    serial: IntArray
    core_enterprises: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.index)

    def take(self, name: str) -> npt.NDArray[Any]:
        """Attribute ``name`` of the businesses in this chunk."""
        values: npt.NDArray[Any] = getattr(self.region.businesses, name)[self.index]
        return values

    @cached_property
    def active(self) -> BoolArray:
        b = self.region.businesses
        window = self.region.window
        months = np.arange(window.months)
        start = window.month_of(b.established[self.index])[:, None]
        closed = b.closed_month[self.index]
        closed = np.where(closed == NO_MONTH, 10**6, closed)[:, None]
        return (months >= start) & (months < closed)

    @cached_property
    def observed(self) -> BoolArray:
        """Active and before the as-of month: what the departments have recorded."""
        mask = self.active.copy()
        mask[:, self.region.window.history :] = False
        return mask

    @cached_property
    def after_distress(self) -> FloatArray:
        """Months since the onset of trouble (negative before it, -inf if never)."""
        distress = self.take("distress_month").astype(float)
        distress[distress == NO_MONTH] = np.inf
        since: FloatArray = np.arange(self.region.window.months)[None, :] - distress[:, None]
        return since

    @cached_property
    def revenue(self) -> FloatArray:
        """Monthly revenue (yuan) of each business in each month of the window."""
        window = self.region.window
        months = np.arange(window.months)
        calendar = (window.start.astype(np.int64) + months) % 12
        trend = np.exp(self.take("growth")[:, None] * (months - window.history)[None, :])
        noise = np.exp(
            self.rng.normal(0, 1, size=self.active.shape) * self.take("volatility")[:, None]
        )
        decline = np.exp(-0.15 * np.clip(self.after_distress, 0, None))
        revenue: FloatArray = (
            self.take("base_revenue")[:, None]
            * trend
            * _SEASON[calendar][None, :]
            * noise
            * decline
        )
        return revenue

    def month_rows(self, mask: BoolArray) -> tuple[IntArray, IntArray]:
        """(local business, month) of every true cell of ``mask``."""
        local, month = np.nonzero(mask)
        return local.astype(np.int64), month.astype(np.int64)

    def periods(self, month: IntArray) -> StrArray:
        return fmt_periods(self.region.window.start + month)

    def uscc(self, local: IntArray) -> StrArray:
        values: StrArray = self.region.businesses.uscc[self.index[local]]
        return values

    def trouble_odds(self, local: IntArray, month: IntArray | None = None) -> FloatArray:
        """Log-odds shift of bad behaviour: low soundness, and being in trouble."""
        soundness = self.take("soundness")[local]
        shift = -0.8 * soundness
        if month is not None:
            since = self.after_distress[local, month]
            shift = shift + np.where(since >= 0, 2.8, np.where(since >= -1, 1.0, 0.0))
        return shift

    def address_variant(self, local: IntArray) -> StrArray:
        """The business's address as another department writes it (no province, other forms)."""
        b = self.region.businesses
        g = self.index[local]
        district = _DISTRICT_NAMES[b.district[g]]
        road = _ROADS[b.road[g]]
        number = b.house_no[g].astype(str)
        full_width = np.array([s.translate(vocab.FULL_WIDTH_DIGITS) for s in number])
        number = np.where(self.rng.random(len(local)) < 0.15, full_width, number)
        roll = self.rng.random(len(local))
        floor = _join(self.rng.integers(1, 6, size=len(local)).astype(str), "楼")
        return np.where(
            roll < 0.4,
            _join(district, road, number, "号"),
            np.where(
                roll < 0.75,
                _join(vocab.CITY, district, road, number, "号"),
                _join(road, number, "号", floor),
            ),
        )

    def name_variant(self, local: IntArray) -> StrArray:
        """The name as another department writes it: full, short (字号+行业) or 台州 + short."""
        b = self.region.businesses
        g = self.index[local]
        roll = self.rng.random(len(local))
        city_short = _join("台州", b.short_name[g])
        return np.where(roll < 0.45, b.name[g], np.where(roll < 0.85, b.short_name[g], city_short))


def registrations_rows(chunk: Chunk) -> Columns:
    b, people = chunk.region.businesses, chunk.region.people
    g = chunk.index
    rng = chunk.rng
    types = np.array(["enterprise", "individual", "coop"])
    types_zh = np.array(["企业", "个体工商户", "农民专业合作社"])
    statuses = np.array(["active", "revoked", "cancelled"])
    statuses_zh = np.array(["存续", "吊销", "注销"])
    in_chinese = rng.random(len(g)) < 0.7  # most registries export Chinese labels
    town = np.array(
        [vocab.DISTRICTS[d].towns[t] for d, t in zip(b.district[g], b.town[g], strict=True)]
    )
    address = _join(
        vocab.PROVINCE,
        vocab.CITY,
        _DISTRICT_NAMES[b.district[g]],
        town,
        _ROADS[b.road[g]],
        b.house_no[g].astype(str),
        "号",
    )
    rep = b.legal_rep[g]
    return {
        "uscc": b.uscc[g],
        "name": b.name[g],
        "entity_type": np.where(in_chinese, types_zh[b.entity_type[g]], types[b.entity_type[g]]),
        "legal_rep": people.name[rep],
        "legal_rep_id": people.person_id[rep],
        "industry_code": np.array([p.code for p in vocab.INDUSTRIES])[b.industry[g]],
        "registered_capital": b.capital_wan[g],
        "established": fmt_dates(b.established[g], rng),
        "status": np.where(in_chinese, statuses_zh[b.status[g]], statuses[b.status[g]]),
        "closed_on": fmt_dates(b.closed_on[g], rng),
        "division": np.array([d.code for d in vocab.DISTRICTS])[b.district[g]].astype(str),
        "address": address,
        "lon": b.lon[g],
        "lat": b.lat[g],
        "phone": b.phone[g],
    }


def shareholders_rows(chunk: Chunk) -> Columns:
    """Enterprises have 1-4 holders (the legal rep first), cooperatives 3-6 members."""
    b, people = chunk.region.businesses, chunk.region.people
    rng = chunk.rng
    types = chunk.take("entity_type")
    count = np.where(
        types == ENTERPRISE,
        rng.integers(1, 5, size=len(chunk)),
        np.where(types == COOP, rng.integers(3, 7, size=len(chunk)), 0),
    )
    local = np.repeat(np.arange(len(chunk)), count)
    order = np.arange(len(local)) - np.repeat(np.cumsum(count) - count, count)
    g = chunk.index[local]
    n_people = len(people)
    holder = np.where(order == 0, b.legal_rep[g], rng.integers(0, n_people, size=len(local)))
    # Some enterprises hold shares of another enterprise of the region.
    corporate = (order > 0) & (types[local] == ENTERPRISE) & (rng.random(len(local)) < 0.12)
    other = rng.integers(0, len(b), size=len(local))
    corporate &= (b.entity_type[other] == ENTERPRISE) & (other != g)
    weights = rng.gamma(1.0, 1.0, size=len(local)) + np.where(order == 0, 1.5, 0.0)
    totals = np.bincount(local, weights=weights, minlength=len(chunk))
    ratio = np.round(100 * weights / totals[local], 2)
    capital = np.nan_to_num(b.capital_wan[g], nan=10.0)
    rows: Columns = {
        "uscc": b.uscc[g],
        "holder_name": np.where(corporate, b.name[other], people.name[holder]),
        "holder_type": np.where(corporate, "enterprise", "person"),
        "holder_id": np.where(corporate, b.uscc[other], people.person_id[holder]),
        "ratio": ratio,
        "subscribed": np.round(capital * ratio / 100, 2),
    }
    # The same person listed twice for one holder would break the key: keep the first.
    key = _join(rows["uscc"], "|", rows["holder_id"])
    _, first = np.unique(key, return_index=True)
    first.sort()
    return {name: values[first] for name, values in rows.items()}


def abnormal_rows(chunk: Chunk) -> Columns:
    rng = chunk.rng
    window = chunk.region.window
    closed = chunk.take("closed_month")
    distress = chunk.take("distress_month")
    est = window.month_of(chunk.take("established"))
    p = np.where(closed != NO_MONTH, 0.6, np.where(distress < window.history, 0.35, 0.04))
    p = np.where(distress == NO_MONTH, np.where(closed != NO_MONTH, 0.3, 0.04), p)
    listed = rng.random(len(chunk)) < p
    anchor = np.where(distress != NO_MONTH, distress + rng.integers(1, 8, size=len(chunk)), 0)
    low = np.maximum(est + 6, 0)
    random_month = low + (rng.random(len(chunk)) * np.maximum(window.history - low, 1)).astype(int)
    month = np.where(distress != NO_MONTH, anchor, random_month)
    listed &= (month < window.history) & (month >= np.maximum(est, 0))
    local = np.nonzero(listed)[0]
    month = month[local]
    listed_on = window.month_start(month) + rng.integers(0, 28, size=len(local))
    # Sound businesses fix the problem and are removed after a few months.
    removed = (distress[local] == NO_MONTH) & (rng.random(len(local)) < 0.6)
    removed_on = listed_on + rng.integers(30, 200, size=len(local))
    removed &= removed_on < window.as_of_day
    reasons = np.array(vocab.ABNORMAL_REASONS)
    return {
        "uscc": chunk.uscc(local),
        "listed_on": fmt_dates(listed_on, rng),
        "reason": reasons[rng.integers(0, len(reasons), size=len(local))],
        "removed_on": fmt_dates(np.where(removed, removed_on, NAT), rng),
    }


def tax_rows(chunk: Chunk) -> Columns:
    local, month = chunk.month_rows(chunk.observed)
    rng = chunk.rng
    revenue = chunk.revenue[local, month]
    types = chunk.take("entity_type")[local]
    # Small-scale taxpayers pay ~1 %; individual businesses under 100k a month pay nothing;
    # larger enterprises (general taxpayers) pay ~3 % of revenue all taxes included.
    rate = np.where(revenue > 420_000, 0.03, 0.01)
    exempt = (types == INDIVIDUAL) & (revenue < 100_000)
    due = np.where(exempt, 0.0, revenue * rate)
    late = rng.random(len(local)) < _sigmoid(-4.6 + chunk.trouble_odds(local, month))
    arrears = np.where(late & ~exempt, due * rng.uniform(0.5, 3.0, size=len(local)), 0.0)
    return {
        "uscc": chunk.uscc(local),
        "period": chunk.periods(month),
        "revenue": money(revenue),
        "tax_paid": money(np.where(late, due * rng.uniform(0, 0.5, size=len(local)), due)),
        "arrears": money(arrears),
    }


def social_insurance_rows(chunk: Chunk) -> Columns:
    employees = chunk.take("employees")
    types = chunk.take("entity_type")
    insures = (types != INDIVIDUAL) | (employees >= 3)
    local, month = chunk.month_rows(chunk.observed & insures[:, None])
    rng = chunk.rng
    since = chunk.after_distress[local, month]
    shrink = np.where(since >= 0, np.exp(-0.1 * since), 1.0)
    insured = np.maximum(
        np.round(employees[local] * shrink + rng.normal(0, 0.6, size=len(local))), 0
    ).astype(np.int64)
    year = (chunk.region.window.start.astype(np.int64) + month) // 12 + 1970
    per_head = 1_100.0 * 1.04 ** (year - 2023)
    paid = insured * per_head
    late = rng.random(len(local)) < _sigmoid(-5.0 + chunk.trouble_odds(local, month))
    arrears = np.where(late, paid * rng.uniform(0.3, 1.0, size=len(local)), 0.0)
    return {
        "uscc": chunk.uscc(local),
        "period": chunk.periods(month),
        "insured": insured,
        "paid": money(paid - arrears),
        "arrears": money(arrears),
    }


@dataclass(frozen=True, slots=True)
class Accounts:
    """Utility accounts of a chunk: who holds each and how it is named."""

    local: IntArray
    utility: StrArray
    account_no: StrArray
    account_name: StrArray
    address: StrArray
    uscc: StrArray
    holder_id: StrArray


def utility_accounts(chunk: Chunk) -> Accounts:
    rng = chunk.rng
    n = len(chunk)
    industry = chunk.take("industry")
    types = chunk.take("entity_type")
    has_power = rng.random(n) < 0.95
    has_water = rng.random(n) < np.where(_INDUSTRY_WATER[industry], 0.85, 0.15)
    locals_ = np.concatenate([np.nonzero(has_power)[0], np.nonzero(has_water)[0]])
    utility = np.concatenate(
        [np.full(int(has_power.sum()), "electricity"), np.full(int(has_water.sum()), "water")]
    )
    g = chunk.index[locals_]
    serial = chunk.serial[g]
    account_no = np.where(
        utility == "electricity",
        _join("33", np.char.zfill((serial * 7 + 1_000_003).astype(str), 10)),
        _join("SW", np.char.zfill((serial * 3 + 500_009).astype(str), 9)),
    )
    b, people = chunk.region.businesses, chunk.region.people
    # Individual businesses often hold the account in the owner's own name.
    personal = (types[locals_] == INDIVIDUAL) & (rng.random(len(locals_)) < 0.5)
    rep = b.legal_rep[g]
    with_uscc = ~personal & (
        rng.random(len(locals_)) < np.where(types[locals_] == INDIVIDUAL, 0.2, 0.6)
    )
    return Accounts(
        local=locals_,
        utility=utility,
        account_no=account_no,
        account_name=np.where(personal, people.name[rep], chunk.name_variant(locals_)),
        address=chunk.address_variant(locals_),
        uscc=np.where(with_uscc, b.uscc[g], ""),
        holder_id=np.where(personal, people.person_id[rep], ""),
    )


def utilities_rows(chunk: Chunk, accounts: Accounts) -> Columns:
    rng = chunk.rng
    cells = chunk.observed[accounts.local]
    account, month = np.nonzero(cells)
    local = accounts.local[account]
    water = accounts.utility[account] == "water"
    # Electricity falls a month before revenue does: machines stop before the books show it.
    lead = np.exp(-0.25 * np.clip(chunk.after_distress[local, month] + 1, 0, None))
    base = chunk.revenue[local, np.minimum(month + 1, chunk.region.window.months - 1)] / 1000
    kwh = base * _INDUSTRY_KWH[chunk.take("industry")[local]] * lead
    usage = np.where(water, base * 0.35, kwh) * np.exp(rng.normal(0, 0.1, size=len(local)))
    price = np.where(water, 4.6, 0.68)
    overdue = rng.random(len(local)) < _sigmoid(-4.2 + chunk.trouble_odds(local, month))
    # Each account's billing system has one export style: 是/否 or true/false, 电 or electricity.
    style = chunk.serial[chunk.index[local]] % 4
    yes_no = style < 2
    overdue_text = np.where(
        yes_no, np.where(overdue, "是", "否"), np.where(overdue, "true", "false")
    )
    return {
        "utility": np.where(water, "水", np.where(style % 2 == 0, "电", "electricity")),
        "account_no": accounts.account_no[account],
        "account_name": accounts.account_name[account],
        "address": accounts.address[account],
        "uscc": accounts.uscc[account],
        "period": chunk.periods(month),
        "usage": np.round(usage, 1),
        "amount": money(usage * price),
        "overdue": overdue_text,
        "holder_id": accounts.holder_id[account],
    }


def _event_months(chunk: Chunk, rate_per_year: FloatArray) -> tuple[IntArray, IntArray]:
    """Events at a yearly rate per business: (local business, month) of each, observed only."""
    rng = chunk.rng
    lam = rate_per_year[:, None] / 12.0 * chunk.observed
    since = chunk.after_distress
    lam = lam * np.where(since >= 0, 6.0, 1.0)
    counts = rng.poisson(lam)
    local, month = np.nonzero(counts)
    reps = counts[local, month]
    return np.repeat(local, reps).astype(np.int64), np.repeat(month, reps).astype(np.int64)


def _event_days(chunk: Chunk, local: IntArray, month: IntArray) -> npt.NDArray[np.datetime64]:
    """A day in each event's month, never before the business was established (a business
    founded mid-month has no penalty or case dated earlier that month)."""
    window = chunk.region.window
    day = window.month_start(month) + chunk.rng.integers(0, 28, size=len(local))
    established = chunk.take("established")[local].astype("datetime64[D]")
    earliest: npt.NDArray[np.datetime64] = np.maximum(day, established)
    return earliest


def penalties_rows(chunk: Chunk) -> tuple[Columns, StrArray]:
    rng = chunk.rng
    rate = 0.03 * np.exp(-0.6 * chunk.take("soundness"))
    local, month = _event_months(chunk, rate)
    n = len(local)
    decided = _event_days(chunk, local, month)
    kinds = np.array(list(PENALTY_KINDS))
    kind = kinds[rng.choice(len(kinds), size=n, p=[0.38, 0.47, 0.05, 0.07, 0.03])]
    amount = np.where(
        kind == "fine",
        np.round(rng.lognormal(8.5, 1.1, size=n), -2),
        np.where(kind == "confiscation", np.round(rng.lognormal(8.0, 1.0, size=n), 0), 0.0),
    )
    serious = np.isin(kind, ["suspension", "revocation"]) | ((kind == "fine") & (amount > 50_000))
    g = chunk.index[local]
    b = chunk.region.businesses
    district = b.district[g]
    year = decided.astype("datetime64[Y]").astype(np.int64) + 1970
    authority_names = np.array(vocab.PENALTY_AUTHORITIES)
    authority = authority_names[rng.integers(0, len(authority_names), size=n)]
    seq = chunk.serial[g] * 20 + np.arange(n) % 20
    decision_no = _join(
        _DISTRICT_SHORT[district],
        "罚决字〔",
        year.astype(str),
        "〕",
        np.char.zfill(seq.astype(str), 8),
        "号",
    )
    kind_text = np.where(rng.random(n) < 0.8, _translate(kind, PENALTY_KINDS), kind)
    with_uscc = rng.random(n) < 0.45
    truth = chunk.uscc(local)
    rows: Columns = {
        "decision_no": decision_no,
        "uscc": np.where(with_uscc, truth, ""),
        "name": chunk.name_variant(local),
        "authority": _join(_DISTRICT_NAMES[district], authority),
        "decided_on": fmt_dates(decided, rng),
        "kind": kind_text,
        "amount": money(amount),
        "serious": np.where(serious, "是", "否"),
    }
    return rows, truth


def _translate(values: StrArray, mapping: dict[str, str]) -> StrArray:
    """Contract codes to their Chinese aliases, vectorised through the code list."""
    codes = np.array(list(mapping))
    aliases = np.array(list(mapping.values()))
    order = np.argsort(codes)
    return aliases[order[np.searchsorted(codes[order], values)]]


def court_rows(chunk: Chunk) -> tuple[Columns, StrArray]:
    """Cases with two parties each: the business and a counterparty (bank, person, firm)."""
    rng = chunk.rng
    rate = 0.025 * np.exp(-0.7 * chunk.take("soundness"))
    local, month = _event_months(chunk, rate)
    n = len(local)
    window = chunk.region.window
    b, people = chunk.region.businesses, chunk.region.people
    g = chunk.index[local]
    since = chunk.after_distress[local, month]
    troubled = since >= 0
    roll = rng.random(n)
    role = np.where(
        troubled,
        np.where(roll < 0.45, "defendant", np.where(roll < 0.8, "executed", "dishonest")),
        np.where(roll < 0.6, "defendant", "plaintiff"),
    )
    filed = _event_days(chunk, local, month)
    closes = rng.random(n) < 0.7
    closed_on = filed + rng.integers(30, 300, size=n)
    closed_on = np.where(closes & (closed_on < window.as_of_day), closed_on, NAT)
    year = filed.astype("datetime64[Y]").astype(np.int64) + 1970
    kind = np.where(np.isin(role, ["executed", "dishonest"]), "执", "民初")
    seq = chunk.serial[g] * 20 + np.arange(n) % 20
    case_no = _join(
        "（",
        year.astype(str),
        "）浙",
        _DISTRICT_COURT[b.district[g]],
        kind,
        np.char.zfill(seq.astype(str), 8),
        "号",
    )
    amount = money(np.round(rng.lognormal(10.5, 1.2, size=n), -2))
    # How the court names the business: registered name, short name, or the owner.
    personal = (b.entity_type[g] == INDIVIDUAL) & (rng.random(n) < 0.35)
    rep = b.legal_rep[g]
    party_name = np.where(personal, people.name[rep], chunk.name_variant(local))
    id_roll = rng.random(n)
    party_id = np.where(
        personal,
        np.where(id_roll < 0.8, people.person_id[rep], ""),
        np.where(id_roll < 0.4, b.uscc[g], ""),
    )
    # Counterparties: banks (debt cases), people, or other businesses of the region.
    other_roll = rng.random(n)
    bank_names = np.array([name for _, name in vocab.BANKS])
    bank = bank_names[rng.integers(0, len(bank_names), size=n)]
    other_business = rng.integers(0, len(b), size=n)
    outsider = rng.integers(len(b), len(people), size=n)
    # A business can be a counterparty only while it exists: founded before the filing
    # and not yet closed.
    other_closed = b.closed_month[other_business]
    counter_exists = (b.established[other_business] < filed) & (
        (other_closed == NO_MONTH) | (other_closed > month)
    )
    counter_is_business = (other_roll >= 0.75) & (other_business != g) & counter_exists
    counter_name = np.where(
        counter_is_business,
        b.name[other_business],
        np.where(other_roll < 0.45, bank, people.name[outsider]),
    )
    counter_id = np.where(
        counter_is_business & (rng.random(n) < 0.5),
        b.uscc[other_business],
        np.where((other_roll >= 0.45) & (other_roll < 0.75), people.person_id[outsider], ""),
    )
    counter_role = np.where(role == "plaintiff", "defendant", "plaintiff")
    counter_truth = np.where(counter_is_business, b.uscc[other_business], "")
    both_role = np.concatenate([role, counter_role])
    chinese = rng.random(2 * n) < 0.7
    role_text = np.where(chinese, _translate(both_role, COURT_ROLES), both_role)
    filed_text = fmt_dates(filed, rng)
    closed_text = fmt_dates(closed_on, rng)
    rows: Columns = {
        "case_no": np.concatenate([case_no, case_no]),
        "party_name": np.concatenate([party_name, counter_name]),
        "party_id": np.concatenate([party_id, counter_id]),
        "role": role_text,
        "filed_on": np.concatenate([filed_text, filed_text]),
        "amount": np.concatenate([amount, amount]),
        "closed_on": np.concatenate([closed_text, closed_text]),
    }
    truth = np.concatenate([chunk.uscc(local), counter_truth])
    # A counterparty that shares the business's written name would repeat the key.
    key = _join(rows["case_no"], "|", rows["party_name"])
    _, first = np.unique(key, return_index=True)
    first.sort()
    return {k: v[first] for k, v in rows.items()}, truth[first]


def property_rows(chunk: Chunk) -> tuple[Columns, StrArray]:
    rng = chunk.rng
    b, people = chunk.region.businesses, chunk.region.people
    types = chunk.take("entity_type")
    industry = chunk.take("industry")
    p_own = np.where(
        types == ENTERPRISE,
        np.where(_INDUSTRY_MANUFACTURING[industry], 0.45, 0.2),
        np.where(types == INDIVIDUAL, 0.35, 0.25),
    )
    count = (rng.random(len(chunk)) < p_own) * rng.integers(1, 3, size=len(chunk))
    local = np.repeat(np.arange(len(chunk)), count)
    n = len(local)
    g = chunk.index[local]
    by_person = b.entity_type[g] == INDIVIDUAL
    kind = np.where(
        by_person,
        np.where(rng.random(n) < 0.7, "residential", "commercial"),
        np.where(
            _INDUSTRY_MANUFACTURING[b.industry[g]],
            np.where(rng.random(n) < 0.7, "industrial", "land"),
            "commercial",
        ),
    )
    area = np.round(
        np.where(
            kind == "residential", rng.lognormal(4.6, 0.3, size=n), rng.lognormal(6.0, 0.8, size=n)
        ),
        2,
    )
    unit_price = np.select(
        [kind == "residential", kind == "commercial", kind == "industrial"],
        [16_000.0, 18_000.0, 3_000.0],
        1_500.0,
    )
    value = money(np.round(area * unit_price * rng.lognormal(0, 0.2, size=n), -2))
    mortgaged = rng.random(n) < _sigmoid(-0.6 + 0.5 * chunk.trouble_odds(local))
    bank_names = np.array([name for _, name in vocab.BANKS])
    mortgagee = np.where(mortgaged, bank_names[rng.integers(0, len(bank_names), size=n)], "")
    rep = b.legal_rep[g]
    year = rng.integers(2008, chunk.region.window.as_of.year, size=n)
    seq = chunk.serial[g] * 5 + np.arange(n) % 5
    cert_no = _join(
        "浙（",
        year.astype(str),
        "）",
        _DISTRICT_NAMES[b.district[g]],
        "不动产权第",
        np.char.zfill(seq.astype(str), 8),
        "号",
    )
    rows: Columns = {
        "cert_no": cert_no,
        "owner_name": np.where(by_person, people.name[rep], b.name[g]),
        "owner_id": np.where(by_person, people.person_id[rep], b.uscc[g]),
        "kind": _translate(kind, PROPERTY_KINDS),
        "area_m2": area,
        "value": value,
        "mortgaged": np.where(mortgaged, "是", "否"),
        "mortgagee": mortgagee,
    }
    return rows, chunk.uscc(local)


def _years(chunk: Chunk) -> IntArray:
    last = chunk.region.window.as_of.year - 1
    return np.arange(last - 2, last + 1)


def _alive_in_year(chunk: Chunk, year: int) -> BoolArray:
    window = chunk.region.window
    first = int((np.datetime64(f"{year}-01", "M") - window.start).astype(np.int64))
    span = chunk.active[:, max(first, 0) : max(first + 12, 0)]
    alive: BoolArray = np.asarray(span.any(axis=1), dtype=bool)
    return alive


def tax_grade_rows(chunk: Chunk) -> Columns:
    rng = chunk.rng
    out: list[Columns] = []
    window = chunk.region.window
    types = chunk.take("entity_type")
    graded = (types != INDIVIDUAL) | (rng.random(len(chunk)) < 0.3)
    soundness = chunk.take("soundness")
    distress = chunk.take("distress_month")
    for year in _years(chunk):
        alive = _alive_in_year(chunk, int(year)) & graded
        local = np.nonzero(alive)[0]
        year_end = int(np.datetime64(f"{year}-12", "M") - window.start)
        troubled = (distress[local] != NO_MONTH) & (distress[local] <= year_end)
        score = soundness[local] + rng.normal(0, 0.6, size=len(local)) - 2.0 * troubled
        grade = np.select([score > 1.0, score > -0.4, score > -1.6], ["A", "B", "C"], "D")
        new = chunk.take("established")[local] >= np.datetime64(f"{year}-01-01")
        grade = np.where(new, "M", grade)
        out.append({"uscc": chunk.uscc(local), "year": np.full(len(local), year), "grade": grade})
    return concat(out)


def carbon_rows(chunk: Chunk) -> Columns:
    rng = chunk.rng
    types = chunk.take("entity_type")
    factory = (types == ENTERPRISE) & _INDUSTRY_MANUFACTURING[chunk.take("industry")]
    out: list[Columns] = []
    for year in _years(chunk)[1:]:
        local = np.nonzero(factory & _alive_in_year(chunk, int(year)))[0]
        grade = np.clip(
            np.round(
                3 - 0.8 * chunk.take("soundness")[local] + rng.normal(0, 0.8, size=len(local))
            ),
            1,
            5,
        ).astype(np.int64)
        out.append({"uscc": chunk.uscc(local), "year": np.full(len(local), year), "grade": grade})
    return concat(out)


def honors_rows(chunk: Chunk) -> Columns:
    rng = chunk.rng
    types = chunk.take("entity_type")
    soundness = chunk.take("soundness")
    industry = chunk.take("industry")
    tech = _INDUSTRY_MANUFACTURING[industry] | np.isin(
        np.array([p.code for p in vocab.INDUSTRIES])[industry], ["6513", "6531", "2720"]
    )
    chances = {
        "专精特新": np.where(tech & (soundness > 0.8), 0.18, 0.0),
        "高新技术企业": np.where(tech & (soundness > 0.5), 0.22, 0.0),
        "科技型中小企业": np.where(tech & (soundness > 0.0), 0.3, 0.0),
        "守合同重信用": np.where(soundness > 0.5, 0.12, 0.0),
    }
    out: list[Columns] = []
    for tag, chance in chances.items():
        holds = (types == ENTERPRISE) & (rng.random(len(chunk)) < chance)
        for year in _years(chunk):
            local = np.nonzero(holds & _alive_in_year(chunk, int(year)))[0]
            out.append(
                {
                    "uscc": chunk.uscc(local),
                    "tag": np.full(len(local), tag),
                    "year": np.full(len(local), year),
                }
            )
    return concat(out)


def concat(parts: list[Columns]) -> Columns:
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


@dataclass(frozen=True, slots=True)
class Loans:
    """Every loan of the chunk over the whole window, with its true outcome."""

    rows: Columns  # contract columns, as known on the as-of date
    in_delivery: BoolArray  # started before the as-of date
    truth: Columns  # outcome over the whole window, label "90+ dpd within 12 months"


def loan_outcomes(
    rng: np.random.Generator,
    as_of: np.datetime64,
    start: npt.NDArray[np.datetime64],
    maturity: npt.NDArray[np.datetime64],
    default_on: npt.NDArray[np.datetime64],
    risk: FloatArray,
) -> tuple[StrArray, IntArray, npt.NDArray[np.datetime64]]:
    """Status, worst days past due and default date of each loan as seen on ``as_of``."""
    n = len(start)
    first_missed = default_on - 90
    defaulted = ~np.isnat(default_on) & (default_on <= as_of)
    overdue = ~np.isnat(default_on) & ~defaulted & (first_missed <= as_of)
    repaid = ~defaulted & ~overdue & (maturity <= as_of)
    late_days = np.where(rng.random(n) < _sigmoid(-2.8 + risk), rng.integers(1, 30, size=n), 0)
    dpd = np.where(defaulted | overdue, (as_of - first_missed).astype(np.int64), late_days)
    status = np.select([defaulted, overdue, repaid], ["default", "overdue", "repaid"], "current")
    # A loan that has not started yet has no history at all.
    dpd = np.where(start > as_of, 0, dpd)
    return status, dpd.astype(np.int64), np.where(defaulted, default_on, NAT)


def business_loans(chunk: Chunk) -> Loans:
    rng = chunk.rng
    window = chunk.region.window
    b = chunk.region.businesses
    n = len(chunk)
    types = chunk.take("entity_type")
    borrower = rng.random(n) < np.where(
        types == ENTERPRISE, 0.45, np.where(types == COOP, 0.4, 0.25)
    )
    active_months = chunk.active.sum(axis=1)
    count = np.where(borrower, rng.poisson(0.55 * active_months / 12.0), 0)
    count = np.minimum(count, 40)
    local = np.repeat(np.arange(n), count)
    m = len(local)
    est = np.maximum(window.month_of(chunk.take("established")[local]), 0)
    closed = chunk.take("closed_month")[local]
    end = np.where(closed == NO_MONTH, window.months, closed)
    start_month = est + (rng.random(m) * np.maximum(end - est, 1)).astype(np.int64)
    distress = chunk.take("distress_month")[local]
    # Banks rarely lend once trouble has begun.
    keep = (distress == NO_MONTH) | (start_month <= distress) | (rng.random(m) < 0.1)
    local, start_month, distress = local[keep], start_month[keep], distress[keep]
    m = len(local)
    g = chunk.index[local]
    start = window.month_start(start_month) + rng.integers(0, 28, size=m)
    term = rng.choice([12, 24, 36], size=m, p=[0.7, 0.15, 0.15])
    maturity = (start.astype("datetime64[M]") + term).astype("datetime64[D]") + (
        start - start.astype("datetime64[M]").astype("datetime64[D]")
    )
    onset = window.month_start(np.maximum(distress, start_month)) + rng.integers(0, 28, size=m)
    hit = (distress != NO_MONTH) & (np.maximum(distress, start_month) < start_month + term)
    # The first missed payment comes a month after the onset, or at maturity if sooner;
    # 90 days past due after that is the default.
    first_missed = np.minimum(onset + (DEFAULT_LAG_DAYS - 90), maturity)
    default_on = np.where(hit, first_missed + 90, NAT)
    soundness = b.soundness[g]
    status, dpd, known_default = loan_outcomes(
        rng, window.as_of_day, start, maturity, default_on, -0.8 * soundness
    )
    amount = np.clip(
        np.round(b.base_revenue[g] * rng.uniform(0.8, 4.0, size=m), -3), 10_000, 10_000_000
    )
    bank_codes = np.array([code for code, _ in vocab.BANKS])
    bank_idx = rng.integers(0, len(bank_codes), size=m)
    spread = np.array([1.2, 1.8, 1.8, 2.2, 2.2, 0.4, 0.3, 0.8])[bank_idx]
    rate = np.round(
        np.clip(3.45 + spread - 0.5 * soundness + rng.normal(0, 0.4, size=m), 2.8, 15), 2
    )
    has_property = rng.random(m) < 0.35
    guarantee = np.where(
        has_property & (rng.random(m) < 0.6),
        "mortgage",
        np.where(
            rng.random(m) < _sigmoid(0.2 + 0.8 * soundness),
            "credit",
            np.where(rng.random(m) < 0.85, "guarantee", "pledge"),
        ),
    )
    # First loan: the business's earliest loan here, unless it borrowed before the window.
    order = np.lexsort((start, local))
    earliest = np.ones(m, dtype=bool)
    earliest[order[1:]] = local[order[1:]] != local[order[:-1]]
    earlier_credit = rng.random(n) < 0.45
    first_loan = earliest & ~earlier_credit[local]
    seq = chunk.serial[g] * 50 + np.arange(m) % 50
    loan_id = _join(
        bank_codes[bank_idx],
        fmt_dates(start, rng, mixed=False).astype("U10"),
        np.char.zfill(seq.astype(str), 9),
    )
    loan_id = np.char.replace(loan_id, "-", "")
    products = np.array(vocab.LOAN_PRODUCTS)
    rows: Columns = {
        "bank": bank_codes[bank_idx],
        "loan_id": loan_id,
        "borrower_id": b.uscc[g],
        "product": products[rng.integers(0, len(products), size=m)],
        "guarantee": guarantee,
        "amount": money(amount),
        "rate": rate,
        "start": fmt_dates(start, rng, mixed=False),
        "maturity": fmt_dates(maturity, rng, mixed=False),
        "first_loan": np.where(first_loan, "true", "false"),
        "status": status,
        "max_dpd": dpd,
        "default_on": fmt_dates(known_default, rng, mixed=False),
    }
    truth: Columns = {
        "bank": rows["bank"],
        "loan_id": rows["loan_id"],
        "borrower_id": rows["borrower_id"],
        "start": rows["start"],
        "maturity": rows["maturity"],
        "default_on": fmt_dates(default_on, rng, mixed=False),
        "bad_12m": ~np.isnat(default_on) & (default_on <= start + 365),
    }
    return Loans(rows, start < window.as_of_day, truth)


def orders_rows(chunk: Chunk) -> Columns:
    """Distributors buying from the region's core manufacturers, and how they pay."""
    rng = chunk.rng
    window = chunk.region.window
    b = chunk.region.businesses
    cores = chunk.core_enterprises
    types = chunk.take("entity_type")
    buyer = (types != COOP) & (rng.random(len(chunk)) < 0.08) & ~np.isin(chunk.index, cores)
    if len(cores) == 0:
        buyer[:] = False
    recent = chunk.observed.copy()
    recent[:, : window.history - 24] = False
    lam = np.where(buyer[:, None] & recent, 1.5, 0.0)
    counts = rng.poisson(lam)
    local, month = np.nonzero(counts)
    reps = counts[local, month]
    local, month = np.repeat(local, reps), np.repeat(month, reps)
    n = len(local)
    g = chunk.index[local]
    core = cores[(chunk.serial[g] % max(len(cores), 1))] if n else np.zeros(0, dtype=np.int64)
    ordered = window.month_start(month) + rng.integers(0, 28, size=n)
    due = ordered + rng.choice([30, 60, 90], size=n)
    since = chunk.after_distress[local, month]
    delay = np.round(rng.normal(-2.0 - 4.0 * b.soundness[g], 6.0, size=n)) + np.where(
        since >= 0, 60, 0
    )
    paid = due + delay.astype(np.int64)
    paid = np.where(paid <= ordered, ordered + 1, paid)
    paid = np.where(paid < window.as_of_day, paid, NAT)
    platforms = np.array(vocab.SUPPLY_PLATFORMS)
    seq = chunk.serial[g] * 1000 + np.arange(n) % 1000
    return {
        "platform": platforms[chunk.serial[g] % len(platforms)],
        "order_id": _join("PO", np.char.zfill(seq.astype(str), 11)),
        "buyer_id": b.uscc[g],
        "buyer_name": b.name[g],
        "seller_id": b.uscc[core] if n else np.zeros(0, dtype="U18"),
        "ordered_on": fmt_dates(ordered, rng, mixed=False),
        "amount": money(np.round(b.base_revenue[g] * rng.uniform(0.05, 0.3, size=n), 0)),
        "due_on": fmt_dates(due, rng, mixed=False),
        "paid_on": fmt_dates(paid, rng, mixed=False),
    }


def households_rows(region: Region, rng: np.random.Generator) -> tuple[Columns, Loans]:
    """Farm households' balance sheets, and their loans (borrower: the head's person id)."""
    h, people = region.households, region.people
    window = region.window
    n = len(h)
    income = np.round(rng.lognormal(11.4, 0.45, size=n) * (1 + 0.25 * h.workers), -2)
    house = np.round(rng.lognormal(13.0, 0.5, size=n), -3)
    rows: Columns = {
        "household_id": h.household_id,
        "village": h.village,
        "head_name": people.name[h.head],
        "head_id": people.person_id[h.head],
        "members": h.members,
        "workers": h.workers,
        "land_mu": h.land_mu,
        "house_value": house,
        "livestock_value": np.round(rng.exponential(8_000, size=n) * (rng.random(n) < 0.3), -2),
        "machinery_value": np.round(rng.exponential(15_000, size=n) * (rng.random(n) < 0.4), -2),
        "deposits": np.round(rng.lognormal(10.5, 1.0, size=n) * _sigmoid(h.soundness), -2),
        "annual_income": income,
        "liabilities": np.round(rng.lognormal(10.8, 1.0, size=n) * (rng.random(n) < 0.45), -2),
    }
    borrows = rng.random(n) < 0.3
    idx = np.nonzero(borrows)[0]
    m = len(idx)
    start_month = rng.integers(0, window.months, size=m)
    start = window.month_start(start_month) + rng.integers(0, 28, size=m)
    maturity = start + 365
    bad = rng.random(m) < _sigmoid(-4.0 - 1.0 * h.soundness[idx])
    default_on = np.where(bad, start + rng.integers(120, 330, size=m), NAT)
    status, dpd, known_default = loan_outcomes(
        rng, window.as_of_day, start, maturity, default_on, -0.8 * h.soundness[idx]
    )
    loan_id = _join("RC", np.char.zfill(np.arange(1, m + 1).astype(str), 10))
    loans_rows: Columns = {
        "bank": np.full(m, "JJRCB"),
        "loan_id": loan_id,
        "borrower_id": people.person_id[h.head[idx]],
        "product": np.full(m, "丰收小额贷"),
        "guarantee": np.where(rng.random(m) < 0.7, "credit", "guarantee"),
        "amount": np.round(
            np.clip(income[idx] * rng.uniform(0.3, 1.5, size=m), 10_000, 500_000), -3
        ),
        "rate": np.round(rng.uniform(3.8, 6.5, size=m), 2),
        "start": fmt_dates(start, rng, mixed=False),
        "maturity": fmt_dates(maturity, rng, mixed=False),
        "first_loan": np.where(rng.random(m) < 0.3, "true", "false"),
        "status": status,
        "max_dpd": dpd,
        "default_on": fmt_dates(known_default, rng, mixed=False),
    }
    truth: Columns = {
        "bank": loans_rows["bank"],
        "loan_id": loan_id,
        "borrower_id": loans_rows["borrower_id"],
        "start": loans_rows["start"],
        "maturity": loans_rows["maturity"],
        "default_on": fmt_dates(default_on, rng, mixed=False),
        "bad_12m": bad,
    }
    return rows, Loans(loans_rows, start < window.as_of_day, truth)

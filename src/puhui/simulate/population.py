"""The region's people, businesses and households, with their hidden soundness.

Everything is drawn at once as numpy arrays (one element per person / business /
household), so a million businesses take seconds. The time axis is a window of months:
``history`` months before the as-of month (observed by the feeds) and ``future`` months
after it (kept in ``truth/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from puhui.identifiers import make_person_ids, make_usccs
from puhui.reference.data import division_uses
from puhui.simulate import vocab

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]
BoolArray = npt.NDArray[np.bool_]

ENTERPRISE, INDIVIDUAL, COOP = 0, 1, 2
ENTITY_TYPE_NAMES = np.array(["enterprise", "individual", "coop"])
ACTIVE, REVOKED, CANCELLED = 0, 1, 2
STATUS_NAMES = np.array(["active", "revoked", "cancelled"])
NO_MONTH = -1_000  # "never" on the month axis


@dataclass(frozen=True, slots=True)
class Window:
    """Months of the simulation: index 0 is ``history`` months before the as-of month."""

    as_of: date
    history: int = 36
    future: int = 12

    @property
    def months(self) -> int:
        return self.history + self.future

    @property
    def start(self) -> np.datetime64:
        return np.datetime64(self.as_of, "M") - self.history

    def month_start(self, index: IntArray) -> npt.NDArray[np.datetime64]:
        """First day of month ``index`` (vectorised)."""
        return (self.start + index).astype("datetime64[D]")

    def month_of(self, days: npt.NDArray[np.datetime64]) -> IntArray:
        """Month index of each date."""
        return (days.astype("datetime64[M]") - self.start).astype(np.int64)

    @property
    def as_of_day(self) -> np.datetime64:
        return np.datetime64(self.as_of, "D")


@dataclass(slots=True)
class People:
    name: StrArray
    person_id: StrArray
    birth: npt.NDArray[np.datetime64]
    male: BoolArray
    phone: StrArray

    def __len__(self) -> int:
        return len(self.name)


@dataclass(slots=True)
class Businesses:
    """One element per registered market entity."""

    uscc: StrArray
    name: StrArray
    short_name: StrArray  # how other departments often write it (字号 + 行业)
    entity_type: IntArray
    industry: IntArray  # index into vocab.INDUSTRIES
    district: IntArray  # index into vocab.DISTRICTS
    town: IntArray
    road: IntArray
    house_no: IntArray
    lon: FloatArray
    lat: FloatArray
    established: npt.NDArray[np.datetime64]
    capital_wan: FloatArray  # NaN where not registered
    employees: IntArray
    base_revenue: FloatArray  # monthly, yuan, at the as-of month before shocks
    growth: FloatArray  # monthly log growth
    volatility: FloatArray
    soundness: FloatArray  # latent; higher is sounder
    pd_12m: FloatArray  # true probability of distress within a year
    distress_month: IntArray  # month index of trouble's onset, NO_MONTH if never
    status: IntArray
    closed_month: IntArray  # first month without activity, NO_MONTH if open
    closed_on: npt.NDArray[np.datetime64]  # NaT unless cancelled
    legal_rep: IntArray  # index into People
    phone: StrArray

    def __len__(self) -> int:
        return len(self.uscc)

    def established_month(self, window: Window) -> IntArray:
        return window.month_of(self.established)

    def active(self, window: Window) -> BoolArray:
        """Whether each business operates in each month: shape ``(n, window.months)``."""
        months = np.arange(window.months)
        start = self.established_month(window)[:, None]
        closed = np.where(self.closed_month == NO_MONTH, 10**6, self.closed_month)[:, None]
        return (months >= start) & (months < closed)


@dataclass(slots=True)
class Households:
    household_id: StrArray
    village: StrArray
    head: IntArray  # index into People
    members: IntArray
    workers: IntArray
    land_mu: FloatArray
    soundness: FloatArray

    def __len__(self) -> int:
        return len(self.household_id)


@dataclass(slots=True)
class Region:
    window: Window
    people: People
    businesses: Businesses
    households: Households


def _pick(rng: np.random.Generator, chars: str, shape: tuple[int, ...]) -> StrArray:
    alphabet = np.array(list(chars))
    return alphabet[rng.integers(0, len(alphabet), size=shape)]


def _join(*parts: npt.ArrayLike) -> StrArray:
    out = np.asarray(parts[0]).astype(str)
    for part in parts[1:]:
        out = np.char.add(out, np.asarray(part).astype(str))
    return out


def _birth_place_codes(rng: np.random.Generator, years: IntArray, migrant: BoolArray) -> IntArray:
    """A GB/T 2260 county code of a real birth place that was in use in each birth year.

    Locals are born in a Taizhou county under the code it had that year (3327xx in the
    台州地区 of before 1982, 3326xx until 1994, 3310xx since); migrants in a county of a
    few sending provinces. Ids so made pass python-stdnum's check of place against year.
    """
    local_places = tuple(d.name[:2] for d in vocab.DISTRICTS)
    local_prefixes = ("3310", "3326", "3327")
    counties = [u for u in division_uses() if u.level == "county" and not u.code.endswith("01")]
    local = [u for u in counties if u.code[:4] in local_prefixes and u.name[:2] in local_places]
    sending = [u for u in counties if u.code[:2] in vocab.MIGRANT_PROVINCES]
    codes = np.zeros(len(years), dtype=np.int64)
    for year in np.unique(years):
        for is_migrant, uses in ((False, local), (True, sending)):
            mask = (years == year) & (migrant == is_migrant)
            if not mask.any():
                continue
            pool = np.array(sorted({int(u.code) for u in uses if u.valid_in(int(year))}))
            codes[mask] = pool[rng.integers(0, len(pool), size=int(mask.sum()))]
    return codes


def _unique_person_ids(
    rng: np.random.Generator,
    places: IntArray,
    birth: npt.NDArray[np.datetime64],
    male: BoolArray,
) -> StrArray:
    """Resident ids with no two alike: the sequence is redrawn where two collide."""
    sequence = rng.integers(0, 500, size=len(places)) * 2 + male.astype(np.int64)
    ids = make_person_ids(places, birth, sequence)
    for _attempt in range(100):
        _, first, _counts = np.unique(ids, return_index=True, return_counts=True)
        keep = np.zeros(len(ids), dtype=bool)
        keep[first] = True
        clash = ~keep
        if not clash.any():
            return ids
        sequence[clash] = rng.integers(0, 500, size=int(clash.sum())) * 2 + male[clash]
        ids[clash] = make_person_ids(places[clash], birth[clash], sequence[clash])
    # Only reachable if a (place, birth date, sex) had more than 500 people.
    raise RuntimeError("could not draw unique resident ids: too many people per birth day")


def make_people(rng: np.random.Generator, n: int, as_of: date) -> People:
    """``n`` adults aged 22-72 with names, valid ids and mobile numbers."""
    age_days = rng.integers(22 * 365, 72 * 365, size=n)
    # Business owners cluster in their forties; ages are drawn in days, not whole years.
    age_days = np.minimum(age_days, ((rng.gamma(9.0, 5.0, size=n) + 20) * 365.25).astype(np.int64))
    birth = np.datetime64(as_of, "D") - age_days
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    male = rng.random(n) < 0.62
    migrant = rng.random(n) < 0.12
    places = _birth_place_codes(rng, years, migrant)
    ids = _unique_person_ids(rng, places, birth, male)
    two_chars = rng.random(n) < 0.7
    given = np.where(
        two_chars,
        _join(_pick(rng, vocab.GIVEN_CHARS, (n,)), _pick(rng, vocab.GIVEN_CHARS, (n,))),
        _pick(rng, vocab.GIVEN_CHARS, (n,)),
    )
    surname = _surnames(rng, n)
    prefixes = np.array(["139", "138", "137", "136", "135", "158", "159", "187", "188", "133"])
    phone = _join(
        prefixes[rng.integers(0, len(prefixes), size=n)],
        np.char.zfill(rng.integers(0, 10**8, size=n).astype(str), 8),
    )
    return People(_join(surname, given), ids, birth, male, phone)


def _surnames(rng: np.random.Generator, n: int) -> StrArray:
    chars = np.array(list(vocab.SURNAMES))
    # Zipf-like: the common surnames of the region dominate.
    weights = 1.0 / np.arange(1, len(chars) + 1) ** 0.9
    return chars[rng.choice(len(chars), size=n, p=weights / weights.sum())]


def _industry_choice(rng: np.random.Generator, entity_type: IntArray) -> IntArray:
    letters = "eic"
    industry = np.zeros(len(entity_type), dtype=np.int64)
    for kind, letter in enumerate(letters):
        mask = entity_type == kind
        weights = np.array(
            [p.share if letter in p.types else 0.0 for p in vocab.INDUSTRIES], dtype=float
        )
        industry[mask] = rng.choice(len(weights), size=int(mask.sum()), p=weights / weights.sum())
    return industry


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def _unique_names(
    rng: np.random.Generator, build: NameBuilder, n: int
) -> tuple[StrArray, StrArray]:
    """Registered names are unique in a registry; redraw the 字号 where two collide."""
    trade = _join(_pick(rng, vocab.TRADE_CHARS, (n,)), _pick(rng, vocab.TRADE_CHARS, (n,)))
    trade = trade.astype("U8")  # room to grow on a clash
    while True:
        names, short = build(trade)
        _, first = np.unique(names, return_index=True)
        clash = np.ones(n, dtype=bool)
        clash[first] = False
        if not clash.any():
            return names, short
        # A 王记面馆 that clashes takes a 字号 instead; a 字号 that clashes grows a character.
        surname_named = clash & build.by_surname
        build.by_surname[surname_named] = False
        grow = clash & ~surname_named
        extra = _pick(rng, vocab.TRADE_CHARS, (int(grow.sum()),))
        trade[grow] = _join(trade[grow], extra)


class NameBuilder:
    """Names from a 字号 (trade name): full registered name and the short form."""

    def __init__(
        self,
        entity_type: IntArray,
        industry: IntArray,
        district: IntArray,
        rep_surname: StrArray,
        rng: np.random.Generator,
    ) -> None:
        self.entity_type = entity_type
        firm = np.array([p.firm_word for p in vocab.INDUSTRIES])[industry]
        shop = np.array([p.shop_word for p in vocab.INDUSTRIES])[industry]
        district_name = np.array([d.name for d in vocab.DISTRICTS])[district]
        n = len(entity_type)
        # Enterprises carry the city (most) or the province as a prefix;
        # individual businesses the district; cooperatives the district.
        prefix = np.where(rng.random(n) < 0.85, vocab.CITY, "浙江")
        suffixes = np.array(vocab.ENTERPRISE_SUFFIXES)
        suffix = suffixes[rng.integers(0, len(suffixes), size=n)]
        self.enterprise_parts = (prefix, firm, suffix)
        self.individual_parts = (district_name, shop, _join(rep_surname, "记"))
        self.coop_parts = (district_name, firm)
        self.by_surname = rng.random(n) < 0.45

    def __call__(self, trade: StrArray) -> tuple[StrArray, StrArray]:
        prefix, firm, suffix = self.enterprise_parts
        district_name, shop, surname_mark = self.individual_parts
        shop_trade = np.where(self.by_surname, surname_mark, trade)
        names = np.where(
            self.entity_type == ENTERPRISE,
            _join(prefix, trade, firm, suffix),
            np.where(
                self.entity_type == INDIVIDUAL,
                _join(district_name, shop_trade, shop),
                _join(district_name, trade, firm, vocab.COOP_SUFFIX),
            ),
        )
        short = np.where(
            self.entity_type == INDIVIDUAL, _join(shop_trade, shop), _join(trade, firm)
        )
        return names, short


def make_businesses(rng: np.random.Generator, n: int, window: Window, people: People) -> Businesses:
    """``n`` businesses; their legal representatives are ``people[:n]`` with some repeats."""
    as_of = window.as_of_day
    entity_type = rng.choice(3, size=n, p=[0.34, 0.61, 0.05])
    industry = _industry_choice(rng, entity_type)
    shares = np.array([d.share for d in vocab.DISTRICTS])
    district = rng.choice(len(shares), size=n, p=shares / shares.sum())
    towns_per_district = np.array([len(d.towns) for d in vocab.DISTRICTS])
    town = (rng.random(n) * towns_per_district[district]).astype(np.int64)
    road = rng.integers(0, len(vocab.ROADS), size=n)
    house_no = rng.integers(1, 999, size=n)
    centre_lon = np.array([d.lon for d in vocab.DISTRICTS])[district]
    centre_lat = np.array([d.lat for d in vocab.DISTRICTS])[district]
    lon = np.round(centre_lon + rng.normal(0, 0.04, size=n), 6)
    lat = np.round(centre_lat + rng.normal(0, 0.035, size=n), 6)

    # Age: individual businesses are younger and shorter-lived than enterprises.
    mean_age = np.where(entity_type == INDIVIDUAL, 4.5, np.where(entity_type == COOP, 7.0, 8.0))
    age_years = np.minimum(rng.exponential(mean_age), 30.0) + 0.08
    established = as_of - (age_years * 365.25).astype(np.int64)

    capital = np.where(
        entity_type == ENTERPRISE,
        np.round(10 ** rng.normal(2.0, 0.55, size=n), 0),
        np.where(entity_type == COOP, np.round(10 ** rng.normal(1.6, 0.4, size=n), 0), np.nan),
    )
    # Many individual businesses register a small capital, most leave it empty.
    small = (entity_type == INDIVIDUAL) & (rng.random(n) < 0.3)
    capital[small] = np.round(rng.uniform(1, 50, size=int(small.sum())), 0)

    employees = np.where(
        entity_type == ENTERPRISE,
        np.round(np.exp(rng.normal(2.1, 0.85, size=n))),
        np.where(entity_type == COOP, rng.poisson(4, size=n) + 2, rng.poisson(1.3, size=n)),
    ).astype(np.int64)

    profile_risk = np.array([p.risk for p in vocab.INDUSTRIES])[industry]
    profile_revenue = np.array([p.revenue for p in vocab.INDUSTRIES])[industry]
    log_capital = np.log10(np.nan_to_num(capital, nan=5.0) + 1.0)
    soundness = (
        rng.normal(0.0, 1.0, size=n)
        + profile_risk
        + 0.35 * (np.log1p(age_years) - 1.6)
        + 0.25 * (log_capital - 1.5)
    )
    pd_12m = _sigmoid(-4.0 - 1.15 * soundness)

    base_revenue = (
        profile_revenue
        * (employees + 1.0) ** 0.6
        * np.exp(rng.normal(0.0, 0.45, size=n) + 0.15 * soundness)
    )
    growth = 0.002 + 0.006 * soundness + rng.normal(0.0, 0.004, size=n)
    volatility = 0.08 + 0.14 * _sigmoid(-soundness)

    # Trouble arrives as a constant monthly hazard from the business's first month.
    hazard = 1.0 - (1.0 - pd_12m) ** (1.0 / 12.0)
    start = np.maximum(window.month_of(established), 0)
    wait = np.floor(np.log(rng.random(n)) / np.log1p(-hazard)).astype(np.int64)
    distress_month = np.where(start + wait < window.months, start + wait, NO_MONTH)

    # Closure: most businesses in trouble long before the as-of month have closed;
    # a few sound ones close by choice.
    status = np.full(n, ACTIVE, dtype=np.int64)
    closed_month = np.full(n, NO_MONTH, dtype=np.int64)
    troubled = (distress_month != NO_MONTH) & (distress_month + 5 < window.history)
    closes_after = distress_month + rng.integers(5, 15, size=n)
    roll = rng.random(n)
    cancel = troubled & (roll < 0.55) & (closes_after < window.history)
    revoke = troubled & (roll >= 0.55) & (roll < 0.7) & (closes_after < window.history)
    voluntary = (
        ~troubled & (rng.random(n) < 0.025) & (window.month_of(established) < window.history - 2)
    )
    first_open = np.minimum(np.maximum(window.month_of(established) + 1, 0), window.history - 1)
    voluntary_month = first_open + (rng.random(n) * (window.history - first_open)).astype(np.int64)
    closed_month[cancel | revoke] = closes_after[cancel | revoke]
    closed_month[voluntary] = voluntary_month[voluntary]
    status[cancel | voluntary] = CANCELLED
    status[revoke] = REVOKED
    closed_on = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    cancelled = status == CANCELLED
    closed_on[cancelled] = window.month_start(closed_month[cancelled]) + rng.integers(
        0, 28, size=int(cancelled.sum())
    )

    # Legal representatives: mostly one business each; serial entrepreneurs run several.
    legal_rep = np.arange(n)
    repeat = rng.random(n) < 0.08
    legal_rep[repeat] = rng.integers(0, n, size=int(repeat.sum()))
    rep_surname = np.array([name[0] for name in people.name[legal_rep]])

    build = NameBuilder(entity_type, industry, district, rep_surname, rng)
    names, short = _unique_names(rng, build, n)
    serial = rng.choice(10**8, size=n, replace=False)
    division = np.array([d.code for d in vocab.DISTRICTS])[district]
    uscc = make_usccs(np.full(n, 9), entity_type + 1, division, serial)
    phone = np.where(rng.random(n) < 0.8, people.phone[legal_rep], "")
    return Businesses(
        uscc=uscc,
        name=names,
        short_name=short,
        entity_type=entity_type,
        industry=industry,
        district=district,
        town=town,
        road=road,
        house_no=house_no,
        lon=lon,
        lat=lat,
        established=established,
        capital_wan=capital,
        employees=employees,
        base_revenue=base_revenue,
        growth=growth,
        volatility=volatility,
        soundness=soundness,
        pd_12m=pd_12m,
        distress_month=distress_month,
        status=status,
        closed_month=closed_month,
        closed_on=closed_on,
        legal_rep=legal_rep,
        phone=phone,
    )


def make_households(
    rng: np.random.Generator, n: int, people: People, first_head: int, businesses: Businesses
) -> Households:
    """Farm households in villages; a tenth are headed by a business's legal representative."""
    shares = np.array([d.share for d in vocab.DISTRICTS])
    district = rng.choice(len(shares), size=n, p=shares / shares.sum())
    towns_per_district = np.array([len(d.towns) for d in vocab.DISTRICTS])
    town = (rng.random(n) * towns_per_district[district]).astype(np.int64)
    village_no = rng.integers(200, 240, size=n)
    division = np.array([d.code for d in vocab.DISTRICTS])[district]
    village = _join(
        division.astype(str), np.char.zfill((town + 101).astype(str), 3), village_no.astype(str)
    )
    head = np.arange(first_head, first_head + n)
    owner = rng.random(n) < 0.1
    head[owner] = businesses.legal_rep[rng.integers(0, len(businesses), size=int(owner.sum()))]
    _, first = np.unique(head, return_index=True)
    keep = np.zeros(n, dtype=bool)
    keep[first] = True  # one household per head
    head, village = head[keep], village[keep]
    m = len(head)
    members = rng.integers(1, 7, size=m)
    workers = np.minimum(members, rng.integers(1, 4, size=m))
    land_mu = np.round(rng.lognormal(1.2, 0.7, size=m), 1)
    household_id = _join("HH", np.char.zfill(np.arange(1, m + 1).astype(str), 8))
    soundness = rng.normal(0.3, 1.0, size=m) + 0.1 * (workers - 1)
    return Households(household_id, village, head, members, workers, land_mu, soundness)


def make_region(seed: int, n_businesses: int, window: Window) -> Region:
    """The whole region for ``seed``: the same seed gives the same region, array for array."""
    rng = np.random.default_rng([seed, 0])
    n_households = max(1, n_businesses // 4)
    # People: one per business (reps), households' heads, and others (shareholders, parties).
    n_people = n_businesses + n_households + max(10, n_businesses // 5)
    people = make_people(rng, n_people, window.as_of)
    businesses = make_businesses(rng, n_businesses, window, people)
    households = make_households(rng, n_households, people, n_businesses, businesses)
    return Region(window, people, businesses, households)

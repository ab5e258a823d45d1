"""The market: banks publish products; the platform matches businesses to them.

Who sees what is decided here, once: :func:`visible_products` (published to everyone, a
bank's own drafts and withdrawn products to that bank, everything to the operator and
government), :func:`may_manage` (the bank's admin or system, or the operator),
:func:`may_read_white_list` and :func:`_business_scope`. Services flush, never commit; each
change writes its audit row in the same transaction.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, insert, inspect, or_, select
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.models import Bank
from puhui.accounts.service import record, utcnow
from puhui.errors import PuhuiError
from puhui.govlists.service import Membership, flags_for, pushed_memberships
from puhui.market import matching, region_file
from puhui.market.models import MatchRun, Product, ProductMatch, ProductMatchCount
from puhui.market.schemas import ProductFilters, ProductIn, ProductUpdate, Sort
from puhui.market.vocab import DRAFT, POLICY_LISTS, PUBLISHED, WITHDRAWN
from puhui.pagination import PageRequest, PageResult, paginate
from puhui.scoring.models import PLATFORM

FEN = Decimal("0.01")
#: A run file no row names is deleted once this old: younger ones may belong to a refresh
#: of another process that has not committed yet.
ORPHAN_FILE_AGE_SECONDS = 3600.0
K = TypeVar("K")
V = TypeVar("V")


class MarketError(PuhuiError):
    """A request about products that cannot be done as asked (HTTP 400)."""

    http_status = 400


class ProductNotFoundError(MarketError):
    http_status = 404


class NotAllowedError(MarketError):
    http_status = 403


class WrongStatusError(MarketError):
    """The product is not in a status that allows this (HTTP 409)."""

    http_status = 409


def money(value: Any) -> Decimal:
    """Yuan (or a rate in %), half-up to the fen."""
    return Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def require_schema(session: Session) -> None:
    if not inspect(session.connection()).has_table(Product.__tablename__):
        raise PuhuiError(
            "应用数据库尚未升级，请先运行 puhui db upgrade",
            "the app database is not migrated yet: run puhui db upgrade first",
        )


# --------------------------------------------------------------------------- who sees what


def visible_products(actor: Actor | None) -> Select[Product]:
    """Products ``actor`` may see: published ones; a bank also its own others; the operator
    and government all. ``None`` is the public."""
    statement = select(Product)
    if actor is not None and actor.role in (Role.OPERATOR, Role.GOVERNMENT):
        return statement
    if actor is not None and actor.is_bank and actor.bank_code:
        return statement.where(
            or_(Product.status == PUBLISHED, Product.bank_code == actor.bank_code)
        )
    return statement.where(Product.status == PUBLISHED)


def may_manage(actor: Actor, bank_code: str) -> bool:
    """Create, change, publish and withdraw ``bank_code``'s products: its admin or its
    system, or the operator."""
    if actor.is_operator:
        return True
    return actor.role in (Role.BANK_ADMIN, Role.BANK_SYSTEM) and actor.bank_code == bank_code


def may_read_white_list(actor: Actor, product: Product) -> bool:
    """A product's white list: its bank's people and system, the operator, government."""
    if actor.role in (Role.OPERATOR, Role.GOVERNMENT):
        return True
    return actor.is_bank and actor.bank_code == product.bank_code


def _business_scope(actor: Actor, uscc: str) -> str | None:
    """The bank whose published products a business's product list is narrowed to for
    ``actor`` (``None``: every published product); raises :class:`NotAllowedError` when the
    actor may not look at this business at all."""
    if actor.is_enterprise:
        if actor.uscc != uscc:
            raise NotAllowedError(
                "只能查看本主体的产品匹配", "a business sees only its own matches"
            )
        return None
    if actor.role in (Role.OPERATOR, Role.CUSTOMER_MANAGER):
        return None
    if actor.is_bank and actor.bank_code:
        return actor.bank_code
    raise NotAllowedError("无权查看该主体的产品匹配", "you may not see this business's matches")


# --------------------------------------------------------------------------- products


def _not_found(product_id: int) -> ProductNotFoundError:
    return ProductNotFoundError(f"没有产品 {product_id}", f"no product {product_id}")


def get_product(session: Session, actor: Actor | None, product_id: int) -> Product:
    """A product ``actor`` may see; :class:`ProductNotFoundError` otherwise (never a hint that
    another bank's draft exists)."""
    product = session.scalars(visible_products(actor).where(Product.id == product_id)).one_or_none()
    if product is None:
        raise _not_found(product_id)
    return product


def _manageable(session: Session, actor: Actor, product_id: int) -> Product:
    product = get_product(session, actor, product_id)
    if not may_manage(actor, product.bank_code):
        raise NotAllowedError(
            "只有该行管理员、该行系统或平台运营方可以修改产品",
            "only the bank's administrator or system, or the operator, may change a product",
        )
    return product


def _bank_of(session: Session, actor: Actor, bank: str | None) -> str:
    if actor.is_bank:
        if bank is not None and bank != actor.bank_code:
            raise NotAllowedError("只能为本行创建产品", "a bank creates products for itself only")
        bank = actor.bank_code
    if not bank:
        raise MarketError("需要指定银行", "the bank is required")
    if session.get(Bank, bank) is None:
        raise MarketError(f"没有银行 {bank}", f"no bank {bank}")
    if not may_manage(actor, bank):
        raise NotAllowedError(
            "只有该行管理员、该行系统或平台运营方可以创建产品",
            "only the bank's administrator or system, or the operator, may create a product",
        )
    return bank


def _rules(data: ProductIn) -> dict[str, Any]:
    values = data.model_dump(exclude={"bank"})
    for name in ("amount_min", "amount_max", "rate_min", "rate_max"):
        values[name] = money(values[name])
    values["name"] = values["name"].strip()
    if not values["name"]:
        raise MarketError("产品名称不能为空", "the product needs a name")
    return values


def create_product(session: Session, actor: Actor, data: ProductIn) -> Product:
    """A new product, in draft, for ``data.bank`` (a bank's actor: its own bank)."""
    bank = _bank_of(session, actor, data.bank)
    now = utcnow()
    product = Product(
        bank_code=bank, status=DRAFT, popularity=0, created_at=now, updated_at=now, **_rules(data)
    )
    session.add(product)
    session.flush()
    record(session, actor, "product.create", "product", product.id, {"bank": bank})
    return product


def update_product(
    session: Session, actor: Actor, product_id: int, changes: ProductUpdate
) -> Product:
    """Change the fields sent; the result must still be a valid product. A withdrawn product
    cannot change (publish it again first)."""
    product = _manageable(session, actor, product_id)
    if product.status == WITHDRAWN:
        raise WrongStatusError("已下架的产品不能修改", "a withdrawn product cannot be changed")
    sent = changes.model_dump(exclude_unset=True)
    current = {name: getattr(product, name) for name in ProductIn.model_fields if name != "bank"}
    merged = ProductIn.model_validate({**current, **sent})  # ranges checked on the whole
    for name, value in _rules(merged).items():
        setattr(product, name, value)
    product.updated_at = utcnow()
    session.flush()
    record(session, actor, "product.update", "product", product.id, {"fields": sorted(sent)})
    return product


def _set_status(
    session: Session, actor: Actor, product_id: int, status: str, allowed: Sequence[str]
) -> Product:
    product = _manageable(session, actor, product_id)
    if product.status not in allowed:
        raise WrongStatusError(
            f"产品 {product_id} 当前状态为 {product.status}，不能改为 {status}",
            f"product {product_id} is {product.status}: it cannot become {status}",
        )
    product.status = status
    product.updated_at = utcnow()
    session.flush()
    action = "product.publish" if status == PUBLISHED else "product.withdraw"
    record(session, actor, action, "product", product.id)
    return product


def publish_product(session: Session, actor: Actor, product_id: int) -> Product:
    """Put a draft (or a withdrawn product) on the market. It is matched at once against
    the latest run (its counts in ``product_match_counts`` come with the next refresh)."""
    return _set_status(session, actor, product_id, PUBLISHED, (DRAFT, WITHDRAWN))


def withdraw_product(session: Session, actor: Actor, product_id: int) -> Product:
    """Take a published product off the market: no one is matched to it any more."""
    return _set_status(session, actor, product_id, WITHDRAWN, (PUBLISHED,))


def set_popularity(session: Session, actor: Actor, product_id: int, popularity: int) -> Product:
    """The operator sets a product's popularity (until applications count it)."""
    if not actor.is_operator:
        raise NotAllowedError("只有平台运营方可以设置热度", "only the operator sets popularity")
    product = get_product(session, actor, product_id)
    product.popularity = max(0, int(popularity))
    session.flush()
    record(session, actor, "product.popularity", "product", product.id, {"value": popularity})
    return product


def list_products(
    session: Session,
    actor: Actor | None,
    filters: ProductFilters | None = None,
    sort: Sort | None = None,
    page: PageRequest | None = None,
) -> PageResult[Product]:
    """One page of the products ``actor`` may see, filtered and sorted.

    ``amount`` and ``term``: the product lends it (within its range); ``rate``: its lowest
    rate is at most this. Sort ``popularity`` (most first), ``rate`` (lowest first), else by
    id; ties by id, so pages never overlap.
    """
    filters = filters or ProductFilters()
    statement = visible_products(actor)
    if filters.bank is not None:
        statement = statement.where(Product.bank_code == filters.bank)
    if filters.amount is not None:
        statement = statement.where(
            Product.amount_min <= filters.amount, Product.amount_max >= filters.amount
        )
    if filters.rate is not None:
        statement = statement.where(Product.rate_min <= filters.rate)
    if filters.guarantee is not None:
        statement = statement.where(Product.guarantee == filters.guarantee)
    if filters.term is not None:
        statement = statement.where(
            Product.term_min <= filters.term, Product.term_max >= filters.term
        )
    if filters.status is not None:
        statement = statement.where(Product.status == filters.status)
    if sort == "popularity":
        statement = statement.order_by(Product.popularity.desc(), Product.id)
    elif sort == "rate":
        statement = statement.order_by(Product.rate_min, Product.rate_max, Product.id)
    else:
        statement = statement.order_by(Product.id)
    return paginate(session, statement, page or PageRequest())


# --------------------------------------------------------------------------- runs


def current_run(session: Session) -> MatchRun | None:
    """The latest refresh: the run every match is computed against."""
    return session.scalars(select(MatchRun).order_by(MatchRun.id.desc()).limit(1)).one_or_none()


def run_region(run: MatchRun) -> matching.Businesses:
    """The run's matching inputs, memory-mapped (opened once per process)."""
    try:
        return region_file.read_region(run.path)
    except FileNotFoundError:
        raise PuhuiError(
            f"匹配数据文件 {run.path} 不存在，请重新运行 puhui market refresh",
            f"the matching inputs file {run.path} is missing: run puhui market refresh again",
        ) from None


def run_memberships(run: MatchRun) -> list[Membership]:
    """The government lists pushed when the run was made, for :func:`required_lists` (their
    members are the run file's ``govlist:<code>`` columns, so none are loaded here)."""
    return [
        Membership(
            code=str(found["code"]),
            kind=str(found["kind"]),
            banks=frozenset(found["banks"]),
            members=np.empty(0, dtype=str),
        )
        for found in run.government_lists
    ]


class BoundedCache(Generic[K, V]):
    """A least-recently-used map bounded in entries and in bytes (``weight`` of a value),
    shared by a process's request threads."""

    def __init__(self, entries: int, max_bytes: int, weight: Callable[[V], int]) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._limit, self._max_bytes, self._weight = entries, max_bytes, weight
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if key in self._entries:
                self._bytes -= self._weight(self._entries.pop(key))
            self._entries[key] = value
            self._bytes += self._weight(value)
            while len(self._entries) > 1 and (
                len(self._entries) > self._limit or self._bytes > self._max_bytes
            ):
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= self._weight(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


@dataclass(frozen=True)
class Market:
    """Every published product's rules as the matching core takes them, in product id
    order, with the run's government lists folded in (:func:`required_lists`)."""

    ids: np.ndarray
    banks: np.ndarray
    rules: matching.Products

    def of_bank(self, bank_code: str | None) -> np.ndarray:
        """Indices of ``bank_code``'s products (every product when ``None``)."""
        if bank_code is None:
            return np.arange(len(self.ids))
        return np.flatnonzero(self.banks == bank_code)

    def index(self, product_id: int) -> int | None:
        k = int(np.searchsorted(self.ids, product_id))
        return k if k < len(self.ids) and int(self.ids[k]) == product_id else None


#: Markets by (run, every published product's id, change time and popularity): a product
#: changed, published, withdrawn or made more popular gives a new key.
_MARKETS: BoundedCache[tuple[Any, ...], Market] = BoundedCache(8, 2**40, lambda m: 1)
#: White lists by (run, product, the product's change time): the eligible rows of
#: the run's file, largest limit first. A row index is 4 bytes, so a list of a million
#: businesses weighs 4 MB; the cache holds at most ``WHITE_LIST_CACHE_BYTES`` per process
#: (500 products at 1,000,000 businesses, 16 % eligible on average, take about 320 MB).
WHITE_LIST_CACHE_BYTES = 512 * 2**20
_WHITE_LISTS: BoundedCache[tuple[Any, ...], np.ndarray] = BoundedCache(
    1024, WHITE_LIST_CACHE_BYTES, lambda order: int(order.nbytes) + 100
)


def forget_white_lists() -> None:
    """Empty the process's white-list cache (the next request of each product makes its
    pass again): for measuring that pass."""
    _WHITE_LISTS.clear()


def published_market(session: Session, run: MatchRun) -> Market:
    """The published products' rules for ``run``, cached while no product changes."""
    keys = session.execute(
        select(Product.id, Product.updated_at, Product.popularity)
        .where(Product.status == PUBLISHED)
        .order_by(Product.id)
    ).all()
    key = (run.id, run.path, tuple(tuple(k) for k in keys))
    found = _MARKETS.get(key)
    if found is not None:
        return found
    products = list(
        session.scalars(select(Product).where(Product.status == PUBLISHED).order_by(Product.id))
    )
    market = Market(
        ids=np.asarray([p.id for p in products], dtype=np.int64),
        banks=np.asarray([p.bank_code for p in products], dtype=str),
        rules=product_rules(products, required_lists(products, run_memberships(run))),
    )
    _MARKETS.put(key, market)
    return market


def _usccs(values: np.ndarray) -> list[str]:
    return [u.decode("ascii") if isinstance(u, bytes) else str(u) for u in values.tolist()]


def _match_of(
    run: MatchRun, product: Product, uscc: str, found: matching.Matches, row: int, col: int
) -> ProductMatch:
    """The domain object of the pair ``(row, col)`` of ``found``: money to the fen."""
    flags = int(found.failures[row, col])
    return ProductMatch(
        product=product,
        uscc=uscc,
        as_of=run.as_of,
        eligible=flags == 0,
        fit=round(float(found.fit[row, col]), 6),
        pre_credit_limit=money(float(found.limit[row, col])),
        rate=money(float(found.rate[row, col])),
        reasons=matching.failed_codes(flags),
    )


# --------------------------------------------------------------------------- matches


def _white_list_rows(run: MatchRun, market: Market, product: Product) -> np.ndarray:
    """The run file's rows on ``product``'s white list, largest limit first then by uscc:
    one pass of the product over the whole region, cached per (run, product, its rules)."""
    key = (run.id, run.path, product.id, product.updated_at)
    cached = _WHITE_LISTS.get(key)
    if cached is not None:
        return cached
    k = market.index(product.id)
    if k is None:
        order = np.empty(0, dtype=np.int32)
    else:
        failures, limit = matching.failures_and_limits(market.rules.take([k]), run_region(run))
        eligible = np.flatnonzero(failures[:, 0] == 0)
        # The file is sorted by uscc, so a stable sort on the limit alone breaks ties by uscc.
        order = eligible[np.argsort(-limit[eligible, 0], kind="stable")].astype(np.int32)
    _WHITE_LISTS.put(key, order)
    return order


def list_matches(
    session: Session, actor: Actor, product_id: int, page: PageRequest | None = None
) -> PageResult[ProductMatch]:
    """A product's white list: the businesses of the latest run it makes eligible, largest
    limit first (then uscc), matched on demand against the product's current rules."""
    product = get_product(session, actor, product_id)
    if not may_read_white_list(actor, product):
        raise NotAllowedError(
            "只有该产品所属银行、平台运营方和政府可以查看白名单",
            "only the product's bank, the operator and government see its white list",
        )
    request = page or PageRequest()
    items: list[ProductMatch] = []
    total = 0
    run = current_run(session)
    if run is not None and product.status == PUBLISHED:
        market = published_market(session, run)
        order = _white_list_rows(run, market, product)
        total = len(order)
        rows = order[request.offset : request.offset + request.size]
        k = market.index(product.id)
        if len(rows) and k is not None:
            region = run_region(run).take(rows)
            found = matching.match(market.rules.take([k]), region)
            usccs = _usccs(region.uscc)
            items = [_match_of(run, product, usccs[r], found, r, 0) for r in range(len(rows))]
    record(session, actor, "product.white_list.read", "product", product.id, {"page": request.page})
    return PageResult(items, request.page, request.size, total)


def government_flags(
    session: Session, matches: Sequence[ProductMatch]
) -> dict[tuple[int, str], list[str]]:
    """For a page of white-list rows: the codes of the government lists pushed to each
    product's bank that the business is on (精准推送), by (product id, uscc)."""
    found: dict[tuple[int, str], list[str]] = {}
    by_bank: dict[str, list[ProductMatch]] = {}
    for match in matches:
        by_bank.setdefault(match.product.bank_code, []).append(match)
    for bank, rows in by_bank.items():
        flags = flags_for(session, bank, [m.uscc for m in rows])
        for m in rows:
            if m.uscc in flags:
                found[(m.product_id, m.uscc)] = flags[m.uscc]
    return found


def _business_rows(
    session: Session, usccs: Sequence[str]
) -> tuple[MatchRun, matching.Businesses, np.ndarray, np.ndarray] | None:
    """The latest run, and which of ``usccs`` (positions) are in it, at which rows."""
    run = current_run(session)
    if run is None or not usccs:
        return None
    region = run_region(run)
    wanted, rows = region_file.find(region.uscc, np.asarray(list(usccs), dtype=str))
    return run, region, wanted, rows


def best_offers(
    session: Session, usccs: Sequence[str], bank_code: str | None = None
) -> dict[str, tuple[Decimal, int]]:
    """For each of ``usccs`` on a white list of the latest run (``bank_code``'s products
    only, when given): the largest pre-credit limit offered and on how many products."""
    usccs = list(dict.fromkeys(usccs))
    located = _business_rows(session, usccs)
    if located is None:
        return {}
    run, region, wanted, rows = located
    market = published_market(session, run)
    chosen = market.of_bank(bank_code)
    if not len(rows) or not len(chosen):
        return {}
    failures, limit = matching.failures_and_limits(market.rules.take(chosen), region.take(rows))
    eligible = failures == 0
    counts = eligible.sum(axis=1)
    best = np.where(eligible, limit, 0.0).max(axis=1)
    return {
        usccs[w]: (money(float(best[k])), int(counts[k]))
        for k, w in enumerate(wanted.tolist())
        if counts[k] > 0
    }


def _business_matches(
    session: Session, bank_code: str | None, uscc: str, product_id: int | None = None
) -> tuple[MatchRun, Market, np.ndarray, matching.Matches] | None:
    """One business of the latest run against the published products (``bank_code``'s;
    only ``product_id`` when given): the run, the market, the products' indices in it and
    the ``(1, P)`` matches."""
    located = _business_rows(session, [uscc])
    if located is None or not len(located[3]):
        return None
    run, region, _wanted, rows = located
    market = published_market(session, run)
    chosen = market.of_bank(bank_code)
    if product_id is not None:
        chosen = chosen[market.ids[chosen] == product_id]
    return run, market, chosen, matching.match(market.rules.take(chosen), region.take(rows))


def business_products(
    session: Session,
    actor: Actor,
    uscc: str,
    page: PageRequest | None = None,
    eligible_only: bool = False,
) -> PageResult[ProductMatch]:
    """A business's products in the latest run, ranked: eligible first, then by fit, then
    by product id. Near misses follow the eligible ones, each with the rule that fails; a
    product two rules or more away, or not aimed at the business, is not listed."""
    bank_code = _business_scope(actor, uscc)
    request = page or PageRequest()
    if actor.is_bank:
        record(session, actor, "business.products.read", "business", uscc)
    matched = _business_matches(session, bank_code, uscc)
    if matched is None:
        return PageResult([], request.page, request.size, 0)
    run, market, chosen, found = matched
    failures = found.failures[0]
    eligible = failures == 0
    keep = np.flatnonzero(eligible if eligible_only else eligible | matching.near_miss(failures))
    ids = market.ids[chosen]
    ranked = keep[matching.rank(eligible[keep], found.fit[0, keep], ids[keep])]
    shown = ranked[request.offset : request.offset + request.size].tolist()
    wanted = [int(ids[col]) for col in shown]
    by_id = (
        {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(wanted)))}
        if wanted
        else {}
    )
    items = [
        _match_of(run, by_id[pid], uscc, found, 0, col)
        for pid, col in zip(wanted, shown, strict=True)
    ]
    return PageResult(items, request.page, request.size, len(ranked))


def business_match(
    session: Session, actor: Actor, uscc: str, product_id: int
) -> ProductMatch | None:
    """The match of one business and one published product in the latest run, if ``actor``
    may see the business's products and the business is eligible or a near miss."""
    bank_code = _business_scope(actor, uscc)
    matched = _business_matches(session, bank_code, uscc, product_id)
    if matched is None or matched[3].failures.shape[1] == 0:
        return None
    run, _market, _chosen, found = matched
    failures = found.failures[0]
    if not bool(failures[0] == 0 or matching.near_miss(failures)[0]):
        return None
    product = session.get(Product, product_id)
    return None if product is None else _match_of(run, product, uscc, found, 0, 0)


# --------------------------------------------------------------------------- refresh


@dataclass(frozen=True)
class RefreshRun:
    as_of: date
    products: int
    businesses: int
    eligible: int
    near_misses: int
    path: Path


def product_rules(
    products: Sequence[Product], policy_lists: Sequence[Sequence[str]] | None = None
) -> matching.Products:
    """The matching core's arrays for ``products``; ``policy_lists`` replaces each product's
    required lists (see :func:`required_lists`)."""
    wanted = policy_lists if policy_lists is not None else [p.policy_lists for p in products]
    return matching.Products.of(
        [
            {
                "amount_min": float(p.amount_min),
                "amount_max": float(p.amount_max),
                "rate_min": float(p.rate_min),
                "rate_max": float(p.rate_max),
                "popularity": p.popularity,
                "min_score": p.min_score,
                "min_credit_points": p.min_credit_points,
                "max_pd": p.max_pd,
                "min_age_years": p.min_age_years,
                "exclude_dishonest": p.exclude_dishonest,
                "exclude_abnormal": p.exclude_abnormal,
                "entity_types": p.entity_types,
                "industries": p.industries,
                "districts": p.districts,
                "tiers": p.tiers,
                "policy_lists": list(lists),
            }
            for p, lists in zip(products, wanted, strict=True)
        ]
    )


def required_lists(
    products: Sequence[Product], memberships: Sequence[Membership]
) -> list[list[str]]:
    """Each product's required policy lists, with the membership columns of the government
    lists that satisfy them for its bank (:meth:`Membership.feeds`): ``specialized`` also
    accepts a 专精特新 list pushed to the bank, ``list:<code>`` that list if it was pushed to
    the bank. The product's own codes stay: a code no column names is on no one's list, so
    a product that requires a list never pushed to its bank matches no one. One step per
    product and list, never per business."""
    return [
        list(p.policy_lists)
        + [
            m.column
            for m in memberships
            if any(m.feeds(code, p.bank_code) for code in p.policy_lists)
        ]
        for p in products
    ]


def with_government_lists(
    region: matching.Businesses, memberships: Sequence[Membership]
) -> matching.Businesses:
    """``region`` with one more membership column per pushed government list (a vectorised
    ``isin`` of the region's usccs against the list's members)."""
    if not memberships:
        return region
    as_bytes = np.asarray(region.uscc).dtype.kind == "S"
    extra = np.column_stack(
        [
            np.isin(region.uscc, region_file.ascii_usccs(m.members) if as_bytes else m.members)
            for m in memberships
        ]
    )
    return replace(
        region,
        policy_lists=np.hstack([np.asarray(region.policy_lists, dtype=bool), extra]),
        policy_list_codes=(*region.policy_list_codes, *(m.column for m in memberships)),
    )


_POLICY_CODES = tuple(POLICY_LISTS)


def _inputs_sql(feature_columns: set[str]) -> str:
    """Champion scores of a date joined to the features the rules read."""

    def feature(name: str, kind: str, fill: str) -> str:
        if name not in feature_columns:
            return f"CAST({fill} AS {kind}) AS {name}"
        return f"coalesce(CAST(f.{name} AS {kind}), {fill}) AS {name}"

    lists = ", ".join(feature(column, "DOUBLE", "0") for column, _zh, _en in POLICY_LISTS.values())
    age = (
        "CAST(f.age_years AS DOUBLE) AS age_years"
        if "age_years" in feature_columns
        else "CAST(NULL AS DOUBLE) AS age_years"
    )
    return f"""
        SELECT s.uscc, s.score, s.pd, coalesce(s.tier, '') AS tier,
               CAST(s.credit_points AS DOUBLE) AS credit_points,
               CAST(s.pre_credit_limit AS DOUBLE) AS pre_credit_limit,
               CAST(s.rate AS DOUBLE) AS rate,
               {feature("entity_type", "VARCHAR", "''")},
               {feature("industry_division", "VARCHAR", "''")},
               {feature("district", "VARCHAR", "''")},
               {age},
               {feature("dishonest_active", "DOUBLE", "0")},
               {feature("abnormal_active", "DOUBLE", "0")},
               {lists}
        FROM scores s LEFT JOIN features f ON f.uscc = s.uscc AND f.as_of = s.as_of
        WHERE s.as_of = $1 AND s.owner = $2 AND s.role = 'champion'
        ORDER BY s.uscc
    """


def _floats(table: pa.Table, name: str) -> np.ndarray:
    column = pc.fill_null(table.column(name).cast(pa.float64()), np.nan)
    return np.asarray(column.to_numpy(), dtype=np.float64)


def _coded(table: pa.Table, name: str) -> matching.Coded:
    """A text column dictionary-encoded by Arrow (hashing, no sort of a million strings)."""
    column = pc.fill_null(table.column(name).cast(pa.string()), "").combine_chunks()
    encoded = pc.dictionary_encode(column)
    return matching.Coded(
        np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32),
        np.asarray(encoded.dictionary.to_pylist(), dtype=str).reshape(-1),
    )


def businesses_of(table: pa.Table) -> matching.Businesses:
    """The matching core's arrays for :func:`_inputs_sql` rows (uscc as ASCII bytes)."""
    policy = np.column_stack(
        [_floats(table, column) > 0 for column, _zh, _en in POLICY_LISTS.values()]
    ).reshape(table.num_rows, len(POLICY_LISTS))
    usccs = table.column("uscc").to_numpy()
    return matching.Businesses(
        uscc=region_file.ascii_usccs(np.asarray(usccs, dtype=str)),
        entity_type=_coded(table, "entity_type"),
        industry_division=_coded(table, "industry_division"),
        district=_coded(table, "district"),
        tier=_coded(table, "tier"),
        score=_floats(table, "score"),
        credit_points=_floats(table, "credit_points"),
        pd=_floats(table, "pd"),
        age_years=_floats(table, "age_years"),
        dishonest_active=_floats(table, "dishonest_active") > 0,
        abnormal_active=_floats(table, "abnormal_active") > 0,
        policy_lists=policy,
        policy_list_codes=_POLICY_CODES,
        pre_credit_limit=_floats(table, "pre_credit_limit"),
        rate=_floats(table, "rate"),
    )


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = $1", [name]
    ).fetchone()
    return bool(found and found[0])


def read_inputs(con: duckdb.DuckDBPyConnection, as_of: date, owner: str) -> matching.Businesses:
    """The champion scores of ``as_of`` (``owner``'s model) joined to the features the
    rules read, from the warehouse, as the matching core's arrays (sorted by uscc)."""
    if (
        not _has_table(con, "scores")
        or not con.execute(
            "SELECT count(*) FROM scores WHERE as_of = $1 AND owner = $2 AND role = 'champion'",
            [as_of, owner],
        ).fetchall()[0][0]
    ):
        raise PuhuiError(
            f"还没有 {as_of} 的评分，请先运行 puhui score --as-of {as_of}",
            f"there are no scores as of {as_of}: run puhui score --as-of {as_of} first",
        )
    columns = (
        {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'features'"
            ).fetchall()
        }
        if _has_table(con, "features")
        else set()
    )
    table = con.sql(_inputs_sql(columns), params=[as_of, owner]).to_arrow_table()
    return businesses_of(table)


def refresh_matches(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    as_of: date,
    owner: str = PLATFORM,
    *,
    directory: Path,
    chunk_rows: int | None = None,
) -> RefreshRun:
    """Make a new run from the champion scores of ``as_of`` (``owner``'s model, the
    platform's by default): read the warehouse's scores joined to the features the rules
    read, add the membership of every government list pushed now (``puhui.govlists``),
    and store it with :func:`store_run` under ``directory``."""
    require_schema(session)
    region = read_inputs(con, as_of, owner)
    return store_run(
        session, directory, as_of, owner, region, pushed_memberships(session), chunk_rows
    )


def store_run(
    session: Session,
    directory: Path,
    as_of: date,
    owner: str,
    region: matching.Businesses,
    memberships: Sequence[Membership] = (),
    chunk_rows: int | None = None,
) -> RefreshRun:
    """Store ``region`` (one scoring run's matching inputs; the government lists'
    membership columns are added here) as the new current run: its file under
    ``directory``, its row in ``match_runs``, and each published product's eligible and
    near-miss counts from one vectorised pass (``chunk_rows`` businesses at a time).

    The run becomes current when the caller commits; until then readers see the previous
    one. The rows of runs older than the previous one are deleted (the previous file stays
    for requests under way); files are removed only by :func:`sweep_run_files`, never here,
    so a refresh that rolls back leaves every remaining row with its file."""
    require_schema(session)
    region = with_government_lists(region, memberships)
    sweep_run_files(session, Path(directory))
    safe_owner = re.sub(r"[^A-Za-z0-9_.-]", "_", owner)
    path = Path(directory).resolve() / f"{as_of.isoformat()}-{safe_owner}-{uuid.uuid4().hex}.arrow"
    region_file.write_region(path, region, as_of)
    products = list(
        session.scalars(select(Product).where(Product.status == PUBLISHED).order_by(Product.id))
    )
    rules = product_rules(products, required_lists(products, memberships))
    eligible, near = matching.count_matches(rules, region, chunk_rows)
    previous = current_run(session)
    run = MatchRun(
        as_of=as_of,
        owner=owner,
        path=str(path),
        businesses=len(region),
        products=len(products),
        eligible=int(eligible.sum()),
        near_misses=int(near.sum()),
        government_lists=[
            {"code": m.code, "kind": m.kind, "banks": sorted(m.banks)} for m in memberships
        ],
        created_at=utcnow(),
    )
    session.add(run)
    session.flush()
    if products:
        session.execute(
            insert(ProductMatchCount),
            [
                {"run_id": run.id, "product_id": p.id, "eligible": int(e), "near_misses": int(m)}
                for p, e, m in zip(products, eligible.tolist(), near.tolist(), strict=True)
            ],
        )
    if previous is not None:
        for old in session.scalars(select(MatchRun).where(MatchRun.id < previous.id)).all():
            session.delete(old)
    session.flush()
    return RefreshRun(as_of, run.products, run.businesses, run.eligible, run.near_misses, path)


def sweep_run_files(
    session: Session, directory: Path, min_age_seconds: float = ORPHAN_FILE_AGE_SECONDS
) -> list[Path]:
    """Delete the run files in ``directory`` that no ``match_runs`` row names — runs
    deleted by a later refresh, or refreshes that rolled back — once they are
    ``min_age_seconds`` old (a refresh in another process may not have committed yet).
    Returns the files deleted."""
    named = {Path(path).resolve() for path in session.scalars(select(MatchRun.path))}
    cutoff = time.time() - min_age_seconds
    orphans = [
        file
        for file in directory.resolve().glob("*.arrow")
        if file not in named and file.stat().st_mtime < cutoff
    ]
    for file in orphans:
        file.unlink(missing_ok=True)
    return orphans


def match_counts(session: Session, run: MatchRun) -> dict[int, tuple[int, int]]:
    """Per product of ``run``: (eligible businesses, near misses) when the run was made."""
    rows = session.execute(
        select(
            ProductMatchCount.product_id,
            ProductMatchCount.eligible,
            ProductMatchCount.near_misses,
        ).where(ProductMatchCount.run_id == run.id)
    )
    return {int(pid): (int(e), int(n)) for pid, e, n in rows}

"""The market: banks publish products; the platform matches businesses to them.

Who sees what is decided here, once: :func:`visible_products` (published to everyone, a
bank's own drafts and withdrawn products to that bank, everything to the operator and
government), :func:`may_manage` (the bank's admin or system, or the operator),
:func:`may_read_white_list` and :func:`_business_scope`. Services flush, never commit; each
change writes its audit row in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Select, delete, func, inspect, or_, select, true
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.models import Bank
from puhui.accounts.service import record, utcnow
from puhui.errors import PuhuiError
from puhui.govlists.service import Membership, flags_for, pushed_memberships
from puhui.market import matching
from puhui.market.models import Product, ProductMatch
from puhui.market.schemas import ProductFilters, ProductIn, ProductUpdate, Sort
from puhui.market.vocab import DRAFT, POLICY_LISTS, PUBLISHED, WITHDRAWN
from puhui.pagination import PageRequest, PageResult, paginate
from puhui.scoring.models import PLATFORM

FEN = Decimal("0.01")
#: Businesses read from the warehouse and matched at once by :func:`refresh_matches`.
REFRESH_BATCH = 100_000


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


def _business_scope(actor: Actor, uscc: str) -> Any:
    """The condition on products a business's product list is narrowed by, for ``actor``;
    raises :class:`NotAllowedError` when the actor may not look at this business at all."""
    if actor.is_enterprise:
        if actor.uscc != uscc:
            raise NotAllowedError(
                "只能查看本主体的产品匹配", "a business sees only its own matches"
            )
        return Product.status == PUBLISHED
    if actor.role in (Role.OPERATOR, Role.CUSTOMER_MANAGER):
        return true() if actor.is_operator else Product.status == PUBLISHED
    if actor.is_bank and actor.bank_code:
        return Product.bank_code == actor.bank_code
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
    """Put a draft (or a withdrawn product) on the market. Its white list appears at the
    next ``puhui market refresh``."""
    return _set_status(session, actor, product_id, PUBLISHED, (DRAFT, WITHDRAWN))


def withdraw_product(session: Session, actor: Actor, product_id: int) -> Product:
    """Take a published product off the market; its matches go with it."""
    product = _set_status(session, actor, product_id, WITHDRAWN, (PUBLISHED,))
    session.execute(delete(ProductMatch).where(ProductMatch.product_id == product.id))
    return product


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


# --------------------------------------------------------------------------- matches


def list_matches(
    session: Session, actor: Actor, product_id: int, page: PageRequest | None = None
) -> PageResult[ProductMatch]:
    """A product's white list: the eligible businesses, largest limit first (then uscc)."""
    product = get_product(session, actor, product_id)
    if not may_read_white_list(actor, product):
        raise NotAllowedError(
            "只有该产品所属银行、平台运营方和政府可以查看白名单",
            "only the product's bank, the operator and government see its white list",
        )
    statement = (
        select(ProductMatch)
        .where(ProductMatch.product_id == product.id, ProductMatch.eligible)
        .order_by(ProductMatch.pre_credit_limit.desc(), ProductMatch.uscc)
    )
    result = paginate(session, statement, page or PageRequest())
    record(session, actor, "product.white_list.read", "product", product.id, {"page": result.page})
    return result


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


def best_offers(
    session: Session, usccs: Sequence[str], bank_code: str | None = None
) -> dict[str, tuple[Decimal, int]]:
    """For each of ``usccs`` on a white list of the latest refresh (``bank_code``'s products
    only, when given): the largest pre-credit limit offered and on how many products."""
    if not usccs:
        return {}
    statement = (
        select(ProductMatch.uscc, func.max(ProductMatch.pre_credit_limit), func.count())
        .join(ProductMatch.product)
        .where(ProductMatch.uscc.in_(set(usccs)), ProductMatch.eligible)
        .group_by(ProductMatch.uscc)
    )
    if bank_code is not None:
        statement = statement.where(Product.bank_code == bank_code)
    return {
        str(uscc): (money(limit), int(count)) for uscc, limit, count in session.execute(statement)
    }


def business_products(
    session: Session,
    actor: Actor,
    uscc: str,
    page: PageRequest | None = None,
    eligible_only: bool = False,
) -> PageResult[ProductMatch]:
    """A business's products of the latest refresh, ranked: eligible first, then by fit, then
    by product id. Near misses follow the eligible ones, each with the rule that fails."""
    scope = _business_scope(actor, uscc)
    statement = (
        select(ProductMatch)
        .join(ProductMatch.product)
        .where(ProductMatch.uscc == uscc, scope)
        .order_by(ProductMatch.eligible.desc(), ProductMatch.fit.desc(), ProductMatch.product_id)
    )
    if eligible_only:
        statement = statement.where(ProductMatch.eligible)
    if actor.is_bank:
        record(session, actor, "business.products.read", "business", uscc)
    return paginate(session, statement, page or PageRequest())


def business_match(
    session: Session, actor: Actor, uscc: str, product_id: int
) -> ProductMatch | None:
    """The match of one business and one product (eligible or a near miss), if ``actor`` may
    see the business's products and there is one."""
    scope = _business_scope(actor, uscc)
    statement = (
        select(ProductMatch)
        .join(ProductMatch.product)
        .where(ProductMatch.uscc == uscc, ProductMatch.product_id == product_id, scope)
    )
    return session.scalars(statement).one_or_none()


# --------------------------------------------------------------------------- refresh


@dataclass(frozen=True)
class RefreshRun:
    as_of: date
    products: int
    businesses: int
    eligible: int
    near_misses: int


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
    ``isin`` of the batch's usccs against the list's members)."""
    if not memberships:
        return region
    extra = np.column_stack([np.isin(region.uscc, m.members) for m in memberships])
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
    return f"""
        SELECT s.uscc, s.score, s.pd, coalesce(s.tier, '') AS tier,
               CAST(s.credit_points AS DOUBLE) AS credit_points,
               CAST(s.pre_credit_limit AS DOUBLE) AS pre_credit_limit,
               CAST(s.rate AS DOUBLE) AS rate,
               {feature("entity_type", "VARCHAR", "''")},
               {feature("industry_division", "VARCHAR", "''")},
               {feature("district", "VARCHAR", "''")},
               {
        "CAST(f.age_years AS DOUBLE) AS age_years"
        if "age_years" in feature_columns
        else "CAST(NULL AS DOUBLE) AS age_years"
    },
               {feature("dishonest_active", "DOUBLE", "0")},
               {feature("abnormal_active", "DOUBLE", "0")},
               {lists}
        FROM scores s LEFT JOIN features f ON f.uscc = s.uscc AND f.as_of = s.as_of
        WHERE s.as_of = $1 AND s.owner = $2 AND s.role = 'champion'
        ORDER BY s.uscc
    """


def _floats(batch: pa.RecordBatch, name: str) -> np.ndarray:
    return np.asarray(batch.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def _strings(batch: pa.RecordBatch, name: str) -> np.ndarray:
    values = pc.fill_null(batch.column(name).cast(pa.string()), "")
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=str)


def businesses_of(batch: pa.RecordBatch) -> matching.Businesses:
    """The matching core's arrays for one batch of :func:`_inputs_sql` rows."""
    policy = np.column_stack(
        [_floats(batch, column) > 0 for column, _zh, _en in POLICY_LISTS.values()]
    ).reshape(batch.num_rows, len(POLICY_LISTS))
    return matching.Businesses(
        uscc=_strings(batch, "uscc"),
        entity_type=_strings(batch, "entity_type"),
        industry_division=_strings(batch, "industry_division"),
        district=_strings(batch, "district"),
        tier=_strings(batch, "tier"),
        score=_floats(batch, "score"),
        credit_points=_floats(batch, "credit_points"),
        pd=_floats(batch, "pd"),
        age_years=_floats(batch, "age_years"),
        dishonest_active=_floats(batch, "dishonest_active") > 0,
        abnormal_active=_floats(batch, "abnormal_active") > 0,
        policy_lists=policy,
        policy_list_codes=_POLICY_CODES,
        pre_credit_limit=_floats(batch, "pre_credit_limit"),
        rate=_floats(batch, "rate"),
    )


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = $1", [name]
    ).fetchone()
    return bool(found and found[0])


def refresh_matches(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    as_of: date,
    owner: str = PLATFORM,
    batch_rows: int = REFRESH_BATCH,
) -> RefreshRun:
    """Replace ``product_matches`` with the matches of every published product against the
    champion scores of ``as_of`` (``owner``'s model, the platform's by default).

    Reads the warehouse's ``scores`` joined to ``features`` in batches of ``batch_rows``
    businesses, adds the membership of every pushed government list (``puhui.govlists``),
    matches each batch in one vectorised pass, and writes the eligible pairs and
    the near misses (:func:`puhui.market.matching.near_miss`). The old rows are deleted in
    the caller's transaction: readers see the old white lists or the new ones, never half.
    """
    require_schema(session)
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
    products = list(
        session.scalars(select(Product).where(Product.status == PUBLISHED).order_by(Product.id))
    )
    session.execute(delete(ProductMatch))
    memberships = pushed_memberships(session)
    rules = product_rules(products, required_lists(products, memberships))
    ids = np.asarray([p.id for p in products], dtype=np.int64)
    businesses = eligible = near = 0
    reader = con.sql(_inputs_sql(columns), params=[as_of, owner]).to_arrow_reader(batch_rows)
    for batch in reader:
        if batch.num_rows == 0:
            continue
        region = with_government_lists(businesses_of(batch), memberships)
        businesses += len(region)
        if not products:
            continue
        for start, found in matching.match_chunks(rules, region):
            keep = found.eligible | matching.near_miss(found.failures)
            rows, cols = np.nonzero(keep)
            eligible += int(found.eligible.sum())
            near += int(len(rows) - found.eligible[rows, cols].sum())
            _insert(session, as_of, region, start, ids, found, rows, cols)
    session.flush()
    return RefreshRun(as_of, len(products), businesses, eligible, near)


def _insert(
    session: Session,
    as_of: date,
    region: matching.Businesses,
    start: int,
    ids: np.ndarray,
    found: matching.Matches,
    rows: np.ndarray,
    cols: np.ndarray,
) -> None:
    """Store the pairs ``(rows, cols)`` of one chunk, column by column: PostgreSQL takes
    them as one ``COPY`` of CSV that Arrow writes, other databases as one ``executemany``."""
    if len(rows) == 0:
        return
    flags = found.failures[rows, cols]
    codes, position = np.unique(flags, return_inverse=True)
    reasons = np.array(
        [json.dumps(matching.failed_codes(int(c))) for c in codes.tolist()], dtype=object
    )[position]
    table = pa.table(
        {
            "product_id": pa.array(ids[cols], pa.int64()),
            "uscc": pa.array(region.uscc[start + rows], pa.string()),
            "as_of": pa.array(np.full(len(rows), as_of.isoformat()), pa.string()),
            "eligible": pa.array(flags == 0, pa.bool_()),
            "fit": pa.array(np.round(found.fit[rows, cols], 6), pa.float64()),
            "pre_credit_limit": fen_text(found.limit[rows, cols]),
            "rate": fen_text(found.rate[rows, cols]),
            "reasons": pa.array(reasons, pa.string()),
        }
    )
    names = ", ".join(table.column_names)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        buffer = pa.BufferOutputStream()
        pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(
            f"COPY {ProductMatch.__tablename__} ({names}) FROM STDIN (FORMAT csv)"
        ) as copy:
            copy.write(buffer.getvalue().to_pybytes())
        return
    marks = ", ".join("?" * table.num_columns)
    columns = [table.column(name).to_pylist() for name in table.column_names]
    connection.exec_driver_sql(
        f"INSERT INTO {ProductMatch.__tablename__} ({names}) VALUES ({marks})",
        list(zip(*columns, strict=True)),
    )


def fen_text(values: np.ndarray) -> pa.Array:
    """Yuan (or a rate in %) as decimal text half-up to the fen, vectorised.

    The values are floats that stand for decimals of at most a few places (limits in whole
    yuan, rates in hundredths); the 1e-7 absorbs binary noise (4.345 is 4.34499…), as
    :func:`money` does by going through ``str``.
    """
    cents = np.floor(np.abs(values) * 100 + 0.5 + 1e-7).astype(np.int64)
    sign = np.where(values < 0, "-", "")
    whole = (cents // 100).astype(str)
    fraction = np.char.zfill((cents % 100).astype(str), 2)
    return pa.array(np.char.add(np.char.add(np.char.add(sign, whole), "."), fraction))

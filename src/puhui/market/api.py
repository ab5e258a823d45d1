"""Market API under ``/api/v1``: products, their white lists, a business's products.

Thin: parse, call the service, translate. No SQL here; who sees what is the service's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from puhui.market import service
from puhui.market.schemas import (
    BusinessProductOut,
    Guarantee,
    MatchOut,
    ProductFilters,
    ProductIn,
    ProductOut,
    ProductUpdate,
    Sort,
    Status,
    business_product,
)
from puhui.web.deps import CurrentActor, DbSession, OptionalActor, RowId
from puhui.web.i18n import locale_of
from puhui.web.pagination import Page, PageQuery
from puhui.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["market"], responses=PROBLEM_RESPONSES)


@router.get("/products", response_model=Page[ProductOut], summary="Products (融资超市)")
def products(
    db: DbSession,
    actor: OptionalActor,
    page: PageQuery,
    bank: Annotated[str | None, Query(max_length=32, description="only this bank's")] = None,
    amount: Annotated[
        Decimal | None, Query(ge=0, description="lends this amount (yuan) within its range")
    ] = None,
    rate: Annotated[
        Decimal | None, Query(ge=0, le=100, description="its lowest rate is at most this, %")
    ] = None,
    guarantee: Annotated[Guarantee | None, Query()] = None,
    term: Annotated[
        int | None, Query(ge=1, le=600, description="lends for this many months")
    ] = None,
    status: Annotated[Status | None, Query(description="e.g. a bank's drafts")] = None,
    sort: Annotated[
        Sort | None, Query(description="popularity (most first) or rate (lowest first)")
    ] = None,
) -> Page[ProductOut]:
    """Published products, to anyone (no token needed); a bank also sees its own drafts
    and withdrawn products, the operator and government all."""
    filters = ProductFilters(
        bank=bank, amount=amount, rate=rate, guarantee=guarantee, term=term, status=status
    )
    result = service.list_products(db, actor, filters, sort, page)
    return Page[ProductOut].of(result, ProductOut.of)


@router.post(
    "/products", response_model=ProductOut, status_code=201, summary="Create a product (draft)"
)
def create(db: DbSession, actor: CurrentActor, body: ProductIn) -> ProductOut:
    """A bank's admin or system creates a product of its bank (``bank`` may be left out);
    the operator names the bank. The product starts as a draft."""
    return ProductOut.of(service.create_product(db, actor, body))


@router.get("/products/{product_id}", response_model=ProductOut, summary="One product")
def product(db: DbSession, actor: OptionalActor, product_id: RowId) -> ProductOut:
    return ProductOut.of(service.get_product(db, actor, product_id))


@router.patch("/products/{product_id}", response_model=ProductOut, summary="Change a product")
def update(
    db: DbSession, actor: CurrentActor, product_id: RowId, body: ProductUpdate
) -> ProductOut:
    return ProductOut.of(service.update_product(db, actor, product_id, body))


@router.post(
    "/products/{product_id}/publish", response_model=ProductOut, summary="Publish a product"
)
def publish(db: DbSession, actor: CurrentActor, product_id: RowId) -> ProductOut:
    return ProductOut.of(service.publish_product(db, actor, product_id))


@router.post(
    "/products/{product_id}/withdraw", response_model=ProductOut, summary="Withdraw a product"
)
def withdraw(db: DbSession, actor: CurrentActor, product_id: RowId) -> ProductOut:
    return ProductOut.of(service.withdraw_product(db, actor, product_id))


@router.get(
    "/products/{product_id}/matches",
    response_model=Page[MatchOut],
    summary="A product's white list (白名单) with pre-credit limits",
)
def matches(
    db: DbSession, actor: CurrentActor, product_id: RowId, page: PageQuery
) -> Page[MatchOut]:
    """Eligible businesses of the latest ``puhui market refresh``, largest limit first. Only
    the product's bank, the operator and government. ``gov_lists`` names the government
    lists pushed to the product's bank that each business is on."""
    result = service.list_matches(db, actor, product_id, page)
    flags = service.government_flags(db, result.items)
    return Page[MatchOut].of(result, lambda m: MatchOut.of(m, flags.get((m.product_id, m.uscc))))


@router.get(
    "/businesses/{uscc}/products",
    response_model=Page[BusinessProductOut],
    summary="A business's products, ranked by fit, with the reasons",
)
def business_products(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    uscc: Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$", description="the business")],
    page: PageQuery,
    eligible_only: Annotated[bool, Query(description="leave out the near misses")] = False,
) -> Page[BusinessProductOut]:
    """Eligible products first (by fit), then near misses with the rule that fails. The
    business itself, the operator and customer managers; a bank sees only its own products."""
    locale = locale_of(request)
    result = service.business_products(db, actor, uscc, page, eligible_only)
    return Page[BusinessProductOut].of(result, lambda m: business_product(m, locale))

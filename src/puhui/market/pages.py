"""Market pages: the financing supermarket (融资超市), a product, a product's white list.

Thin: parse the form, call the service, shape for the template. No SQL here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import list_banks
from puhui.errors import PuhuiError
from puhui.market import service
from puhui.market.matching import RULES_BY_CODE
from puhui.market.models import Product
from puhui.market.schemas import ProductFilters, ProductIn, Sort, active_rules
from puhui.market.vocab import (
    ENTITY_TYPES,
    GUARANTEES,
    STATUSES,
    TIERS,
    label,
    policy_list_label,
)
from puhui.pagination import PageRequest
from puhui.web.deps import DbSession, OptionalActor, PageActor
from puhui.web.i18n import N_, locale_of, translator
from puhui.web.nav import NavLink, register
from puhui.web.problems import Problem
from puhui.web.templating import add_template_dir, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")

register(
    NavLink(
        "/market",
        N_("Financing supermarket"),
        description=N_("Banks' loan products: filter by amount, rate, term and guarantee"),
    )
)

PAGE_SIZE = 12
SORTS = {"": N_("Newest first"), "popularity": N_("Most popular"), "rate": N_("Lowest rate")}


def yuan(value: Decimal | float) -> str:
    return f"{Decimal(value):,.2f}"


def _decimal(value: str | None) -> Decimal | None:
    try:
        number = Decimal(value.strip()) if value and value.strip() else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() and number >= 0 else None


def _whole(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() and 0 < int(value) <= 600 else None


def _product_view(product: Product, locale: str, banks: dict[str, str]) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "bank": banks.get(product.bank_code, product.bank_code),
        "bank_code": product.bank_code,
        "amount": f"{yuan(product.amount_min)} – {yuan(product.amount_max)}",
        "term": f"{product.term_min} – {product.term_max}",
        "rate": f"{product.rate_min}% – {product.rate_max}%",
        "guarantee": label(GUARANTEES, product.guarantee, locale),
        "status": product.status,
        "status_label": label(STATUSES, product.status, locale),
        "instant": product.instant,
        "popularity": product.popularity,
        "description": product.description,
    }


def _rules_view(product: Product, locale: str) -> list[tuple[str, str]]:
    """The product's eligibility rules as (label source string, value) pairs."""
    rows: list[tuple[str, str]] = []
    if product.entity_types:
        text = "、".join(label(ENTITY_TYPES, c, locale) for c in product.entity_types)
        rows.append((N_("Entity types"), text))
    if product.industries:
        rows.append((N_("Industry divisions"), ", ".join(product.industries)))
    if product.districts:
        rows.append((N_("Districts"), ", ".join(product.districts)))
    if product.tiers:
        rows.append((N_("Tiers"), "、".join(label(TIERS, c, locale) for c in product.tiers)))
    if product.policy_lists:
        text = "、".join(policy_list_label(c, locale) for c in product.policy_lists)
        rows.append((N_("On one of the policy lists"), text))
    if product.min_score is not None:
        rows.append((N_("Minimum score"), f"{product.min_score:g}"))
    if product.min_credit_points is not None:
        rows.append((N_("Minimum credit points"), str(product.min_credit_points)))
    if product.max_pd is not None:
        rows.append((N_("Maximum probability of default"), f"{product.max_pd:.2%}"))
    if product.min_age_years is not None:
        rows.append((N_("Minimum years in business"), f"{product.min_age_years:g}"))
    if product.exclude_dishonest:
        rows.append((N_("Dishonest judgment debtors"), N_("excluded")))
    if product.exclude_abnormal:
        rows.append((N_("Abnormal-operation list"), N_("excluded")))
    return rows


def _bank_names(request: Request, db: Any) -> dict[str, str]:
    return {bank.code: bank.name for bank in list_banks(db)}


@router.get("/market", response_class=Response)
def market(
    request: Request,
    db: DbSession,
    actor: OptionalActor,
    bank: str | None = None,
    amount: str | None = None,
    rate: str | None = None,
    guarantee: str | None = None,
    term: str | None = None,
    sort: str | None = None,
    page: str | None = None,
) -> Response:
    """The product catalogue with its filter form; anyone may browse it."""
    locale = locale_of(request)
    banks = _bank_names(request, db)
    highest = _decimal(rate)
    filters = ProductFilters.model_validate(
        {
            "bank": bank if bank in banks else None,
            "amount": _decimal(amount),
            "rate": highest if highest is not None and highest <= 100 else None,
            "guarantee": guarantee if guarantee in GUARANTEES else None,
            "term": _whole(term),
        }
    )
    chosen_sort: Sort | None = "popularity" if sort == "popularity" else None
    if sort == "rate":
        chosen_sort = "rate"
    number = int(page) if page and page.isdigit() and 0 < int(page) < 100_000 else 1
    result = service.list_products(
        db, actor, filters, chosen_sort, PageRequest(page=number, size=PAGE_SIZE)
    )
    query = {
        "bank": filters.bank or "",
        "amount": amount or "",
        "rate": rate or "",
        "guarantee": filters.guarantee or "",
        "term": term or "",
        "sort": chosen_sort or "",
    }

    def page_link(n: int) -> str:
        return "/market?" + urlencode({**{k: v for k, v in query.items() if v}, "page": n})

    return render(
        request,
        "market/market.html",
        {
            "actor": actor,
            "products": [_product_view(p, locale, banks) for p in result.items],
            "total": result.total,
            "query": query,
            "banks": sorted(banks.items()),
            "guarantees": [(code, label(GUARANTEES, code, locale)) for code in GUARANTEES],
            "sorts": list(SORTS.items()),
            "may_create": actor is not None and _may_create(actor),
            "previous": page_link(number - 1) if number > 1 else None,
            "next": page_link(number + 1) if number * PAGE_SIZE < result.total else None,
        },
    )


def _may_see_own_match(actor: Actor | None) -> bool:
    return actor is not None and actor.is_enterprise and actor.uscc is not None


# --------------------------------------------------------------------------- new product

#: The form's fields, in order, with the English label each error names.
PRODUCT_FIELDS: dict[str, str] = {
    "bank": N_("Bank"),
    "name": N_("Product name"),
    "description": N_("Description"),
    "amount_min": N_("Smallest loan (yuan)"),
    "amount_max": N_("Largest loan (yuan)"),
    "term_min": N_("Shortest term (months)"),
    "term_max": N_("Longest term (months)"),
    "rate_min": N_("Lowest annual rate (%)"),
    "rate_max": N_("Highest annual rate (%)"),
    "guarantee": N_("Guarantee"),
    "entity_types": N_("Entity types"),
    "industries": N_("Industry divisions"),
    "districts": N_("Districts"),
    "tiers": N_("Tiers"),
    "min_score": N_("Minimum score"),
    "min_credit_points": N_("Minimum credit points"),
    "max_pd": N_("Maximum probability of default"),
    "min_age_years": N_("Minimum years in business"),
}
_CODES_FIELDS = ("industries", "districts")
_CHOICE_FIELDS = ("entity_types", "tiers")
_FLAG_FIELDS = ("exclude_dishonest", "exclude_abnormal", "instant")


def _may_create(actor: Actor) -> bool:
    return actor.is_operator or actor.role is Role.BANK_ADMIN


def product_from_form(form: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """The form's text as ``ProductIn`` data: blanks are unset, code lists split on commas
    and spaces, the PD given in % becomes a share, checkboxes become booleans."""
    data: dict[str, Any] = {}
    for name in PRODUCT_FIELDS:
        if name in _CHOICE_FIELDS:
            data[name] = [str(v) for v in form.get(name, [])]
        elif name in _CODES_FIELDS:
            text = str(form.get(name, "")).replace("，", ",")
            data[name] = [code for code in text.replace(",", " ").split() if code]
        else:
            value = str(form.get(name, "")).strip()
            if value:
                data[name] = value
    if not actor.is_operator:
        data["bank"] = actor.bank_code
    if "max_pd" in data:
        percent = _decimal(data["max_pd"])
        data["max_pd"] = str(percent / 100) if percent is not None else data["max_pd"]
    for flag in _FLAG_FIELDS:
        data[flag] = form.get(flag) == "on"
    return data


def _product_form(
    request: Request,
    db: Any,
    actor: Actor,
    values: dict[str, Any] | None = None,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    return render(
        request,
        "market/product_form.html",
        {
            "actor": actor,
            "values": values or {"exclude_dishonest": True, "exclude_abnormal": True},
            "errors": errors or [],
            "banks": sorted(_bank_names(request, db).items()),
            "guarantees": [(code, label(GUARANTEES, code, locale)) for code in GUARANTEES],
            "entity_types": [(code, label(ENTITY_TYPES, code, locale)) for code in ENTITY_TYPES],
            "tiers": [(code, label(TIERS, code, locale)) for code in TIERS],
        },
        status_code=status_code,
    )


@router.get("/market/products/new", response_class=Response)
def new_product_page(request: Request, db: DbSession, actor: PageActor) -> Response:
    """The form a bank's administrator (or the operator) publishes a product with."""
    if not _may_create(actor):
        raise Problem(403, detail=N_("Only a bank's administrator or the operator adds products."))
    return _product_form(request, db, actor)


@router.post("/market/products/new", response_class=Response)
async def create_product_page(request: Request, db: DbSession, actor: PageActor) -> Response:
    """Check the form, keep what was typed, name every field that is wrong; a valid product
    is saved as a draft and shown, to be published from its page."""
    if not _may_create(actor):
        raise Problem(403, detail=N_("Only a bank's administrator or the operator adds products."))
    form = await request.form()
    raw: dict[str, Any] = {
        key: form.getlist(key) if key in _CHOICE_FIELDS else form.get(key, "")
        for key in (*PRODUCT_FIELDS, *_FLAG_FIELDS)
    }
    _ = translator(request)
    try:
        data = ProductIn.model_validate(product_from_form(raw, actor))
        product = service.create_product(db, actor, data)
    except ValidationError as error:
        errors = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else ""
            name = (
                _(PRODUCT_FIELDS[field])
                if field in PRODUCT_FIELDS
                else _("Amounts, terms and rates")
            )
            errors.append((name, str(item["msg"])))
        return _product_form(request, db, actor, raw, errors, 400)
    except PuhuiError as error:
        text = error.message_zh if locale_of(request) == "zh_CN" else error.message_en
        return _product_form(request, db, actor, raw, [("", text)], 400)
    return RedirectResponse(f"/market/products/{product.id}", status_code=303)


@router.get("/market/products/{product_id}", response_class=Response)
def product_page(
    request: Request, db: DbSession, actor: OptionalActor, product_id: int
) -> Response:
    """One product: its terms and rules; a business sees whether it fits and why."""
    locale = locale_of(request)
    product = service.get_product(db, actor, product_id)
    mine = None
    if actor is not None and actor.is_enterprise and actor.uscc is not None:
        found = service.business_match(db, actor, actor.uscc, product.id)
        if found is not None:
            fails = list(found.reasons or [])
            mine = {
                "eligible": found.eligible,
                "limit": yuan(found.pre_credit_limit),
                "rate": f"{found.rate}%",
                "as_of": found.as_of.isoformat(),
                "fits": [
                    RULES_BY_CODE[c].text(locale)
                    for c in active_rules(product)
                    if c not in fails and c in RULES_BY_CODE
                ],
                "fails": [RULES_BY_CODE[c].text(locale) for c in fails if c in RULES_BY_CODE],
            }
    return render(
        request,
        "market/product.html",
        {
            "actor": actor,
            "product": _product_view(product, locale, _bank_names(request, db)),
            "rules": _rules_view(product, locale),
            "mine": mine,
            "show_mine": _may_see_own_match(actor),
            "may_manage": actor is not None and service.may_manage(actor, product.bank_code),
            "may_white_list": actor is not None and service.may_read_white_list(actor, product),
        },
    )


@router.post("/market/products/{product_id}/publish", response_class=Response)
def publish(db: DbSession, actor: PageActor, product_id: int) -> Response:
    service.publish_product(db, actor, product_id)
    return RedirectResponse(f"/market/products/{product_id}", status_code=303)


@router.post("/market/products/{product_id}/withdraw", response_class=Response)
def withdraw(db: DbSession, actor: PageActor, product_id: int) -> Response:
    service.withdraw_product(db, actor, product_id)
    return RedirectResponse(f"/market/products/{product_id}", status_code=303)


@router.get("/market/products/{product_id}/white-list", response_class=Response)
def white_list(
    request: Request, db: DbSession, actor: PageActor, product_id: int, page: int = 1
) -> Response:
    """A product's white list (白名单): eligible businesses with their limits."""
    locale = locale_of(request)
    number = max(1, page)
    product = service.get_product(db, actor, product_id)
    result = service.list_matches(db, actor, product_id, PageRequest(page=number, size=50))
    flags = service.government_flags(db, result.items)
    return render(
        request,
        "market/white_list.html",
        {
            "actor": actor,
            "product": _product_view(product, locale, _bank_names(request, db)),
            "rows": [
                {
                    "uscc": m.uscc,
                    "limit": yuan(m.pre_credit_limit),
                    "rate": f"{m.rate}%",
                    "fit": f"{m.fit:.2f}",
                    "as_of": m.as_of.isoformat(),
                    "gov_lists": flags.get((m.product_id, m.uscc), []),
                }
                for m in result.items
            ],
            "total": result.total,
            "page": number,
            "has_next": number * result.size < result.total,
        },
    )

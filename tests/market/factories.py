"""Test data for the market: products with sensible defaults, and actors of each kind."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.market import service
from puhui.market.models import Product
from puhui.market.schemas import ProductIn

_numbers = itertools.count(1)
OPERATOR = Actor.system("test")


def bank_actor(bank: str, role: Role = Role.BANK_ADMIN) -> Actor:
    return Actor(kind="user", id=str(next(_numbers) + 1000), role=role, bank_code=bank)


def enterprise(uscc: str) -> Actor:
    return Actor(kind="user", id=str(next(_numbers) + 1000), role=Role.ENTERPRISE, uscc=uscc)


def product_in(**overrides: Any) -> ProductIn:
    values: dict[str, Any] = {
        "name": f"经营贷 {next(_numbers)}",
        "amount_min": Decimal("10000"),
        "amount_max": Decimal("500000"),
        "term_min": 3,
        "term_max": 36,
        "rate_min": Decimal("3.85"),
        "rate_max": Decimal("8.00"),
        "guarantee": "credit",
    }
    values.update(overrides)
    return ProductIn.model_validate(values)


def make_product(
    session: Session,
    bank: str = "BANKA",
    *,
    publish: bool = True,
    popularity: int | None = None,
    **overrides: Any,
) -> Product:
    created = service.create_product(session, OPERATOR, product_in(bank=bank, **overrides))
    if publish:
        service.publish_product(session, OPERATOR, created.id)
    if popularity is not None:
        service.set_popularity(session, OPERATOR, created.id, popularity)
    return created

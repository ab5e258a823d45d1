"""Test data for the market: products with sensible defaults, actors of each kind, and
refresh runs of a few businesses."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.govlists.service import Membership
from puhui.market import matching, service
from puhui.market.models import Product
from puhui.market.schemas import ProductIn
from puhui.market.vocab import POLICY_LISTS

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


AS_OF = date(2026, 6, 30)


def region_row(uscc: str, **overrides: Any) -> dict[str, Any]:
    """One business of a run's matching inputs: a good borrower on no policy list, unless
    ``overrides`` say otherwise (``lists``: the policy-list codes it is on)."""
    values: dict[str, Any] = {
        "uscc": uscc,
        "entity_type": "enterprise",
        "industry_division": "13",
        "district": "330102",
        "tier": "growth",
        "score": 700.0,
        "credit_points": 700.0,
        "pd": 0.02,
        "age_years": 5.0,
        "dishonest_active": False,
        "abnormal_active": False,
        "lists": (),
        "pre_credit_limit": 200_000.0,
        "rate": 5.2,
    }
    values.update(overrides)
    return values


def region_of(*rows: dict[str, Any]) -> matching.Businesses:
    """The matching core's arrays for :func:`region_row` rows."""
    codes = tuple(POLICY_LISTS)

    def column(name: str, dtype: Any) -> np.ndarray:
        return np.asarray([r[name] for r in rows], dtype=dtype)

    return matching.Businesses(
        uscc=column("uscc", str),
        entity_type=column("entity_type", str),
        industry_division=column("industry_division", str),
        district=column("district", str),
        tier=column("tier", str),
        score=column("score", np.float64),
        credit_points=column("credit_points", np.float64),
        pd=column("pd", np.float64),
        age_years=column("age_years", np.float64),
        dishonest_active=column("dishonest_active", bool),
        abnormal_active=column("abnormal_active", bool),
        policy_lists=np.asarray(
            [[code in r["lists"] for code in codes] for r in rows], dtype=bool
        ).reshape(len(rows), len(codes)),
        policy_list_codes=codes,
        pre_credit_limit=column("pre_credit_limit", np.float64),
        rate=column("rate", np.float64),
    )


def make_run(
    session: Session,
    directory: Path,
    *rows: dict[str, Any],
    memberships: Sequence[Membership] = (),
) -> service.RefreshRun:
    """A refresh of these businesses (as of ``AS_OF``, the platform's scores) made current."""
    return service.store_run(session, directory, AS_OF, "platform", region_of(*rows), memberships)

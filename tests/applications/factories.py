"""Test data for applications: two banks, a user of each role, a product, applications
submitted and moved through the service as people would."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.service import actor_for_user
from puhui.applications import service
from puhui.applications.models import Application
from puhui.applications.vocab import (
    ACCEPTED,
    APPROVED,
    CONTRACT_SIGNED,
    DISBURSED,
    UNDER_REVIEW,
)
from puhui.notices.models import Notice
from tests.accounts.factories import USCCS, make_bank, make_user
from tests.market.factories import make_product

PHONE = "13812345678"
#: The path of an application through the bank's stages, in order.
PATH = (ACCEPTED, UNDER_REVIEW, APPROVED, CONTRACT_SIGNED, DISBURSED)
RATE = Decimal("4.35")


@dataclass(frozen=True)
class World:
    """Who is who: actors built from real users, and the product of bank A."""

    business: Actor
    other_business: Actor
    officer_a: Actor
    admin_a: Actor
    manager_a: Actor
    officer_b: Actor
    government: Actor
    operator: Actor
    product_id: int
    product_b_id: int


def make_world(session: Session) -> World:
    make_bank(session, "BANKA", "甲银行")
    make_bank(session, "BANKB", "乙银行")

    def actor(role: str, **kw: Any) -> Actor:
        return actor_for_user(make_user(session, role, **kw))

    product = make_product(session, "BANKA", name="小微快贷")
    product_b = make_product(session, "BANKB", name="乙行经营贷")
    return World(
        business=actor("enterprise", uscc=USCCS[0]),
        other_business=actor("enterprise", uscc=USCCS[1]),
        officer_a=actor("bank_officer", bank="BANKA"),
        admin_a=actor("bank_admin", bank="BANKA"),
        manager_a=actor("customer_manager", bank="BANKA"),
        officer_b=actor("bank_officer", bank="BANKB"),
        government=actor("government"),
        operator=actor("operator"),
        product_id=product.id,
        product_b_id=product_b.id,
    )


def apply(
    session: Session, actor: Actor, product_id: int | None = None, **overrides: Any
) -> Application:
    values: dict[str, Any] = {
        "amount": "150000",
        "term_months": 12,
        "purpose": "采购原材料",
        "contact_phone": PHONE,
    }
    values.update(overrides)
    return service.submit(session, actor, product_id, **values)


def walk(session: Session, world: World, application: Application, until: str) -> Application:
    """Move ``application`` (of bank A) along :data:`PATH` up to and including ``until``."""
    for stage in PATH:
        if application.status == until:
            break
        who = world.business if stage == CONTRACT_SIGNED else world.officer_a
        rate = RATE if stage == APPROVED else None
        application = service.transition(session, who, application.id, stage, approved_rate=rate)
    assert application.status == until
    return application


def notices_of(session: Session, application_id: int) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice).where(Notice.application_id == application_id).order_by(Notice.id)
        )
    )


def count(session: Session, model: Any, *conditions: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)

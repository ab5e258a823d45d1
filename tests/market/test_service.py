"""Products and matches on the app database (SQLite and PostgreSQL): who may do and see what,
filters, sorting, pagination."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import audit_entries
from puhui.market import service
from puhui.market.models import Product, ProductMatch
from puhui.market.schemas import ProductFilters, ProductUpdate
from puhui.pagination import PageRequest
from tests.market.factories import (
    OPERATOR,
    bank_actor,
    enterprise,
    make_product,
    product_in,
)

USCC = "91110000600037341L"
OTHER_USCC = "91331002123456788L"
AS_OF = date(2026, 6, 30)


def ids(result: service.PageResult[Product]) -> list[int]:
    return [p.id for p in result.items]


def test_a_bank_admin_creates_publishes_and_withdraws_its_product(
    session: Session, banks: tuple[str, str]
) -> None:
    admin = bank_actor("BANKA")
    created = service.create_product(session, admin, product_in(amount_max=Decimal("300000.5")))
    assert (created.bank_code, created.status, created.popularity) == ("BANKA", "draft", 0)
    session.expire(created)
    assert created.amount_max == Decimal("300000.50")
    assert service.money(Decimal("0.005")) == Decimal("0.01")  # half up to the fen
    changed = service.update_product(
        session, admin, created.id, ProductUpdate(name="  小微快贷 ", tiers=["growth"])
    )
    assert (changed.name, changed.tiers) == ("小微快贷", ["growth"])
    assert service.publish_product(session, admin, created.id).status == "published"
    with pytest.raises(service.WrongStatusError):
        service.publish_product(session, admin, created.id)
    assert service.withdraw_product(session, admin, created.id).status == "withdrawn"
    with pytest.raises(service.WrongStatusError, match="withdrawn"):
        service.update_product(session, admin, created.id, ProductUpdate(name="again"))
    actions = [e.action for e in audit_entries(session, "product", str(created.id))]
    assert actions == ["product.create", "product.update", "product.publish", "product.withdraw"]


def test_who_may_manage_products(session: Session, banks: tuple[str, str]) -> None:
    system = Actor(kind="client", id="banka-1", role=Role.BANK_SYSTEM, bank_code="BANKA")
    assert service.create_product(session, system, product_in()).bank_code == "BANKA"
    with pytest.raises(service.NotAllowedError):
        service.create_product(session, bank_actor("BANKA"), product_in(bank="BANKB"))
    with pytest.raises(service.NotAllowedError):
        service.create_product(session, bank_actor("BANKA", Role.BANK_OFFICER), product_in())
    with pytest.raises(service.NotAllowedError):
        service.create_product(session, enterprise(USCC), product_in(bank="BANKA"))
    with pytest.raises(service.MarketError, match="bank is required"):
        service.create_product(session, OPERATOR, product_in())
    with pytest.raises(service.MarketError, match="no bank NOPE"):
        service.create_product(session, OPERATOR, product_in(bank="NOPE"))

    other = make_product(session, "BANKB")
    # Another bank sees the published product but may not change it.
    with pytest.raises(service.NotAllowedError):
        service.withdraw_product(session, bank_actor("BANKA"), other.id)
    draft = make_product(session, "BANKB", publish=False)
    # ... and does not even learn that its draft exists.
    with pytest.raises(service.ProductNotFoundError):
        service.publish_product(session, bank_actor("BANKA"), draft.id)
    with pytest.raises(service.NotAllowedError):
        service.set_popularity(session, bank_actor("BANKB"), other.id, 99)


def test_an_update_keeps_the_ranges_valid(session: Session, banks: tuple[str, str]) -> None:
    from pydantic import ValidationError

    created = make_product(session, publish=False)
    with pytest.raises(ValidationError, match="amount_min must not exceed amount_max"):
        service.update_product(session, OPERATOR, created.id, ProductUpdate(amount_min=10**7))


def test_drafts_are_seen_by_their_bank_only(session: Session, banks: tuple[str, str]) -> None:
    a_published = make_product(session, "BANKA")
    a_draft = make_product(session, "BANKA", publish=False)
    b_published = make_product(session, "BANKB")
    b_draft = make_product(session, "BANKB", publish=False)
    page = PageRequest(size=100)
    everyone = {a_published.id, b_published.id}
    assert set(ids(service.list_products(session, None, page=page))) >= everyone
    assert not {a_draft.id, b_draft.id} & set(ids(service.list_products(session, None, page=page)))
    for actor in (enterprise(USCC), Actor(kind="user", id="9", role=Role.CUSTOMER_MANAGER)):
        seen = set(ids(service.list_products(session, actor, page=page)))
        assert everyone <= seen
        assert not {a_draft.id, b_draft.id} & seen
    for role in (Role.BANK_OFFICER, Role.BANK_ADMIN, Role.BANK_SYSTEM):
        seen = set(ids(service.list_products(session, bank_actor("BANKA", role), page=page)))
        assert everyone | {a_draft.id} <= seen
        assert b_draft.id not in seen
    assert {a_draft.id, b_draft.id} <= set(ids(service.list_products(session, OPERATOR, page=page)))
    with pytest.raises(service.ProductNotFoundError):
        service.get_product(session, enterprise(USCC), a_draft.id)
    with pytest.raises(service.ProductNotFoundError):
        service.get_product(session, bank_actor("BANKB"), a_draft.id)
    assert service.get_product(session, bank_actor("BANKA"), a_draft.id).id == a_draft.id


def test_filters_sorting_and_pages(session: Session, banks: tuple[str, str]) -> None:
    cheap = make_product(
        session, "BANKA", popularity=5, rate_min=Decimal("3.45"), guarantee="mortgage"
    )
    popular = make_product(session, "BANKB", popularity=50, rate_min=Decimal("4.20"))
    big = make_product(
        session,
        "BANKA",
        popularity=20,
        amount_min=Decimal("1000000"),
        amount_max=Decimal("3000000"),
        term_min=12,
        term_max=60,
        rate_min=Decimal("5.00"),
    )
    mine = {cheap.id, popular.id, big.id}

    def listed(**filters: object) -> list[int]:
        result = service.list_products(
            session,
            None,
            ProductFilters.model_validate(filters),
            page=PageRequest(size=100),
        )
        return [i for i in ids(result) if i in mine]

    assert listed(bank="BANKA") == [cheap.id, big.id]
    assert listed(amount=Decimal("2000000")) == [big.id]
    assert listed(amount=Decimal("500000")) == [cheap.id, popular.id]
    assert listed(rate=Decimal("4.20")) == [cheap.id, popular.id]
    assert listed(guarantee="mortgage") == [cheap.id]
    assert listed(term=48) == [big.id]
    assert listed(term=48, bank="BANKB") == []

    by_popularity = service.list_products(
        session, None, sort="popularity", page=PageRequest(size=100)
    )
    assert [i for i in ids(by_popularity) if i in mine] == [popular.id, big.id, cheap.id]
    by_rate = service.list_products(session, None, sort="rate", page=PageRequest(size=100))
    assert [i for i in ids(by_rate) if i in mine] == [cheap.id, popular.id, big.id]

    pages = [
        service.list_products(session, None, ProductFilters(), "rate", PageRequest(page=n, size=1))
        for n in (1, 2, 3)
    ]
    assert all(p.total == pages[0].total for p in pages)
    assert pages[0].total >= 3
    assert len({p.items[0].id for p in pages}) == 3


def _matches(session: Session, product: Product, rows: list[tuple[str, bool, float, str]]) -> None:
    for uscc, eligible, fit, limit in rows:
        session.add(
            ProductMatch(
                product_id=product.id,
                uscc=uscc,
                as_of=AS_OF,
                eligible=eligible,
                fit=fit,
                pre_credit_limit=Decimal(limit),
                rate=Decimal("5.50"),
                reasons=[] if eligible else ["min_score"],
            )
        )
    session.flush()


def test_white_lists_are_for_the_product_bank_operator_and_government(
    session: Session, banks: tuple[str, str]
) -> None:
    product = make_product(session, "BANKA")
    _matches(
        session,
        product,
        [
            (USCC, True, 0.7, "200000"),
            (OTHER_USCC, True, 0.6, "300000"),
            ("X" * 18, False, 0.9, "0"),
        ],
    )
    for actor in (
        bank_actor("BANKA", Role.BANK_OFFICER),
        OPERATOR,
        Actor(kind="user", id="5", role=Role.GOVERNMENT),
    ):
        result = service.list_matches(session, actor, product.id)
        assert [m.uscc for m in result.items] == [OTHER_USCC, USCC]  # largest limit first
        assert result.total == 2
    for actor in (
        bank_actor("BANKB"),
        enterprise(USCC),
        Actor(kind="user", id="6", role=Role.CUSTOMER_MANAGER, bank_code="BANKA"),
    ):
        with pytest.raises(service.NotAllowedError):
            service.list_matches(session, actor, product.id)
    assert audit_entries(session, "product", str(product.id))[-1].action == (
        "product.white_list.read"
    )


def test_a_business_sees_its_products_ranked_and_banks_only_their_own(
    session: Session, banks: tuple[str, str]
) -> None:
    a1 = make_product(session, "BANKA")
    a2 = make_product(session, "BANKA")
    b1 = make_product(session, "BANKB")
    _matches(session, a1, [(USCC, True, 0.5, "100000")])
    _matches(session, a2, [(USCC, False, 0.9, "0")])
    _matches(session, b1, [(USCC, True, 0.8, "100000"), (OTHER_USCC, True, 0.8, "1000")])

    own = service.business_products(session, enterprise(USCC), USCC)
    assert [m.product_id for m in own.items] == [b1.id, a1.id, a2.id]
    assert [
        m.product_id
        for m in service.business_products(
            session, enterprise(USCC), USCC, eligible_only=True
        ).items
    ] == [b1.id, a1.id]
    bank_a = service.business_products(session, bank_actor("BANKA", Role.BANK_OFFICER), USCC)
    assert [m.product_id for m in bank_a.items] == [a1.id, a2.id]
    manager = Actor(kind="user", id="7", role=Role.CUSTOMER_MANAGER, bank_code="BANKB")
    assert service.business_products(session, manager, USCC).total == 3
    assert service.business_products(session, OPERATOR, OTHER_USCC).total == 1
    for actor in (enterprise(OTHER_USCC), Actor(kind="user", id="8", role=Role.GOVERNMENT)):
        with pytest.raises(service.NotAllowedError):
            service.business_products(session, actor, USCC)

    # Withdrawing a product takes its matches with it.
    service.withdraw_product(session, OPERATOR, b1.id)
    assert [m.product_id for m in service.business_products(session, OPERATOR, USCC).items] == [
        a1.id,
        a2.id,
    ]

"""Products and matches on the app database (SQLite and PostgreSQL): who may do and see what,
filters, sorting, pagination."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import audit_entries
from puhui.market import service
from puhui.market.models import Product
from puhui.market.schemas import ProductFilters, ProductUpdate
from puhui.pagination import PageRequest, PageResult
from tests.market.factories import (
    AS_OF,
    OPERATOR,
    bank_actor,
    enterprise,
    make_product,
    make_run,
    product_in,
    region_row,
)

USCC = "91110000600037341L"
OTHER_USCC = "91331002123456788L"


def ids(result: PageResult[Product]) -> list[int]:
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


def test_white_lists_are_for_the_product_bank_operator_and_government(
    session: Session, banks: tuple[str, str], tmp_path: Path
) -> None:
    product = make_product(session, "BANKA")
    make_run(
        session,
        tmp_path,
        region_row(USCC, pre_credit_limit=200_000.0),
        region_row(OTHER_USCC, pre_credit_limit=300_000.0),
        region_row("X" * 18, dishonest_active=True),
    )
    for actor in (
        bank_actor("BANKA", Role.BANK_OFFICER),
        OPERATOR,
        Actor(kind="user", id="5", role=Role.GOVERNMENT),
    ):
        result = service.list_matches(session, actor, product.id)
        assert [m.uscc for m in result.items] == [OTHER_USCC, USCC]  # largest limit first
        assert [m.pre_credit_limit for m in result.items] == [
            Decimal("300000.00"),
            Decimal("200000.00"),
        ]
        assert result.total == 2
        assert all(m.eligible and m.as_of == AS_OF for m in result.items)
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
    session: Session, banks: tuple[str, str], tmp_path: Path
) -> None:
    a1 = make_product(session, "BANKA")
    a2 = make_product(session, "BANKA", min_score=720.0)  # USCC (700) is a near miss
    b1 = make_product(session, "BANKB", amount_min=Decimal("1000"), popularity=50)
    far = make_product(session, "BANKB", min_score=720.0, tiers=["development"])
    make_run(
        session,
        tmp_path,
        region_row(USCC),
        region_row(OTHER_USCC, pre_credit_limit=5_000.0),  # below a1's and a2's minimum
    )

    own = service.business_products(session, enterprise(USCC), USCC)
    assert [m.product_id for m in own.items] == [b1.id, a1.id, a2.id]  # b1 is more popular
    assert [m.eligible for m in own.items] == [True, True, False]
    assert own.items[2].reasons == ["min_score"]
    assert far.id not in [m.product_id for m in own.items]  # two rules away
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
    other = service.business_products(session, OPERATOR, OTHER_USCC)
    assert [(m.product_id, m.eligible, m.reasons) for m in other.items] == [
        (b1.id, True, []),
        (a1.id, False, ["limit"]),
    ]
    assert other.items[1].pre_credit_limit == Decimal("0.00")
    assert service.business_products(session, OPERATOR, "Y" * 18).total == 0  # not scored
    second = service.business_products(session, OPERATOR, USCC, PageRequest(page=2, size=2))
    assert ([m.product_id for m in second.items], second.total) == ([a2.id], 3)
    for actor in (enterprise(OTHER_USCC), Actor(kind="user", id="8", role=Role.GOVERNMENT)):
        with pytest.raises(service.NotAllowedError):
            service.business_products(session, actor, USCC)

    # One product: eligible or a near miss, else nothing.
    assert service.business_match(session, enterprise(USCC), USCC, a2.id) is not None
    assert service.business_match(session, enterprise(USCC), USCC, far.id) is None

    # Withdrawing a product takes it out at once; a product published after the refresh is
    # matched at once; a changed rule applies at once.
    service.withdraw_product(session, OPERATOR, b1.id)
    late = make_product(session, "BANKB")
    service.update_product(session, OPERATOR, a2.id, ProductUpdate(min_score=None))
    assert {m.product_id for m in service.business_products(session, OPERATOR, USCC).items} == {
        a1.id,
        a2.id,
        late.id,
    }


def test_without_a_refresh_nothing_is_matched(session: Session, banks: tuple[str, str]) -> None:
    product = make_product(session, "BANKA")
    assert service.list_matches(session, OPERATOR, product.id).total == 0
    assert service.business_products(session, enterprise(USCC), USCC).total == 0
    assert service.best_offers(session, [USCC]) == {}


def test_the_migration_matches_the_models(db_engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from puhui.db import Base
    from puhui.models import import_all_models

    import_all_models()
    with db_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    mine = [
        d
        for d in differences
        if any(t in repr(d) for t in ("products", "match_runs", "product_match"))
    ]
    assert mine == []

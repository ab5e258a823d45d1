"""Government lists on SQLite and PostgreSQL: who manages and who sees, uploads with bad rows,
lists defined by a filter, pushes, members with pre-credit limits, and tracking."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.accounts.actor import Role
from puhui.accounts.models import AuditEntry
from puhui.govlists import service
from puhui.govlists.models import GovListMember
from puhui.govlists.upload import BadFileError
from puhui.govlists.warehouse import lookup_on
from tests.accounts.factories import make_bank, make_user
from tests.govlists.factories import (
    OPERATOR,
    bank_actor,
    enterprise,
    government,
    make_list,
    make_profile,
    uscc,
    xlsx,
)
from tests.market.factories import make_product, make_run, region_row
from tests.service_report.factories import make_application


@pytest.fixture
def banks(session: Session) -> tuple[str, str]:
    make_bank(session, "BANKA", "甲银行")
    make_bank(session, "BANKB", "乙银行")
    return "BANKA", "BANKB"


def _members(session: Session, list_id: int) -> list[str]:
    return sorted(
        session.scalars(select(GovListMember.uscc).where(GovListMember.list_id == list_id))
    )


# --------------------------------------------------------------------------- lists


def test_government_creates_a_list_others_may_not(session: Session, banks: tuple[str, str]) -> None:
    gov = government(session)
    created = service.create_list(session, gov, "ZJTX-1", "专精特新培育名单", "srdi", "2026 批次")
    assert (created.code, created.kind, created.status) == ("ZJTX-1", "srdi", "draft")
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "govlist.create")).all()
    assert [(a.object_id, a.actor_role) for a in audit] == [("ZJTX-1", "government")]

    for actor in (bank_actor(session, "BANKA", Role.BANK_ADMIN), enterprise(uscc(1))):
        with pytest.raises(service.GovListForbiddenError):
            service.create_list(session, actor, "X1", "名单", "tech")
    with pytest.raises(service.GovListConflictError):
        service.create_list(session, gov, "ZJTX-1", "重名", "tech")
    with pytest.raises(service.GovListError, match="kind"):
        service.create_list(session, gov, "X2", "名单", "vip")
    with pytest.raises(service.GovListError, match="code"):
        service.create_list(session, gov, "含中文", "名单", "tech")
    with pytest.raises(service.GovListError, match="name"):
        service.create_list(session, gov, "X3", "  ", "tech")


def test_a_bank_sees_only_lists_pushed_to_it(session: Session, banks: tuple[str, str]) -> None:
    make_list(session, "PUSHED-A", members=[uscc(1)], banks=["BANKA"])
    make_list(session, "DRAFT", members=[uscc(2)])
    officer_a, officer_b = bank_actor(session, "BANKA"), bank_actor(session, "BANKB")

    assert [f.code for f in service.list_lists(session, officer_a).items] == ["PUSHED-A"]
    assert service.list_lists(session, officer_b).total == 0
    assert service.list_lists(session, enterprise(uscc(1))).total == 0
    assert {f.code for f in service.list_lists(session, government(session)).items} == {
        "PUSHED-A",
        "DRAFT",
    }
    with pytest.raises(service.GovListNotFoundError):
        service.get_list(session, officer_b, "PUSHED-A")
    with pytest.raises(service.GovListNotFoundError):
        service.list_members(session, officer_a, "DRAFT")
    # The bank that sees it may not change it; another bank learns nothing.
    with pytest.raises(service.GovListForbiddenError):
        service.push_list(session, officer_a, "PUSHED-A", ["BANKB"])
    with pytest.raises(service.GovListNotFoundError):
        service.upload_members(session, officer_b, "PUSHED-A", "x.csv", b"uscc\n")
    assert [p.bank_code for p in service.pushes_of(session, officer_a, "PUSHED-A")] == ["BANKA"]


# --------------------------------------------------------------------------- uploads


def test_an_upload_keeps_good_rows_and_reports_each_bad_one(
    session: Session, banks: tuple[str, str]
) -> None:
    created = make_list(session, "KJ", members=[uscc(9)])
    good = [uscc(1), uscc(2), uscc(3)]
    wrong_check = uscc(4)[:17] + ("A" if uscc(4)[17] != "A" else "B")
    content = "\n".join(
        [
            "统一社会信用代码,备注",
            f"{good[0]},第一户",
            f"{good[1].lower()},小写也可",  # row 2: case does not matter
            "913310021234,太短",  # row 3
            f"{wrong_check},校验位错",  # row 4
            ",",  # a blank row: skipped, but it keeps its number
            f"{good[0]},重复",  # row 6: repeats row 1
            f"  {good[2]}  ,",  # row 7: spaces trimmed
            f"{good[0]},又重复",  # row 8: the same repeat, reported once
            f"{uscc(9)},已在名单",  # row 9: already on the list
            "9133100212345678IO,字母",  # row 10
        ]
    ).encode("utf-8")

    result = service.upload_members(session, government(session), "KJ", "list.csv", content)

    assert (result.rows, result.added, result.already) == (9, 3, 1)
    assert [(p.row, p.code) for p in result.problems] == [
        (3, "length"),
        (4, "check"),
        (6, "duplicate"),
        (10, "characters"),
    ]
    duplicate = result.problems[2]
    assert "row 1" in duplicate.en
    assert "6, 8" in duplicate.en
    assert "第1行" in duplicate.zh
    assert f"should be {uscc(4)[17]}" in result.problems[1].en
    assert "18" in result.problems[0].zh
    assert _members(session, created.id) == sorted([*good, uscc(9)])
    notes = dict(
        session.execute(
            select(GovListMember.uscc, GovListMember.note).where(
                GovListMember.list_id == created.id
            )
        ).all()
    )
    assert notes[good[0]] == "第一户"


def test_an_xlsx_upload_with_the_chinese_header(session: Session, banks: tuple[str, str]) -> None:
    created = make_list(session, "ZD")
    content = xlsx(
        [["序号", "统一社会信用代码"], [1, uscc(1)], [2, None], [3, uscc(2)], [4, 12345]]
    )
    result = service.upload_members(session, OPERATOR, "ZD", "名单.xlsx", content)
    assert (result.rows, result.added) == (4, 2)
    assert [(p.row, p.code) for p in result.problems] == [(2, "empty"), (4, "length")]
    assert _members(session, created.id) == [uscc(1), uscc(2)]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("a.csv", b"code,name\n91331002123456788L,x\n", "uscc"),
        ("a.csv", b"", "empty"),
        ("a.xlsx", b"PK\x03\x04 not really a workbook", "XLSX"),
        ("a.xls", b"\xd0\xcf\x11\xe0", ".xls"),
    ],
)
def test_a_file_that_cannot_be_read_adds_nothing(
    session: Session, banks: tuple[str, str], name: str, content: bytes, says: str
) -> None:
    created = make_list(session, "BAD")
    with pytest.raises(BadFileError, match=says):
        service.upload_members(session, OPERATOR, "BAD", name, content)
    assert _members(session, created.id) == []


def test_gb18030_csv_is_read(session: Session, banks: tuple[str, str]) -> None:
    created = make_list(session, "GBK")
    content = f"统一社会信用代码,备注\n{uscc(5)},椒江区\n".encode("gb18030")
    result = service.upload_members(session, OPERATOR, "GBK", "gbk.csv", content)
    assert result.added == 1
    assert _members(session, created.id) == [uscc(5)]


def test_an_archived_list_takes_no_members(session: Session, banks: tuple[str, str]) -> None:
    make_list(session, "OLD", members=[uscc(1)], banks=["BANKA"])
    archived = service.archive_list(session, OPERATOR, "OLD")
    assert archived.status == "archived"
    with pytest.raises(service.GovListConflictError):
        service.upload_members(session, OPERATOR, "OLD", "a.csv", f"uscc\n{uscc(2)}\n".encode())
    # The bank still sees it, but it no longer counts in matching or flags.
    assert service.get_list(session, bank_actor(session, "BANKA"), "OLD").status == "archived"
    assert service.pushed_memberships(session) == []
    assert service.flags_for(session, "BANKA", [uscc(1)]) == {}


def test_add_and_remove_one_member(session: Session, banks: tuple[str, str]) -> None:
    created = make_list(session, "ONE")
    assert service.add_member(session, OPERATOR, "ONE", uscc(7).lower()).added == 1
    assert service.add_member(session, OPERATOR, "ONE", uscc(7)).already == 1
    with pytest.raises(service.GovListError, match="valid"):
        service.add_member(session, OPERATOR, "ONE", "91331002123456788X")
    service.remove_member(session, OPERATOR, "ONE", uscc(7))
    assert _members(session, created.id) == []
    with pytest.raises(service.GovListNotFoundError):
        service.remove_member(session, OPERATOR, "ONE", uscc(7))


# --------------------------------------------------------------------------- filters


def _scores(tiers: dict[str, str], old: dict[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE scores (as_of DATE, owner VARCHAR, role VARCHAR, uscc VARCHAR, tier VARCHAR)"
    )
    for day, table in ((date(2026, 6, 30), tiers), (date(2026, 3, 31), old or {})):
        for code, tier in table.items():
            con.execute(
                "INSERT INTO scores VALUES ($1, 'platform', 'champion', $2, $3)", [day, code, tier]
            )
    return con


def test_define_by_profile_filters_and_tiers(session: Session, banks: tuple[str, str]) -> None:
    make_profile(session, uscc(1), industry_code="1391", district="331002")
    make_profile(session, uscc(2), industry_code="1310", district="331003")
    make_profile(session, uscc(3), industry_code="5191", district="331002")
    make_profile(
        session, uscc(4), industry_code="1391", district="331002", entity_type="individual"
    )
    created = make_list(session, "C13", kind="key_support", members=[uscc(9)])

    done = service.define_members(
        session,
        government(session),
        "C13",
        service.Criteria(industries=("13",), entity_types=("enterprise",)),
    )
    assert (done.matched, done.added, done.already) == (2, 2, 0)
    assert _members(session, created.id) == sorted([uscc(1), uscc(2), uscc(9)])
    assert created.criteria == {
        "industries": ["13"],
        "districts": [],
        "entity_types": ["enterprise"],
        "tiers": [],
    }

    # Tiers come from the latest champion scores; an older date does not count.
    tiers = _scores(
        {uscc(1): "growth", uscc(3): "growth", uscc(4): "survival"},
        old={uscc(2): "growth"},
    )
    other = make_list(session, "GROW", kind="first_loan")
    done = service.define_members(
        session,
        OPERATOR,
        "GROW",
        service.Criteria(districts=("331002",), tiers=("growth",)),
        lookup_on(tiers),
    )
    assert done.matched == 2
    assert _members(session, other.id) == [uscc(1), uscc(3)]
    again = service.define_members(
        session, OPERATOR, "GROW", service.Criteria(districts=("331002",), tiers=("growth",)),
        lookup_on(tiers),
    )  # fmt: skip
    assert (again.added, again.already) == (0, 2)


def test_define_refuses_what_it_cannot_do(session: Session, banks: tuple[str, str]) -> None:
    make_list(session, "F")
    with pytest.raises(service.GovListError, match="at least one"):
        service.define_members(session, OPERATOR, "F", service.Criteria())
    with pytest.raises(service.GovListError, match="districts"):
        service.define_members(session, OPERATOR, "F", service.Criteria(districts=("3310",)))
    with pytest.raises(service.GovListConflictError, match="warehouse"):
        service.define_members(session, OPERATOR, "F", service.Criteria(tiers=("growth",)))
    with pytest.raises(service.GovListNotFoundError):  # a bank does not even see a draft
        service.define_members(
            session, bank_actor(session, "BANKA"), "F", service.Criteria(districts=("331002",))
        )


# --------------------------------------------------------------------------- pushes and reads


def test_push_makes_the_list_visible_and_renews(session: Session, banks: tuple[str, str]) -> None:
    make_list(session, "P", members=[uscc(1)])
    with pytest.raises(service.GovListNotFoundError, match="NOBANK"):
        service.push_list(session, OPERATOR, "P", ["BANKA", "NOBANK"])
    with pytest.raises(service.GovListError):
        service.push_list(session, OPERATOR, "P", [" "])
    first = service.push_list(session, government(session), "P", ["BANKA"])
    assert service.get_list(session, OPERATOR, "P").status == "pushed"
    again = service.push_list(session, government(session), "P", ["BANKA", "BANKB"])
    assert first[0].id == again[0].id  # one row per bank
    assert {p.bank_code for p in service.pushes_of(session, OPERATOR, "P")} == {"BANKA", "BANKB"}
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == "P")).all()
    assert actions.count("govlist.push") == 2


def test_members_show_the_readers_pre_credit_limits(
    session: Session, banks: tuple[str, str], tmp_path: Path
) -> None:
    make_product(session, "BANKA", amount_min=Decimal("100000"), amount_max=Decimal("200000"))
    make_product(session, "BANKB")
    # uscc(1) is offered 200,000 by bank A's product and 350,000 by bank B's; uscc(2)'s limit
    # is below bank A's minimum (a near miss is no offer); uscc(3) was not scored.
    make_run(
        session,
        tmp_path,
        region_row(uscc(1), pre_credit_limit=350_000.0),
        region_row(uscc(2), pre_credit_limit=90_000.0),
    )
    make_profile(session, uscc(1), name="甲公司")
    make_list(session, "L", members=[uscc(1), uscc(2), uscc(3)], banks=["BANKA"])

    officer = bank_actor(session, "BANKA")
    seen = {m.uscc: m for m in service.list_members(session, officer, "L").items}
    assert seen[uscc(1)].pre_credit_limit == Decimal("200000.00")  # its own product only
    assert seen[uscc(1)].name == "甲公司"
    assert seen[uscc(2)].pre_credit_limit is None
    assert seen[uscc(3)].products == 0
    everyone = {m.uscc: m for m in service.list_members(session, government(session), "L").items}
    assert everyone[uscc(1)].pre_credit_limit == Decimal("350000.00")
    assert everyone[uscc(1)].products == 2
    reads = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "govlist.members.read")
    ).all()
    assert [(r.actor_bank, r.object_id) for r in reads] == [("BANKA", "L")]


def test_memberships_for_matching_and_white_list_flags(
    session: Session, banks: tuple[str, str]
) -> None:
    make_list(session, "SRDI", kind="srdi", members=[uscc(1), uscc(2)], banks=["BANKA"])
    make_list(session, "FIRST", kind="first_loan", members=[uscc(2), uscc(3)], banks=["BANKB"])
    make_list(session, "DRAFT", kind="srdi", members=[uscc(4)])

    found = {m.code: m for m in service.pushed_memberships(session)}
    assert set(found) == {"SRDI", "FIRST"}
    assert found["SRDI"].members.tolist() == [uscc(1), uscc(2)]
    assert found["SRDI"].banks == frozenset({"BANKA"})
    assert found["SRDI"].feeds("specialized", "BANKA")
    assert found["SRDI"].feeds("list:SRDI", "BANKA")
    assert not found["SRDI"].feeds("specialized", "BANKB")  # not pushed to B
    assert not found["SRDI"].feeds("first_loan", "BANKA")
    assert found["FIRST"].feeds("first_loan", "BANKB")

    assert service.flags_for(session, "BANKA", [uscc(1), uscc(2), uscc(3)]) == {
        uscc(1): ["SRDI"],
        uscc(2): ["SRDI"],
    }
    assert service.flags_for(session, "BANKB", [uscc(2), uscc(4)]) == {uscc(2): ["FIRST"]}


# --------------------------------------------------------------------------- tracking


def test_tracking_counts_members_loans_since_they_were_listed(
    session: Session, banks: tuple[str, str]
) -> None:
    user = make_user(session, "enterprise", uscc=uscc(1)).id
    created = make_list(session, "T", members=[uscc(1), uscc(2), uscc(3), uscc(4)])
    listed = session.scalar(
        select(GovListMember.added_at).where(GovListMember.list_id == created.id)
    )
    assert listed is not None
    before, after = listed - timedelta(days=30), listed + timedelta(hours=1)
    full = {
        "accepted": 2,
        "under_review": 5,
        "approved": 30,
        "contract_signed": 40,
        "disbursed": 50,
    }

    # uscc(1): a first loan at A (approved amount counts), and a later second loan at B.
    make_application(
        session,
        user_id=user,
        uscc=uscc(1),
        bank="BANKA",
        submitted=after,
        stages=full,
        amount="100000",
        approved_amount="80000.50",
    )
    make_application(
        session,
        user_id=user,
        uscc=uscc(1),
        bank="BANKB",
        submitted=after + timedelta(days=10),
        stages=full,
        amount="50000",
    )
    # uscc(2): had a loan before it was listed (not counted), and one after: not a first loan.
    make_application(
        session,
        user_id=user,
        uscc=uscc(2),
        bank="BANKA",
        submitted=before,
        stages=full,
        amount="70000",
    )
    make_application(
        session,
        user_id=user,
        uscc=uscc(2),
        bank="BANKA",
        submitted=after,
        stages=full,
        amount="60000",
    )
    # uscc(3): declined at B.
    make_application(
        session,
        user_id=user,
        uscc=uscc(3),
        bank="BANKB",
        submitted=after,
        stages={"accepted": 1, "under_review": 2, "declined": 3},
    )
    # Not a member: never counted.
    make_application(session, user_id=user, uscc=uscc(8), bank="BANKA", submitted=after,
                     stages=full, amount="999999")  # fmt: skip

    tracked = service.tracking(session, government(session), "T")
    assert tracked.members == 4
    total = tracked.total
    assert (total.applications, total.applied, total.approved) == (4, 3, 2)
    assert (total.disbursed, total.first_loans) == (3, 1)
    assert total.disbursed_amount == Decimal("190000.50")
    by_bank = {row.bank_code: row for row in tracked.banks}
    assert (by_bank["BANKA"].disbursed, by_bank["BANKA"].disbursed_amount) == (
        2,
        Decimal("140000.50"),
    )
    assert by_bank["BANKA"].first_loans == 1
    assert (by_bank["BANKB"].applied, by_bank["BANKB"].approved, by_bank["BANKB"].first_loans) == (
        2,
        1,
        0,
    )

    # A bank that sees the list (once pushed) sees its own applications only.
    service.push_list(session, OPERATOR, "T", ["BANKB"])
    own = service.tracking(session, bank_actor(session, "BANKB"), "T")
    assert own.total.bank_code == "BANKB"
    assert (own.total.applications, own.total.disbursed) == (2, 1)
    assert own.total.disbursed_amount == Decimal("50000.00")
    assert [row.bank_code for row in own.banks] == ["BANKB"]
    with pytest.raises(service.GovListNotFoundError):
        service.tracking(session, bank_actor(session, "BANKA"), "T")


def test_membership_arrays_are_sorted_and_unique(session: Session, banks: tuple[str, str]) -> None:
    make_list(session, "U", members=[uscc(3), uscc(1), uscc(2)], banks=["BANKA"])
    (membership,) = service.pushed_memberships(session)
    assert np.array_equal(membership.members, np.sort(membership.members))
    assert len(set(membership.members.tolist())) == 3

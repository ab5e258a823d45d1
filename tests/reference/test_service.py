from __future__ import annotations

from sqlalchemy.orm import Session

from puhui.reference.service import (
    divisions_named,
    industry_path,
    reference_counts,
    seed_reference_tables,
)


def test_seeding_fills_and_is_idempotent(session: Session) -> None:
    first = seed_reference_tables(session)
    assert first["industries"] == 1971
    assert first["divisions"] > 6000
    assert seed_reference_tables(session) == first
    assert reference_counts(session) == first


def test_industry_path_walks_up_to_the_section(session: Session) -> None:
    seed_reference_tables(session)
    assert [node.code for node in industry_path(session, "6210")] == ["H", "62", "621", "6210"]
    assert industry_path(session, "0000") == []


def test_division_uses_by_year(session: Session) -> None:
    seed_reference_tables(session)
    assert [d.name for d in divisions_named(session, "332600", 1990)] == ["台州地区"]
    assert {d.name for d in divisions_named(session, "332600")} == {"丽水地区", "台州地区"}
    assert divisions_named(session, "331002", 1980) == []

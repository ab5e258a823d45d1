"""Seeding and reading the reference tables of the app database."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from puhui.reference.data import division_uses, industries
from puhui.reference.models import Division, Industry


def seed_reference_tables(session: Session) -> dict[str, int]:
    """Replace the reference tables with the shipped data; returns the row count of each.

    Replacing (not merging) keeps the tables exactly equal to the shipped files, so seeding
    twice changes nothing. The caller commits.
    """
    session.execute(delete(Division))
    session.execute(delete(Industry))
    session.execute(
        insert(Division),
        [
            {
                "code": use.code,
                "name": use.name,
                "level": use.level,
                "province_code": use.province_code,
                "prefecture_code": use.prefecture_code,
                "valid_from": use.valid_from,
                "valid_to": use.valid_to,
            }
            for use in division_uses()
        ],
    )
    session.execute(
        insert(Industry),
        [
            {
                "code": row.code,
                "level": row.level,
                "name_zh": row.name_zh,
                "name_en": row.name_en,
                "parent_code": row.parent,
            }
            for row in industries()
        ],
    )
    session.flush()
    return reference_counts(session)


def reference_counts(session: Session) -> dict[str, int]:
    return {
        "divisions": session.scalar(select(func.count()).select_from(Division)) or 0,
        "industries": session.scalar(select(func.count()).select_from(Industry)) or 0,
    }


def get_industry(session: Session, code: str) -> Industry | None:
    return session.get(Industry, code)


def industry_path(session: Session, code: str) -> list[Industry]:
    """The industry and its ancestors, section first (e.g. H → 62 → 621 → 6210)."""
    path: list[Industry] = []
    node = session.get(Industry, code)
    while node is not None:
        path.append(node)
        node = session.get(Industry, node.parent_code) if node.parent_code else None
    return path[::-1]


def divisions_named(session: Session, code: str, year: int | None = None) -> list[Division]:
    """Every use of a division code, narrowed to those valid in ``year`` when given."""
    query = select(Division).where(Division.code == code)
    if year is not None:
        query = query.where(
            (Division.valid_from.is_(None) | (Division.valid_from <= year))
            & (Division.valid_to.is_(None) | (Division.valid_to >= year))
        )
    return list(session.scalars(query.order_by(Division.valid_from)))

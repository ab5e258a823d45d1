"""Pages of a query: every list the platform serves is read one page at a time.

Services take a :class:`PageRequest` and return a :class:`PageResult` built by
:func:`paginate`; the web layer turns ``?page=&size=`` into the request and the result into
``{items, page, size, total}`` (see :mod:`puhui.web.pagination`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_SIZE = 20
#: No page is larger: a bank's system pages through a long list, it never gets it at once.
MAX_SIZE = 100
#: The last page number asked for: beyond it the offset would overflow a database integer.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class PageRequest:
    """Which page (from 1) of how many rows (1..MAX_SIZE)."""

    page: int = 1
    size: int = DEFAULT_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE or not 1 <= self.size <= MAX_SIZE:
            raise ValueError(f"page must be in 1..{MAX_PAGE} and size in 1..{MAX_SIZE}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass(frozen=True)
class PageResult(Generic[T]):
    """One page of rows and the number of rows in all pages."""

    items: Sequence[T]
    page: int
    size: int
    total: int

    def map(self, convert: Callable[[T], U]) -> PageResult[U]:
        return PageResult([convert(item) for item in self.items], self.page, self.size, self.total)


def paginate(session: Session, statement: Select[T], request: PageRequest) -> PageResult[T]:
    """Run ``statement`` (which must have a total ORDER BY, so pages do not overlap) for one
    page, and count all its rows."""
    counted: Select[Any] = select(func.count()).select_from(statement.order_by(None).subquery())
    total = int(session.execute(counted).scalar_one())
    rows = session.scalars(statement.limit(request.size).offset(request.offset)).all()
    return PageResult(rows, request.page, request.size, total)

"""``?page=&size=`` in, ``{items, page, size, total}`` out: the shape of every API list.

An endpoint takes ``page: PageQuery``, passes it to its service (which returns a
:class:`~puhui.pagination.PageResult`) and answers ``Page[ItemOut].of(result, ItemOut.of)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from puhui.pagination import DEFAULT_SIZE, MAX_PAGE, MAX_SIZE, PageRequest, PageResult

T = TypeVar("T")
D = TypeVar("D")


# A page number from the query string: HTML pages take it as well as the API's lists, so a
# page=0 or page=10**12 is a 422 with a clear message rather than a failure further down.
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page number, from 1")]


def page_request(
    page: PageNumber = 1,
    size: Annotated[
        int, Query(ge=1, le=MAX_SIZE, description=f"items per page, at most {MAX_SIZE}")
    ] = DEFAULT_SIZE,
) -> PageRequest:
    return PageRequest(page=page, size=size)


PageQuery = Annotated[PageRequest, Depends(page_request)]


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    page: int = Field(description="this page's number, from 1")
    size: int = Field(description="items per page asked for")
    total: int = Field(description="items in all pages")

    @classmethod
    def of(cls, result: PageResult[D], convert: Callable[[D], T]) -> Page[T]:
        return cls(
            items=[convert(item) for item in result.items],
            page=result.page,
            size=result.size,
            total=result.total,
        )

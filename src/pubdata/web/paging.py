"""One way to page a list: ?page=N&size=M next to the list's own filters, which every link keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

DEFAULT_SIZE = 20
MAX_SIZE = 100


@dataclass(frozen=True)
class PageRequest:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _page_request(page: int = Query(1, ge=1, le=100_000, description="页码，从 1 起"),
                  size: int = Query(DEFAULT_SIZE, ge=5, le=MAX_SIZE, description="每页条数")) -> PageRequest:
    return PageRequest(page, size)


#: A route parameter: ``paging: Paging``; bad page numbers are refused by FastAPI with the field named.
Paging = Annotated[PageRequest, Depends(_page_request)]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown, for "第 21–40 条，共 135 条"."""
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.total, self.number * self.size)


def paginate(session: Session, stmt: Select[Any], paging: PageRequest, *, scalars: bool = True,
             count: Select[Any] | None = None) -> Page[Any]:
    """The page of ``stmt`` (which must be ordered) and the total it pages through — counted from ``count``
    when given: a statement finding the same rows more cheaply (without a join that only adds columns)."""
    counted = count if count is not None else stmt.order_by(None)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    limited = stmt.limit(paging.size).offset(paging.offset)
    items: Sequence[Any] = list(session.scalars(limited)) if scalars else list(session.execute(limited))
    return Page(items, int(total), paging.number, paging.size)


def page_of(items: Sequence[T], paging: PageRequest) -> Page[T]:
    """Page a list already in memory (a computed queue)."""
    return Page(items[paging.offset:paging.offset + paging.size], len(items), paging.number, paging.size)


def url_with(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None drops one); filters survive paging."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items() if v is not None and v != ""]
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")

"""Pages of the API's lists: ``limit`` and ``offset`` in, ``X-Total-Count`` and ``Link`` out.

A list endpoint still answers a JSON list (the page), so that clients written before paging keep
working; how many exist in all is the ``X-Total-Count`` header, and an RFC 8288 ``Link`` header
points at the next page (``rel="next"``, while more remain) and the previous one (``rel="prev"``,
when ``offset`` is past 0). The query helpers (:mod:`kneeback.web.queries` and the others) take a
:class:`Window` and let the database do the limiting (:func:`select_page`); the pages of the app
ask for :data:`EVERYTHING`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple

from fastapi import Depends, Query, Request, Response
from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session as OrmSession

__all__ = [
    "DEFAULT_LIMIT",
    "EVERYTHING",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "PAGED_RESPONSES",
    "Page",
    "PageWindow",
    "Window",
    "page_window",
    "paged",
    "select_page",
]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: Items per page when the request does not say.
DEFAULT_LIMIT = 50
#: Most items one page may hold.
MAX_LIMIT = 200
#: Largest offset accepted: the databases count rows in signed 64-bit integers.
MAX_OFFSET = 2**63 - 1 - MAX_LIMIT


@dataclass(frozen=True)
class Window:
    """Which part of a list to return.

    Attributes
    ----------
    limit
        Most items to return; None for all of them (the app's pages).
    offset
        How many items to skip from the start of the list.
    """

    limit: int | None = None
    offset: int = 0


#: The whole list.
EVERYTHING = Window()


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and how many items the whole list holds.

    Attributes
    ----------
    items
        The items of the page, in the list's order.
    total
        How many items the list holds in all (on every page).
    """

    items: list[T]
    total: int


def select_page(s: OrmSession, q: Select[*Ts], window: Window, /) -> tuple[list[Row[*Ts]], int]:
    """Run a query for one window of its rows; also count all its rows.

    Parameters
    ----------
    s
        The ORM session (one transaction: the count and the rows agree).
    q
        The query, ordered with a unique tiebreak so that pages neither repeat nor skip rows.
    window
        The part of the rows to return; the database applies LIMIT and OFFSET.

    Returns
    -------
    tuple
        The rows of the window and the number of rows of the whole query.
    """
    if window.limit is None and window.offset == 0:
        rows = list(s.execute(q))
        return rows, len(rows)
    total = s.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    rows = list(s.execute(q.limit(window.limit).offset(window.offset)))
    return rows, int(total)


def page_window(
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_LIMIT,
            description=f"Most items to return, 1 to {MAX_LIMIT}.",
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int,
        Query(ge=0, le=MAX_OFFSET, description="How many items to skip from the start."),
    ] = 0,
) -> Window:
    """Return the window a list request asks for (a dependency; 422 for values out of range)."""
    return Window(limit=limit, offset=offset)


#: A route parameter: the ``limit`` and ``offset`` query parameters of a list endpoint.
PageWindow = Annotated[Window, Depends(page_window)]

#: The headers of a paged list, for the OpenAPI schema; a route lists them with the 422 of a
#: ``limit`` or ``offset`` out of range as :data:`kneeback.web.openapi.LIST_RESPONSES`.
PAGED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page of the list (a JSON list, in the list's order).",
        "headers": {
            "X-Total-Count": {
                "description": "How many items the whole list holds.",
                "schema": {"type": "integer", "minimum": 0},
            },
            "Link": {
                "description": (
                    'RFC 8288 links, relative to the request: rel="next" while more items '
                    'remain, rel="prev" when offset is past 0; absent when neither applies.'
                ),
                "schema": {"type": "string"},
            },
        },
    }
}


def _link(request: Request, limit: int, offset: int, rel: str) -> str:
    url = request.url.include_query_params(limit=limit, offset=offset)
    return f'<{url.path}?{url.query}>; rel="{rel}"'


def paged(request: Request, response: Response, page: Page[T], window: Window, /) -> list[T]:
    """Put a page's ``X-Total-Count`` and ``Link`` headers on the response; return its items.

    Parameters
    ----------
    request
        The list request (its path and other query parameters are kept in the links).
    response
        The response FastAPI sends (the route's ``Response`` parameter).
    page
        The page and the list's total.
    window
        The window the request asked for (with a limit).

    Returns
    -------
    list
        The page's items: the response body.
    """
    limit = window.limit if window.limit is not None else max(1, len(page.items))
    response.headers["X-Total-Count"] = str(page.total)
    links = []
    if window.offset + limit < page.total:
        links.append(_link(request, limit, window.offset + limit, "next"))
    if window.offset > 0:
        links.append(_link(request, limit, max(0, window.offset - limit), "prev"))
    if links:
        response.headers["Link"] = ", ".join(links)
    return page.items

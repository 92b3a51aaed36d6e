"""Pages of every list route, the way GitHub's REST API pages them (issue 18).

Each list route declares `page: PageParams` (FastAPI reads `?per_page=` and `?page=` and
documents both in the OpenAPI schema) and returns `page.slice(items)`, or, when the store
pages in SQL (the runs), `page.answer(items, total)`. The body stays the JSON array it always
was; the position travels in the `Link` header, as on GitHub: `<url>; rel="prev"`, `…
rel="next"`, `… rel="last"`, `… rel="first"`, in that order, each URL the request's own with
`page` (and the effective `per_page`) replaced, absent when every item fits on one page;
the first page has no prev/first, the last no next/last. `per_page` defaults to 30; above
100 it counts as 100, as GitHub's does (the links then say `per_page=100`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response
from starlette.datastructures import URL

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One request's page: `per_page` items from `offset`; writes the Link header."""

    number: int
    per_page: int
    request: Request
    response: Response

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    def answer(self, items: list[T], total: int) -> list[T]:
        """`items` (this page, already cut) with the Link header for `total` items."""
        link = link_header(str(self.request.url), self.number, self.per_page, total)
        if link:
            self.response.headers["Link"] = link
        return items

    def slice(self, items: Sequence[T]) -> list[T]:
        """This page of `items` (a list the store returns whole: a short one)."""
        return self.answer(list(items[self.offset : self.offset + self.per_page]), len(items))

    def slice_mapping(self, items: Mapping[str, T]) -> dict[str, T]:
        """This page of a name → value listing (variables), by name."""
        names = self.slice(sorted(items))
        return {name: items[name] for name in names}


def link_header(url: str, number: int, per_page: int, total: int) -> str:
    """GitHub's `Link` value for page `number` of `total` items, "" on a single page."""
    last = max(1, -(-total // per_page))
    if last == 1 and number == 1:
        return ""
    rels: list[tuple[str, int]] = []
    if number > 1:
        rels.append(("prev", min(number - 1, last)))
    if number < last:
        rels += [("next", number + 1), ("last", last)]
    if number > 1:
        rels.append(("first", 1))
    return ", ".join(f'<{_with_page(url, page, per_page)}>; rel="{rel}"' for rel, page in rels)


def _with_page(url: str, page: int, per_page: int) -> str:
    return str(URL(url).include_query_params(page=page, per_page=per_page))


def _page(
    request: Request,
    response: Response,
    per_page: Annotated[
        int,
        Query(ge=1, description="Items per page: default 30; more than 100 counts as 100."),
    ] = DEFAULT_PER_PAGE,
    page: Annotated[int, Query(ge=1, description="The page, from 1 (see the Link header).")] = 1,
) -> Page:
    return Page(
        number=page, per_page=min(per_page, MAX_PER_PAGE), request=request, response=response
    )


PageParams = Annotated[Page, Depends(_page)]

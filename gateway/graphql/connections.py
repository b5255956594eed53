"""Relay connections built from service pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway.reads.pagination import Page


def connection(page: Page[Any], count: Callable[[], Awaitable[int]]) -> dict[str, Any]:
    """A connection value; `totalCount` runs its query only when the field is selected.

    graphql-core's default resolver calls a callable field value, so the count is a
    closure rather than a number computed up front.
    """
    edges = [{"cursor": c, "node": n} for c, n in zip(page.cursors, page.items, strict=True)]
    return {
        "edges": edges,
        "page_info": {
            "has_next_page": page.has_next,
            "has_previous_page": False,
            "start_cursor": page.cursors[0] if page.cursors else None,
            "end_cursor": page.cursors[-1] if page.cursors else None,
        },
        "total_count": lambda _info: count(),
    }

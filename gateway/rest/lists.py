"""List responses: `{"data": [...], "page": {...}}` and the `Link: rel="next"` header."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gateway.pagination import Page
from gateway.responses import JSONResponse


def list_response(request: Request, page: Page[Any], limit: int) -> JSONResponse:
    """The list body with its page object, and a Link to the next page when there is one."""
    meta: dict[str, Any] = {"limit": limit, "next_cursor": page.next_cursor}
    if page.total is not None:
        meta["total"] = page.total
    headers = {}
    if page.next_cursor is not None:
        next_url = request.url.include_query_params(after=page.next_cursor)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return JSONResponse({"data": page.items, "page": meta}, headers=headers)

"""Read responses: `{"data": ...}` and lists with `page` and `Link: rel="next"`, shaped by
`fields` (sparse fieldsets)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response

from gateway.http import etags
from gateway.http.responses import JSONResponse, json_bytes
from gateway.reads.pagination import Page


def list_response(
    request: Request,
    page: Page[Any],
    limit: int,
    *,
    fields: Sequence[str] | None = None,
    keep: Sequence[str] = (),
) -> JSONResponse:
    """The list body with its page object, and a Link to the next page when there is one.

    With `fields`, each item keeps only those properties, its `id` and the `keep` ones
    (relations the client asked to include).
    """
    items = page.items if fields is None else [sparse(item, fields, keep) for item in page.items]
    meta: dict[str, Any] = {"limit": limit, "next_cursor": page.next_cursor}
    if page.total is not None:
        meta["total"] = page.total
    headers = {}
    if page.next_cursor is not None:
        headers["Link"] = next_link(request, page.next_cursor)
    return JSONResponse({"data": items, "page": meta}, headers=headers)


def next_link(request: Request, cursor: str) -> str:
    """The `Link` header value pointing at the page after `cursor`."""
    return f'<{next_page_url(request, cursor)}>; rel="next"'


def next_page_url(request: Request, cursor: str) -> str:
    """This request's path and query with `after=cursor`: relative (RFC 8288 allows it), or
    under PUBLIC_URL. Never the request's Host, which a client chooses and a shared cache
    would hand to everyone.

    The query keeps the request's other parameters in their order, re-encoded, with
    `after` last: what Starlette's `URL.include_query_params` gives, without building and
    re-parsing URLs. A cursor is base64url, so it goes in as it is."""
    scope = request.scope
    # As Starlette's URL writes the (decoded) path.
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = _AFTER.sub("", scope["query_string"].decode("utf-8", "replace"))
    kept = _kept_query(query) if len(query) <= _REMEMBERED else _kept(query)
    public_url: str | None = scope["state"]["resources"].settings.public_url
    return f"{public_url or ''}{path}?{kept}{'&' if kept else ''}after={cursor}"


# The `after` a next link wrote (one base64url value), taken out before the look-up below so
# that every page of one list shares an entry; any other spelling is dropped by the parse.
_AFTER = re.compile(r"(?:(?<=&)|^)after=[A-Za-z0-9_-]*(?:&|$)")


_REMEMBERED = 512
"""Queries up to this length are remembered: at most 1,024 of them, a few MB at worst."""


def _kept(query: str) -> str:
    """The query string without `after`, parsed and encoded as Starlette does."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(name, value) for name, value in pairs if name != "after"])


_kept_query = functools.lru_cache(maxsize=1024)(_kept)


def item_response(
    item: dict[str, Any], *, fields: Sequence[str] | None = None, keep: Sequence[str] = ()
) -> JSONResponse:
    """One resource as `{"data": ...}`, with only `fields` (and `id`, and `keep`) when given."""
    return JSONResponse({"data": item if fields is None else sparse(item, fields, keep)})


def sparse(item: dict[str, Any], fields: Sequence[str], keep: Sequence[str] = ()) -> dict[str, Any]:
    """`item` with only `id`, `fields` and `keep`, in the item's own order."""
    wanted = {"id", *fields, *keep}
    return {name: value for name, value in item.items() if name in wanted}


def tagged(content: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response carrying the ETag of its own body."""
    body = json_bytes(content)
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={**(headers or {}), "ETag": etags.of(body)},
    )

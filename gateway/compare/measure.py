"""What one HTTP exchange cost: bytes on the wire, server-reported figures, and over-fetch.

Over-fetch is computed, not estimated: each received JSON document is projected onto the
fields the scenario needs (per entity: product, category, review...), and the share of
received bytes that the projection does not keep is what the client fetched for nothing.
"""

from __future__ import annotations

import re
from typing import Any, Final

import httpx
import orjson

from gateway.compare.network import RUNNER_HEADERS
from gateway.compare.scenarios import Needs

# Keys that hold an entity of a known kind, in either style (REST snake_case, GraphQL
# camelCase converted): the projection switches to that entity's needed fields below them.
ENTITY_OF: Final = {
    "product": "product",
    "products": "product",
    "category": "category",
    "categories": "category",
    "parent": "category",
    "children": "category",
    "tag": "tag",
    "tags": "tag",
    "review": "review",
    "reviews": "review",
    "author": "user",
    "customer": "user",
    "user": "user",
    "users": "user",
    "me": "user",
    "account": "user",
    "order": "order",
    "orders": "order",
    "items": "order_item",
    "errors": "error",
    "page": "page",
    "page_info": "page",
}
# Envelopes that carry their parent's entity: REST `data`, Relay `edges` and `node`.
TRANSPARENT: Final = frozenset({"data", "edges", "node"})
_EMPTY: Final = object()
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(key: str) -> str:
    """`ratingAvg` → `rating_avg`, so both styles' keys meet one field list."""
    return _CAMEL.sub("_", key).lower()


def entity_of_path(path: str) -> str | None:
    """The entity a REST path answers with: `/api/v1/products/3/reviews` → `review`."""
    words = [p for p in path.split("?")[0].split("/") if p and not p.isdigit()]
    return ENTITY_OF.get(words[-1]) if words else None


def needed_bytes(document: Any, root: str | None, needs: Needs) -> int:
    """Serialized size of `document` projected onto the needed fields (0: nothing needed)."""
    projected = _project(document, root, needs)
    return 0 if projected is _EMPTY else len(orjson.dumps(projected))


def _is_container(value: Any) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(isinstance(v, dict | list) for v in value)


def _project(value: Any, entity: str | None, needs: Needs) -> Any:
    if isinstance(value, list):
        kept = [p for p in (_project(v, entity, needs) for v in value) if p is not _EMPTY]
        return kept or _EMPTY
    if not isinstance(value, dict):
        return _EMPTY
    wanted = needs.get(entity or "", frozenset())
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = snake(key)
        if name in TRANSPARENT:
            child: str | None = entity
        else:
            child = ENTITY_OF.get(name, name)
        if _is_container(item):
            projected = _project(item, child, needs)
            if projected is not _EMPTY:
                out[key] = projected
        elif name in wanted or (name in ENTITY_OF and ENTITY_OF[name] in needs):
            # A needed field, or an empty or null relation the client asked for
            # (`tags: []`, `parent: null`, `errors: []`): knowing it is empty is the answer.
            out[key] = item
    return out or _EMPTY


def request_wire_bytes(request: httpx.Request) -> int:
    """Request line, headers and body as HTTP/1.1 puts them on the wire, without the
    headers only the runner sends for its own bookkeeping (the seals that charge its calls
    to whoever asked for the run and mark them as its own, and the request id that finds
    their statements), which no real client sends."""
    line = f"{request.method} {request.url.raw_path.decode('ascii')} HTTP/1.1\r\n"
    headers = [(k, v) for k, v in request.headers.raw if k.lower() not in RUNNER_HEADERS]
    return len(line) + _headers_size(headers) + len(request.content)


def response_wire_bytes(response: httpx.Response) -> int:
    """Status line, headers and body (as downloaded, before any decoding) of a response."""
    line = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
    return len(line) + _headers_size(response.headers.raw) + response.num_bytes_downloaded


def _headers_size(raw: list[tuple[bytes, bytes]]) -> int:
    # "name: value\r\n" per header, then the blank line that ends the head.
    return sum(len(name) + 2 + len(value) + 2 for name, value in raw) + 2


def query_count(response: httpx.Response) -> int:
    """SQL statements the server ran for this request (`X-Query-Count`; 0 when absent)."""
    raw = response.headers.get("x-query-count", "")
    return int(raw) if raw.isdigit() else 0


def server_ms(response: httpx.Response) -> float:
    """The server's own time for this request: `app;dur=` of `Server-Timing` (0 when absent)."""
    return _timing(response, "app")


def db_ms(response: httpx.Response) -> float:
    """The server's database time for this request: `db;dur=` of `Server-Timing` (or 0)."""
    return _timing(response, "db")


def _timing(response: httpx.Response, metric: str) -> float:
    for entry in response.headers.get("server-timing", "").split(","):
        name, _, params = entry.strip().partition(";")
        if name != metric:
            continue
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur":
                try:
                    return float(value)
                except ValueError:
                    return 0.0
    return 0.0


def cache_outcome(response: httpx.Response) -> str:
    """`X-Cache` as sent (HIT, MISS, BYPASS, MIXED...), or `none` when the server sent none."""
    return str(response.headers.get("x-cache", "none"))

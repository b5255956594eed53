"""Cross-origin access (CORS) for browser pages on the origins `CORS_ALLOW_ORIGINS` lists.

Written here rather than taken from Starlette: its CORSMiddleware answers a preflight from
any origin (400 with the allowed methods listed, CORS headers included), lists one set of
methods for every path and answers preflights 200 in plain text. Here:

- A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
  origin is answered 204 with the methods its path serves, the request headers the API
  reads, and how long the browser may keep the answer. From any other origin it goes on
  to the app like any OPTIONS request (405), with nothing CORS about it.
- Every other answer to an allowed origin lets that origin read it, and the headers
  clients need (ETag, Link, Location, rate limits, request id, cost figures).
- Answers differ by Origin, so each one says `Vary: Origin` for shared caches; with `*`
  they do not (every answer allows every origin), and with no origin configured there is
  nothing CORS at all. No cookies are used, so credentials are never allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
)
"""Request headers the API reads that a page would otherwise not be allowed to send."""

EXPOSE_HEADERS = (
    "ETag",
    "Link",
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Request-ID",
    "X-Query-Count",
    "X-Cache",
    "X-Cache-Level",
    "Server-Timing",
    "Idempotent-Replayed",
)
"""Response headers a page's script may read beyond the CORS-safelisted ones."""

MAX_AGE = 600
"""Seconds a browser may reuse a preflight answer (Chromium caps it at 7200)."""


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> set[str] | None:
    """The methods the route at the request's path serves; None where no route is."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            found = allowed_methods(route.routes, {**scope, **child})
            if found is not None:
                return found
        elif isinstance(route, Route) and route.methods:
            return set(route.methods)
    return None

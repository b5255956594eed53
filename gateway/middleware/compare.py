"""Compare runs' own calls: a server-signed seal turns on statement tracing, and cold mode.

The compare runner marks each measured call with `X-Gateway-Compare`, a value only this
server can sign (`TokenIssuer.compare_seal`, minted by /compare/run, or by /compare/seal
for whoever may run compare). On such a call the request's `telemetry.RequestStats` gets
`trace` (keep each statement's name and text) and, for a "cold" seal, `cold`, which the
caches honour by neither reading nor storing. Once the answer is out, the statements are
kept under the request id (`gateway.services.traces`), where only a sealed call of
/compare/statements reads them: SQL text never travels in an answer of the API itself.
A missing, forged or expired seal changes nothing: the request is served as any other.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import telemetry
from gateway.services import traces
from gateway.types import Resources

COMPARE_HEADER = b"x-gateway-compare"


class CompareCallMiddleware:
    """Honour a valid compare seal; must sit inside RequestContextMiddleware (the counters)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stats = telemetry.current()
        resources: Resources | None = scope.get("state", {}).get("resources")
        seal = compare_seal(scope) if scope["type"] == "http" else None
        if seal is None or stats is None or resources is None:
            await self.app(scope, receive, send)
            return
        mode = resources.tokens.compare_mode(seal)
        if mode is None:
            await self.app(scope, receive, send)
            return
        stats.cold = mode == "cold"
        stats.trace = []
        try:
            await self.app(scope, receive, send)
        finally:
            await traces.keep(resources, stats)


def compare_seal(scope: Scope) -> str | None:
    """The `X-Gateway-Compare` header's value as sent (unverified), or None."""
    for key, value in scope["headers"]:
        if key == COMPARE_HEADER:
            return bytes(value).decode("latin-1")
    return None

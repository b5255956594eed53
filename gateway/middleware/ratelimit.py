"""Rate limiting for REST: one operation per request under /api/, against the caller's allowance.

GraphQL is charged per root field by its endpoint, which is the only place that knows
how many operations one request holds.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import RateLimited
from gateway.middleware.authentication import identity_of
from gateway.responses import problem_response
from gateway.types import Resources

_READS = {"GET", "HEAD", "OPTIONS"}


class RateLimitMiddleware:
    """Answer 429 with Retry-After once a caller's allowance is spent; report RateLimit-*."""

    def __init__(self, app: ASGIApp, *, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        resources: Resources = scope["state"]["resources"]
        decision = await resources.limiter.charge(
            identity_of(scope), read_only=scope["method"] in _READS
        )
        if not decision.allowed:
            response = problem_response(RateLimited(decision.reset))
            response.headers.update(decision.headers())
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and decision.enforced:
                headers = MutableHeaders(scope=message)
                # A refusal by another allowance (sign-in failures) reports that one.
                if "ratelimit-limit" not in headers:
                    headers.update(decision.headers())
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""HTTP caching for REST reads: a strong ETag on every GET 200, preconditions, Cache-Control.

The ETag is the hash of the exact body (`gateway.etags`), so it needs no cooperation
from handlers and changes whenever the representation does. Cache-Control follows who
asked: an anonymous catalogue read may be kept by any cache for a short while; anything
requested with credentials is per user and must not be stored. A handler that set its
own Cache-Control (orders, the caller's account) keeps it.

Preconditions are judged in the order of RFC 9110 §13.2.2, and only on what would have
been a 200 (a 404 stays a 404): If-Match first (no current tag listed: 412; a header with
no entity tag in it: 400), then If-None-Match (a current tag listed, or `*`: 304).
If-Modified-Since and If-Unmodified-Since are ignored, as §13.1.3-4 require of a server
that sends no Last-Modified. Writes judge their own preconditions (`gateway.rest.spec`).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import etags
from gateway.errors import InvalidParameter, PreconditionFailed
from gateway.responses import problem_response

PRIVATE = "private, no-store"


class HTTPCacheMiddleware:
    """ETag, If-Match, If-None-Match and Cache-Control for GET/HEAD under the given prefixes."""

    def __init__(
        self, app: ASGIApp, *, prefixes: tuple[str, ...] = ("/api/",), max_age: int = 30
    ) -> None:
        self.app = app
        self.prefixes = prefixes
        self.public = f"public, max-age={max_age}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith(self.prefixes)
        ):
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        policy = PRIVATE if "authorization" in request_headers else self.public
        condition = Conditions(
            request_headers.get("if-match"), request_headers.get("if-none-match")
        )
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    await send(message)
                    return
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _finish(scope, receive, send, start, b"".join(chunks), policy, condition)

        await self.app(scope, receive, buffered_send)


class Conditions:
    """The If-Match and If-None-Match a read came with."""

    __slots__ = ("if_match", "if_none_match")

    def __init__(self, if_match: str | None, if_none_match: str | None) -> None:
        self.if_match = if_match
        self.if_none_match = if_none_match


async def _finish(
    scope: Scope,
    receive: Receive,
    send: Send,
    start: Message,
    body: bytes,
    policy: str,
    condition: Conditions,
) -> None:
    headers = MutableHeaders(scope=start)
    etag = headers.get("etag") or etags.of(body)
    headers["ETag"] = etag
    if "cache-control" not in headers:
        headers["Cache-Control"] = policy
    if condition.if_match is not None:
        if etags.parse(condition.if_match) is None:
            error: InvalidParameter | PreconditionFailed = InvalidParameter(
                "If-Match", 'must be "*" or ETags as GET sent them, quoted'
            )
            await problem_response(error)(scope, receive, send)
            return
        if not etags.match(condition.if_match, etag):
            error = PreconditionFailed(
                "If-Match names no current ETag of this resource: it has changed, or the tag "
                "belongs to another representation."
            )
            await problem_response(error)(scope, receive, send)
            return
    if condition.if_none_match is not None and etags.none_match(condition.if_none_match, etag):
        # 304 keeps the validators and caching headers, and carries no body (RFC 9110 §15.4.5).
        kept = [
            (name, value)
            for name, value in start["headers"]
            if name.lower() in (b"etag", b"cache-control", b"vary")
        ]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send(start)
    await send({"type": "http.response.body", "body": body})

"""HTTP caching for REST reads: a strong ETag on every GET 200, 304 on a match, Cache-Control.

The ETag is the hash of the exact body (`gateway.etags`), so it needs no cooperation
from handlers and changes whenever the representation does. Cache-Control follows who
asked: an anonymous catalogue read may be kept by any cache for a short while; anything
requested with credentials is per user and must not be stored. A handler that set its
own Cache-Control (orders, the caller's account) keeps it.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import etags

PRIVATE = "private, no-store"


class HTTPCacheMiddleware:
    """ETag, If-None-Match and Cache-Control for GET/HEAD under the given path prefixes."""

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
        condition = request_headers.get("if-none-match")
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
                await _finish(send, start, b"".join(chunks), policy, condition)

        await self.app(scope, receive, buffered_send)


async def _finish(
    send: Send, start: Message, body: bytes, policy: str, condition: str | None
) -> None:
    headers = MutableHeaders(scope=start)
    etag = headers.get("etag") or etags.of(body)
    headers["ETag"] = etag
    if "cache-control" not in headers:
        headers["Cache-Control"] = policy
    if condition is not None and etags.none_match(condition, etag):
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

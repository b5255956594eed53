"""Idempotency-Key on REST POSTs: run the first request, replay its response to retries.

The first response (status, headers, exact body) is kept for 24 h unless it is a server
error, which a retry should be free to fix. A retry with the same key and the same
request gets it back with `Idempotent-Replayed: true`; the same key on a different
request is 422 IDEMPOTENCY_KEY_REUSED. A duplicate that arrives while the first still
runs waits for it briefly, then gets 409 CONFLICT. When the cache cannot answer, the
request runs without idempotency and says so with `X-Idempotency: BYPASS` (and a log
line) rather than failing. The protocol itself is `gateway.idempotency.run_once`, which
GraphQL mutations share.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import GatewayError
from gateway.idempotency import HEADER, IdempotencyStore, Stored, client_key, fingerprint, run_once
from gateway.middleware.authentication import identity_of
from gateway.responses import problem_response
from gateway.types import Resources


class IdempotencyMiddleware:
    """Honour `Idempotency-Key` on POST requests under `prefix`."""

    def __init__(self, app: ASGIApp, *, prefix: str = "/api/", wait: float = 2.0) -> None:
        self.app = app
        self.prefix = prefix
        self.wait = wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        keys = headers.getlist(HEADER)
        if not keys:
            await self.app(scope, receive, send)
            return
        try:
            given = client_key(keys)
        except GatewayError as error:
            await problem_response(error)(scope, receive, send)
            return
        body = await _read_body(receive)
        content_type = headers.get("content-type", "").encode("latin-1")
        resources: Resources = scope["state"]["resources"]
        store = IdempotencyStore(resources.cache, resources.settings.cache_prefix)
        key = store.key(identity_of(scope), "POST", scope["path"], given)
        digest = fingerprint("POST", scope["path"], scope["query_string"], content_type, body)

        async def run() -> tuple[Stored, bool]:
            response = await _capture(self.app, scope, _replaying(body, receive), digest)
            return response, response.status < 500

        try:
            outcome = await run_once(store, key, digest, run, wait=self.wait)
        except GatewayError as error:
            await problem_response(error)(scope, receive, send)
            return
        extra = [(b"idempotent-replayed", b"true")] if outcome.replayed else []
        if outcome.bypassed:
            extra.append((b"x-idempotency", b"BYPASS"))
        response = outcome.response
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [*response.headers, *extra],
            }
        )
        await send({"type": "http.response.body", "body": response.body})


async def _capture(app: ASGIApp, scope: Scope, receive: Receive, digest: str) -> Stored:
    """Run the app and keep what it answered instead of sending it."""
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return Stored(digest, start["status"], list(start["headers"]), b"".join(chunks))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the app, then defers to the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

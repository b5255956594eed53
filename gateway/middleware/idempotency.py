"""Idempotency-Key on REST POSTs: run the first request, replay its response to retries.

The first response (status, headers, exact body) is kept for 24 h unless it is a server
error, which a retry should be free to fix. A retry with the same key and the same
request gets it back with `Idempotent-Replayed: true`; the same key on a different
request is 422 IDEMPOTENCY_KEY_REUSED. A duplicate that arrives while the first still
runs waits for it briefly, then gets 409 CONFLICT. When the cache cannot answer, the
request runs without idempotency and says so with `X-Idempotency: BYPASS` (and a log
line) rather than failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.cache import CacheUnavailable
from gateway.errors import Conflict, GatewayError, IdempotencyKeyReused, InvalidParameter
from gateway.idempotency import IdempotencyStore, Stored, fingerprint
from gateway.middleware.authentication import identity_of
from gateway.responses import problem_response
from gateway.types import Resources

log = logging.getLogger("gateway.idempotency")

HEADER = b"idempotency-key"
_VALID = re.compile(rb"[\x21-\x7e]{1,255}")
_POLL = 0.05


class IdempotencyMiddleware:
    """Honour `Idempotency-Key` on POST requests under `prefix`."""

    def __init__(self, app: ASGIApp, *, prefix: str = "/api/", wait: float = 2.0) -> None:
        self.app = app
        self.prefix = prefix
        self.wait = wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        keys = [v for k, v in scope.get("headers", ()) if k == HEADER]
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.prefix)
            or not keys
        ):
            await self.app(scope, receive, send)
            return
        if len(keys) > 1 or not _VALID.fullmatch(keys[0]):
            error = InvalidParameter(
                "Idempotency-Key", "send one key of 1 to 255 visible ASCII characters"
            )
            await problem_response(error)(scope, receive, send)
            return
        body = await _read_body(receive)
        replay_receive = _replaying(body, receive)
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        resources: Resources = scope["state"]["resources"]
        store = IdempotencyStore(resources.cache, resources.settings.cache_prefix)
        key = store.key(identity_of(scope), "POST", scope["path"], keys[0].decode("ascii"))
        digest = fingerprint("POST", scope["path"], scope["query_string"], content_type, body)
        try:
            stored = await self._claim(store, key, digest)
        except CacheUnavailable as exc:
            log.warning("idempotency unavailable (%s); serving without it", exc)
            await self.app(scope, replay_receive, _with_header(send, b"x-idempotency", b"BYPASS"))
            return
        except GatewayError as error:
            await problem_response(error)(scope, receive, send)
            return
        if stored is not None:
            await _send(
                send,
                stored.status,
                [*stored.headers, (b"idempotent-replayed", b"true")],
                stored.body,
            )
            return
        await self._run_and_keep(scope, replay_receive, send, store, key, digest)

    async def _claim(self, store: IdempotencyStore, key: str, digest: str) -> Stored | None:
        """The response to replay, or None once this request holds the lock and must run."""
        deadline = time.monotonic() + self.wait
        while True:
            stored = await store.find(key)
            if stored is None and await store.lock(key, digest):
                # The first may have finished between our look and our lock: look again.
                stored = await store.find(key)
                if stored is None:
                    return None
                await store.unlock(key)
            if stored is not None:
                if stored.fingerprint != digest:
                    raise IdempotencyKeyReused(_REUSED)
                return stored
            holder = await store.holder(key)
            if holder is not None and holder != digest:
                raise IdempotencyKeyReused(_REUSED)
            if time.monotonic() >= deadline:
                busy = Conflict("A request with this Idempotency-Key is still in progress.")
                busy.retry_after = 1
                raise busy
            await asyncio.sleep(_POLL)

    async def _run_and_keep(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        store: IdempotencyStore,
        key: str,
        digest: str,
    ) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
            status, headers, body = start["status"], list(start["headers"]), b"".join(chunks)
            if status < 500:
                try:
                    await store.save(key, Stored(digest, status, headers, body))
                except CacheUnavailable as exc:
                    log.warning("idempotency record not kept (%s)", exc)
                    headers.append((b"x-idempotency", b"BYPASS"))
        finally:
            with contextlib.suppress(CacheUnavailable):
                await store.unlock(key)
        await _send(send, status, headers, body)


_REUSED = (
    "This Idempotency-Key was already used for a different request; "
    "use a new key for a new request."
)


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


def _with_header(send: Send, name: bytes, value: bytes) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message["headers"], (name, value)]}
        await send(message)

    return wrapped


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

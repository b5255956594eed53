"""Idempotency keys: the first response to a keyed request, kept in the cache for a replay.

A record is keyed by who asked (user, else client address), the method, the path and
a hash of the client's key, and remembers a fingerprint of the request (query, content
type, body; a JSON body by what it says, so key order and whitespace do not matter) so
the same key on a different request is told apart. While the first request runs, a short
lock under the same key keeps a concurrent duplicate from running it a second time.

`run_once` is the whole protocol, shared by REST POSTs (the middleware) and GraphQL
mutations (the endpoint): replay a kept response, refuse a reused key (422) or a
duplicate still running after `wait` (409), else run the request and keep its response
unless it failed on the server's side. All of it goes through `gateway.cache`, so it
shares that module's timeouts and circuit breaker: when the cache cannot answer, the
request runs without idempotency and the outcome says so (`bypassed`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from gateway.cache import Cache, CacheUnavailable
from gateway.errors import Conflict, IdempotencyKeyReused, InvalidParameter

log = logging.getLogger("gateway.idempotency")

HEADER = "idempotency-key"
_VALID = re.compile(r"[\x21-\x7e]{1,255}")
_POLL = 0.05
_REUSED = (
    "This Idempotency-Key was already used for a different request; "
    "use a new key for a new request."
)

RECORD_TTL = 24 * 3600.0
"""How long a response is replayed (seconds)."""
LOCK_TTL = 30.0
"""Longest a lock outlives a request that died holding it (statement timeout is 5 s)."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A response as it was first sent: status, headers and the exact body."""

    fingerprint: str
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def client_key(values: list[str]) -> str:
    """The one Idempotency-Key a request sent; InvalidParameter unless it is 1-255 visible
    ASCII characters, sent once."""
    if len(values) != 1 or not _VALID.fullmatch(values[0]):
        raise InvalidParameter(
            "Idempotency-Key", "send one key of 1 to 255 visible ASCII characters"
        )
    return values[0]


def fingerprint(method: str, path: str, query: bytes, content_type: bytes, body: bytes) -> str:
    """A hash of everything that makes two requests the same request.

    A JSON body counts by what it says: parsed and written again with sorted keys, so
    `{"a":1, "b":2}` and `{"b": 2, "a": 1}` are the same request."""
    if content_type.split(b";")[0].strip().lower() == b"application/json":
        try:
            body = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
            content_type = b"application/json"
        except orjson.JSONDecodeError:
            pass
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, content_type, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    """Records and locks for one cache namespace."""

    def __init__(self, cache: Cache, prefix: str) -> None:
        self.cache = cache
        self.prefix = prefix

    def key(self, identity: str, method: str, path: str, client_key: str) -> str:
        """The record's key; the client's key is hashed so any printable key fits."""
        hashed = hashlib.sha256(client_key.encode()).hexdigest()[:32]
        scope = hashlib.sha256(f"{identity}\n{method}\n{path}".encode()).hexdigest()[:32]
        return f"{self.prefix}:idem:{scope}:{hashed}"

    async def find(self, key: str) -> Stored | None:
        """The stored response for `key`, if any. Raises CacheUnavailable."""
        raw = await self.cache.get(key)
        if raw is None:
            return None
        data = orjson.loads(raw)
        return Stored(
            fingerprint=data["fingerprint"],
            status=data["status"],
            headers=[(n.encode("latin-1"), v.encode("latin-1")) for n, v in data["headers"]],
            body=base64.b64decode(data["body"]),
        )

    async def save(self, key: str, stored: Stored) -> None:
        """Keep `stored` for RECORD_TTL. Raises CacheUnavailable."""
        data = {
            "fingerprint": stored.fingerprint,
            "status": stored.status,
            "headers": [(n.decode("latin-1"), v.decode("latin-1")) for n, v in stored.headers],
            "body": base64.b64encode(stored.body).decode("ascii"),
        }
        await self.cache.set(key, orjson.dumps(data), RECORD_TTL)

    async def lock(self, key: str, fingerprint: str) -> bool:
        """Take the in-progress lock for `key`; False if another request holds it."""
        return await self.cache.set_if_absent(f"{key}:lock", fingerprint.encode(), LOCK_TTL)

    async def holder(self, key: str) -> str | None:
        """The fingerprint of the request holding the lock, if one does."""
        raw = await self.cache.get(f"{key}:lock")
        return None if raw is None else raw.decode()

    async def unlock(self, key: str) -> None:
        """Release the lock (it would expire anyway)."""
        await self.cache.delete(f"{key}:lock")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to send: the response, whether it is a replay, and whether the cache failed us."""

    response: Stored
    replayed: bool = False
    bypassed: bool = False


async def run_once(
    store: IdempotencyStore,
    key: str,
    digest: str,
    run: Callable[[], Awaitable[tuple[Stored, bool]]],
    *,
    wait: float = 2.0,
) -> Outcome:
    """Run a keyed request at most once: `run` gives its response and whether to keep it.

    Raises IdempotencyKeyReused when the key belongs to another request, and Conflict (with
    Retry-After) when a duplicate still runs after `wait` seconds.
    """
    try:
        found = await _claim(store, key, digest, wait)
    except CacheUnavailable as exc:
        log.warning("idempotency unavailable (%s); serving without it", exc)
        response, _ = await run()
        return Outcome(response, bypassed=True)
    if found is not None:
        return Outcome(found, replayed=True)
    bypassed = False
    try:
        response, keep = await run()
        if keep:
            try:
                await store.save(key, response)
            except CacheUnavailable as exc:
                log.warning("idempotency record not kept (%s)", exc)
                bypassed = True
    finally:
        with contextlib.suppress(CacheUnavailable):
            await store.unlock(key)
    return Outcome(response, bypassed=bypassed)


async def _claim(store: IdempotencyStore, key: str, digest: str, wait: float) -> Stored | None:
    """The response to replay, or None once this request holds the lock and must run."""
    deadline = time.monotonic() + wait
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

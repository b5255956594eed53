"""Idempotency keys: the first response to a keyed POST, kept in the cache for a replay.

A record is keyed by who asked (user, else client address), the method, the path and
a hash of the client's key, and remembers a fingerprint of the request (query, content
type, body) so the same key on a different request is told apart. While the first
request runs, a short lock under the same key keeps a concurrent duplicate from running
it a second time. All of it goes through `gateway.cache`, so it shares that module's
timeouts and circuit breaker: when the cache cannot answer, the caller is told
(`CacheUnavailable`) and serves the request without idempotency.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import orjson

from gateway.cache import Cache

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


def fingerprint(method: str, path: str, query: bytes, content_type: bytes, body: bytes) -> str:
    """A hash of everything that makes two requests the same request."""
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

"""The cache client: the only module that talks to Redis, with an in-process stand-in.

Every operation is bounded by a short timeout and guarded by a circuit breaker: when
Redis fails, calls answer "unavailable" at once instead of waiting, so a request
bypasses the cache and stays correct. After a cool-down one probe is let through;
its success closes the breaker and the cache comes back by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger("gateway.cache")


# A sliding-window counter: the previous window's count, weighted by how much of it still
# overlaps the sliding window, plus the current window's. Refused hits are not counted, so
# hammering a closed door does not keep it closed.
_SLIDING_WINDOW = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local cost, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local window, elapsed = tonumber(ARGV[3]), tonumber(ARGV[4])
local weighted = previous * (window - elapsed) / window + current
if weighted + cost > limit then
  return {0, math.floor(weighted)}
end
redis.call('INCRBY', KEYS[1], cost)
redis.call('PEXPIRE', KEYS[1], window * 2)
return {1, math.floor(weighted + cost)}
"""


class CacheUnavailable(Exception):
    """The cache could not answer in time; the caller goes to the database instead."""


class Cache(Protocol):
    """What the services may ask of a cache; values are bytes."""

    kind: str

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str) -> int: ...
    async def hit(self, key: str, cost: int, limit: int, window: float) -> tuple[bool, int, float]:
        """Sliding-window counter: (allowed, count in window, seconds until the window turns)."""
        ...

    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one probe through per `cooldown`."""

    def __init__(self, threshold: int = 3, cooldown: float = 2.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def open(self) -> bool:
        return self.opened_at is not None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at >= self.cooldown:
            # Half-open: this caller is the probe; others keep bypassing until it answers.
            self.opened_at = time.monotonic()
            return True
        return False

    def success(self) -> None:
        if self.opened_at is not None:
            log.info("cache reachable again; circuit closed")
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold and self.opened_at is None:
            log.warning("cache failing; circuit open for %.1f s at a time", self.cooldown)
            self.opened_at = time.monotonic()
        elif self.opened_at is not None:
            self.opened_at = time.monotonic()


class RedisCache:
    """Redis with bounded waits, no retries and a circuit breaker."""

    kind = "redis"

    def __init__(self, url: str, *, timeout: float = 0.15, max_connections: int = 50) -> None:
        self.url = url
        self.timeout = timeout
        self.breaker = CircuitBreaker()
        # No retries: a retry storm against a struggling Redis makes everything slower.
        self._client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            retry=None,
            max_connections=max_connections,
        )
        self._window_script = self._client.register_script(_SLIDING_WINDOW)

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await self._guarded(lambda: getattr(self._client, name)(*args, **kwargs))

    async def _guarded(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        if not self.breaker.allow():
            raise CacheUnavailable("circuit open")
        try:
            async with asyncio.timeout(self.timeout):
                result = await operation()
        except (RedisError, OSError, TimeoutError) as exc:
            self.breaker.failure()
            raise CacheUnavailable(str(exc) or type(exc).__name__) from None
        self.breaker.success()
        return result

    async def get(self, key: str) -> bytes | None:
        value = await self._call("get", key)
        return value if value is None else bytes(value)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._call("set", key, value, px=max(1, int(ttl * 1000)))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._call("delete", *keys)

    async def incr(self, key: str) -> int:
        return int(await self._call("incr", key))

    async def hit(self, key: str, cost: int, limit: int, window: float) -> tuple[bool, int, float]:
        now_ms = int(time.time() * 1000)
        window_ms = int(window * 1000)
        index, elapsed = divmod(now_ms, window_ms)
        # The hash tag keeps both windows of one key in one Redis Cluster slot.
        keys = [f"{{{key}}}:{index}", f"{{{key}}}:{index - 1}"]
        args = [cost, limit, window_ms, elapsed]
        result = await self._guarded(lambda: self._window_script(keys=keys, args=args))
        allowed, count = int(result[0]), int(result[1])
        return bool(allowed), count, (window_ms - elapsed) / 1000

    async def ping(self) -> bool:
        try:
            return bool(await self._call("ping"))
        except CacheUnavailable:
            return False

    async def close(self) -> None:
        await self._client.aclose()


class MemoryCache:
    """An in-process TTL cache with the same interface, for when no Redis can be had.

    It is per process: with several workers each has its own, so it is for development.
    """

    kind = "memory"

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, bytes]] = {}

    async def get(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            self._data.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if len(self._data) >= self.max_entries and key not in self._data:
            self._evict()
        self._data[key] = (time.monotonic() + ttl, value)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def incr(self, key: str) -> int:
        entry = self._data.get(key)
        value = int(entry[1]) + 1 if entry else 1
        self._data[key] = (float("inf"), str(value).encode())
        return value

    async def hit(self, key: str, cost: int, limit: int, window: float) -> tuple[bool, int, float]:
        now = time.time()
        index, elapsed = divmod(now, window)
        current_key, previous_key = f"{key}:{int(index)}", f"{key}:{int(index) - 1}"
        current = int((await self.get(current_key)) or b"0")
        previous = int((await self.get(previous_key)) or b"0")
        weighted = previous * (window - elapsed) / window + current
        if weighted + cost > limit:
            return False, int(weighted), window - elapsed
        await self.set(current_key, str(current + cost).encode(), ttl=window * 2)
        return True, int(weighted + cost), window - elapsed

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, (exp, _) in self._data.items() if exp < now]:
            del self._data[key]
        while len(self._data) >= self.max_entries:
            # dicts keep insertion order: drop the oldest entry.
            del self._data[next(iter(self._data))]


def connect(url: str | None, *, timeout: float) -> Cache:
    """A Redis cache for `url`, or the in-process one when there is no Redis."""
    if url is None:
        return MemoryCache()
    return RedisCache(url, timeout=timeout)

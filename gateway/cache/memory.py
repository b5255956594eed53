"""The in-process stand-in for Redis, with the same interface, for when none can be had."""

from __future__ import annotations

import math
import time

from gateway.cache.interface import Lease
from gateway.cache.subscriptions import Fanout, Subscription


class MemoryCache:
    """An in-process TTL cache with the same interface, for when no Redis can be had.

    It is per process: with several workers each has its own, so it is for development.
    """

    kind = "memory"

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, bytes]] = {}
        self._indexes: dict[str, dict[str, float]] = {}
        self._logs: dict[str, list[tuple[float, str]]] = {}
        self._fanout = Fanout()

    async def get(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            self._data.pop(key, None)
            return None
        return value

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if len(self._data) >= self.max_entries and key not in self._data:
            self._evict()
        self._data[key] = (time.monotonic() + ttl, value)

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        if await self.get(key) is not None:
            return False
        await self.set(key, value, ttl)
        return True

    async def set_bounded(self, index: str, key: str, value: bytes, ttl: float, limit: int) -> None:
        now = time.monotonic()
        entries = self._indexes.setdefault(index, {})
        for name in [name for name, expires in entries.items() if expires <= now]:
            del entries[name]
        entries[key] = now + ttl
        await self.set(key, value, ttl)
        while len(entries) > limit:
            first = min(entries, key=entries.__getitem__)  # the one that expires first
            del entries[first]
            self._data.pop(first, None)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def incr(self, key: str) -> int:
        # As Redis's INCR: an expired entry counts from nothing, a live one keeps its expiry.
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            expires, value = float("inf"), 1
        else:
            expires, value = entry[0], int(entry[1]) + 1
        self._data[key] = (expires, str(value).encode())
        return value

    async def versioned_get(self, base: str, versions: list[str]) -> tuple[str, bytes | None]:
        parts = []
        for counter in versions:
            value = await self.get(counter)
            parts.append(value.decode() if value is not None else "0")
        key = f"{base}@{'.'.join(parts)}"
        return key, await self.get(key)

    async def bump(self, *counters: str) -> None:
        for counter in counters:
            await self.incr(counter)

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

    async def lease(self, key: str, need: int, want: int, limit: int, window: float) -> Lease:
        now = time.time()
        index, elapsed = int(now // window), now % window
        state = await self.get(key)
        at, count, before = (int(part) for part in (state or b"0:0:0").decode().split(":"))
        previous, current = (before, count) if at == index else (0, 0)
        if at == index - 1:
            previous = count
        free = math.floor(limit - previous * (window - elapsed) / window - current)
        granted = min(want, free) if free >= need else 0
        if granted:
            current += granted
            await self.set(key, f"{index}:{current}:{previous}".encode(), ttl=window * 2)
        return Lease(granted, previous, current, window - elapsed, index)

    async def reserve(
        self, key: str, member: str, limit: int, window: float
    ) -> tuple[bool, int, float]:
        now = time.time()
        log = [(at, who) for at, who in self._logs.get(key, []) if at > now - window]
        if len(log) >= limit:
            self._logs[key] = log
            return False, len(log), log[0][0] + window - now
        log.append((now, member))
        self._logs[key] = log
        if len(self._logs) > self.max_entries:
            # Forget the log idle longest (insertion order stands in for that).
            self._logs.pop(next(iter(self._logs)))
        return True, len(log), window

    async def release(self, key: str, member: str | None) -> None:
        log = self._logs.pop(key, None)
        if log is not None and member is not None:
            self._logs[key] = [(at, who) for at, who in log if who != member]

    async def ping(self) -> bool:
        return True

    async def publish(self, channel: str, message: bytes) -> None:
        self._fanout.deliver(channel, message)

    async def subscribe(self, channel: str) -> Subscription:
        queue, _ = self._fanout.add(channel)

        async def release() -> None:
            self._fanout.remove(channel, queue)

        return Subscription(channel, queue, release)

    async def close(self) -> None:
        self._data.clear()
        self._logs.clear()

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, (exp, _) in self._data.items() if exp < now]:
            del self._data[key]
        while len(self._data) >= self.max_entries:
            # dicts keep insertion order: drop the oldest entry.
            del self._data[next(iter(self._data))]

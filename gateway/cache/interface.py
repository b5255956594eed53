"""What a cache is to its callers: the `Cache` protocol, its one error, and a `Lease`."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from gateway.cache.subscriptions import Subscription


class Lease(NamedTuple):
    """What `Cache.lease` granted, and the state of the allowance it was granted from."""

    granted: int
    previous: int
    """The previous window's count."""
    current: int
    """The current window's count, this grant included."""
    remaining: float
    """Seconds until the window turns."""
    window: int
    """The current window's index (time since the epoch, in windows)."""


class CacheUnavailable(Exception):
    """The cache could not answer in time; the caller goes to the database instead."""


class Cache(Protocol):
    """What the services may ask of a cache; values are bytes."""

    kind: str

    async def get(self, key: str) -> bytes | None: ...
    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        """The values of `keys`, in order, read in one round trip."""
        ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...
    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        """Store `value` only if `key` holds nothing; whether it did (a lock or first write)."""
        ...

    async def set_bounded(self, index: str, key: str, value: bytes, ttl: float, limit: int) -> None:
        """Store `value` under `key` as one of at most `limit` live entries recorded in
        `index`; past the limit, the entries that expire first are deleted."""
        ...

    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str) -> int: ...
    async def versioned_get(self, base: str, versions: list[str]) -> tuple[str, bytes | None]:
        """Resolve `base` plus the current values of the `versions` counters into a key, and
        read it, in one round trip: (the full key, its value or None)."""
        ...

    async def bump(self, *counters: str) -> None:
        """Increment every counter (generations): keys built on their old values go stale."""
        ...

    async def hit(self, key: str, cost: int, limit: int, window: float) -> tuple[bool, int, float]:
        """Sliding-window counter: (allowed, count in window, seconds until the window turns)."""
        ...

    async def lease(self, key: str, need: int, want: int, limit: int, window: float) -> Lease:
        """Take up to `want` units (at least `need`, else none) of the sliding-window
        allowance `hit` keeps, in one atomic step, by the cache's own clock."""
        ...

    async def reserve(
        self, key: str, member: str, limit: int, window: float
    ) -> tuple[bool, int, float]:
        """Exact sliding log: record `member` if fewer than `limit` are within `window`
        seconds; (recorded, count in window, seconds until the oldest one leaves it)."""
        ...

    async def release(self, key: str, member: str | None) -> None:
        """Take a member `reserve` recorded out of the log again (all of them when None)."""
        ...

    async def ping(self) -> bool: ...
    async def close(self) -> None: ...
    async def publish(self, channel: str, message: bytes) -> None:
        """Send `message` to every subscriber of `channel`, on every replica."""
        ...

    async def subscribe(self, channel: str) -> Subscription:
        """The messages published on `channel` from now on; close it with `aclose()`."""
        ...

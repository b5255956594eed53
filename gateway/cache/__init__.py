"""The cache: the only package that talks to Redis, with an in-process stand-in.

- `interface`: what callers may ask of a cache (`Cache`), `CacheUnavailable`, `Lease`.
- `client`: `RedisCache`, on one server, a Sentinel-watched master or a Cluster
  (`engines` tells which from the URL); `scripts` holds its Lua, `batching` pipelines its
  commands, `breaker` keeps a failing Redis from slowing requests down.
- `subscriptions` and `listener`: publish/subscribe, fanned out inside each process.
- `memory`: `MemoryCache`, the same interface within one process, for when there is no Redis.
- `answers`: the tagged answer cache built on top of these.
"""

from __future__ import annotations

from gateway.cache.breaker import CircuitBreaker
from gateway.cache.client import RedisCache
from gateway.cache.interface import Cache, CacheUnavailable, Lease
from gateway.cache.memory import MemoryCache
from gateway.cache.subscriptions import Subscription

__all__ = [
    "Cache",
    "CacheUnavailable",
    "CircuitBreaker",
    "Lease",
    "MemoryCache",
    "RedisCache",
    "Subscription",
    "connect",
]


def connect(url: str | None, *, timeout: float) -> Cache:
    """A Redis cache for `url` (see `gateway.cache.engines` for its forms), or the
    in-process one when there is no Redis."""
    if url is None:
        return MemoryCache()
    return RedisCache(url, timeout=timeout)

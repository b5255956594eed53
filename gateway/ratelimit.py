"""Rate limits kept in Redis, so they hold across replicas.

Every caller (user id when signed in, else client address) has a general allowance per
minute, charged once per REST request and once per GraphQL root field; sign-in has its
own, much smaller allowance against brute force. When Redis is unreachable, reads fail
open, while sign-ins and writes fall back to counting in this process, so a Redis outage
never turns into an open door for password guessing, nor into a 500.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gateway.cache import Cache, CacheUnavailable, MemoryCache
from gateway.metrics import Metrics

log = logging.getLogger("gateway.ratelimit")

WINDOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one charge, with what the RateLimit-* headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    enforced: bool = True

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    """Charges callers against per-minute allowances."""

    def __init__(
        self, cache: Cache, *, prefix: str, general: int, login: int, metrics: Metrics | None = None
    ) -> None:
        self._cache = cache
        self._metrics = metrics or Metrics()
        self._fallback = MemoryCache(max_entries=100_000)
        self._prefix = prefix
        self.limits = {"all": general, "login": login}

    async def charge(
        self, identity: str, bucket: str = "all", cost: int = 1, *, read_only: bool = False
    ) -> Decision:
        """Count `cost` operations for `identity`; a Decision says whether they may proceed."""
        limit = self.limits[bucket]
        key = f"{self._prefix}:rl:{bucket}:{identity}"
        try:
            allowed, count, reset = await self._cache.hit(key, cost, limit, WINDOW_SECONDS)
        except CacheUnavailable:
            if read_only and bucket == "all":
                self._metrics.rate_limit_degraded.labels("fail_open").inc()
                return Decision(True, limit, limit, int(WINDOW_SECONDS), enforced=False)
            self._metrics.rate_limit_degraded.labels("per_process").inc()
            allowed, count, reset = await self._fallback.hit(key, cost, limit, WINDOW_SECONDS)
        if not allowed:
            self._metrics.rate_limit_rejections.labels(bucket).inc()
        return Decision(allowed, limit, max(0, limit - count), max(1, int(reset + 0.999)))

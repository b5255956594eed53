"""Rate limits kept in Redis, so they hold across replicas.

Every caller (user id when signed in, else client address) has a general allowance per
minute, charged once per REST request and once per GraphQL root field. Sign-in has its
own limits, on failures only, kept exact: at most `login_failures_per_account` wrong
passwords per account (by email, whether or not it exists) and `login_failures_per_address`
per client address, each over its own sliding window. Every attempt is counted before
its password is checked and taken back when it succeeds, so concurrent guesses cannot
slip past the limit, and colleagues signing in from one address never lock each other out.

When Redis is unreachable, reads fail open, while sign-ins and writes fall back to
counting in this process, so a Redis outage never turns into an open door for password
guessing, nor into a 500.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass

from gateway.cache import Cache, CacheUnavailable, MemoryCache
from gateway.errors import RateLimited
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
    window: int = int(WINDOW_SECONDS)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={self.window}",
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInLimits:
    """Failed sign-ins allowed per account and per client address, each in its window."""

    per_account: int = 5
    account_window: int = 900
    per_address: int = 50
    address_window: int = 60


_Reservation = tuple[Cache, str, str, bool]
"""Where an attempt was counted: the store, the log's key, the attempt, per account or not."""


class SignInAttempt:
    """A sign-in let through the limits: it stays counted as a failure unless `succeeded`
    or `abandoned` takes it back."""

    def __init__(self, reservations: list[_Reservation]) -> None:
        self._reservations = reservations

    async def succeeded(self) -> None:
        """Not a failure: uncount it, and forget the account's earlier failures too (the
        address keeps its count, so signing into one's own account resets nothing else)."""
        await self._release(clear_account=True)

    async def abandoned(self) -> None:
        """Neither success nor failure (the database failed, say): uncount it."""
        await self._release(clear_account=False)

    async def _release(self, *, clear_account: bool) -> None:
        for store, key, member, per_account in self._reservations:
            forget = None if clear_account and per_account else member
            try:
                await store.release(key, forget)
            except CacheUnavailable:
                log.warning("could not uncount a sign-in attempt; it counts as a failure")
        self._reservations = []


class RateLimiter:
    """Charges callers against per-minute allowances, and sign-in attempts against theirs."""

    def __init__(
        self,
        cache: Cache,
        *,
        prefix: str,
        general: int,
        sign_in: SignInLimits | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._cache = cache
        self._metrics = metrics or Metrics()
        self._fallback = MemoryCache(max_entries=100_000)
        self._prefix = prefix
        self.limits = {"all": general}
        self.sign_in = sign_in or SignInLimits()

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

    async def begin_sign_in(self, email: str, address: str) -> SignInAttempt:
        """Count a sign-in attempt for the account named by `email` and for `address`.

        Raises RateLimited (with the refusing allowance's RateLimit-* headers) when either
        has had its fill of failures within its window; nothing is counted then.
        """
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        member = uuid.uuid4().hex
        limits = self.sign_in
        checks = [
            ("sign_in_account", f"account:{account}", limits.per_account, limits.account_window),
            ("sign_in_address", f"address:{address}", limits.per_address, limits.address_window),
        ]
        reservations: list[_Reservation] = []
        for bucket, name, limit, window in checks:
            key = f"{self._prefix}:rl:signin:{name}"
            store, (allowed, _, retry) = await self._reserve(key, member, limit, window)
            if not allowed:
                await SignInAttempt(reservations).abandoned()
                self._metrics.rate_limit_rejections.labels(bucket).inc()
                reset = max(1, int(retry + 0.999))
                decision = Decision(False, limit, 0, reset, window=window)
                raise RateLimited(
                    reset,
                    "Too many failed sign-ins; wait before trying again.",
                    headers=decision.headers(),
                )
            reservations.append((store, key, member, bucket == "sign_in_account"))
        return SignInAttempt(reservations)

    async def _reserve(
        self, key: str, member: str, limit: int, window: int
    ) -> tuple[Cache, tuple[bool, int, float]]:
        try:
            return self._cache, await self._cache.reserve(key, member, limit, window)
        except CacheUnavailable:
            self._metrics.rate_limit_degraded.labels("per_process").inc()
            return self._fallback, await self._fallback.reserve(key, member, limit, window)

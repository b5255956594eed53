"""Rate limits shared by replicas through Redis, charged without a round trip per request.

Every caller (user id when signed in, else client address) has a general allowance per
minute, charged once per REST request and once per GraphQL root field. It is a sliding-
window counter in Redis: this minute's count plus the previous minute's, weighted by how
much of the previous minute the sliding one still covers (minutes by Redis's clock).

Leases. A process does not ask Redis per request: it leases a slice of the caller's
allowance, `lease` units (RATE_LIMIT_LEASE; by default a twentieth of the limit, at least
1), in one atomic Lua step that counts the whole slice in the shared counter at once, and
spends it locally. When fewer than `lease // 4` units are left, one renewal per caller is
sent in the background; a request that finds the slice short waits for the renewal on its
way, or sends one, and is never let through unchecked. A renewal grants `lease` units or
whatever is free if less, but never less than the waiting request needs: a request that
cannot be served takes nothing. Leases under 4 units are never renewed ahead, so
RATE_LIMIT_LEASE=1 is the exact limiter with one round trip per request.

Unused units expire with the window: a slice's units belong to the minute they were
counted in and die when it turns. The process takes the turn to be at the moment it sent
the lease plus what Redis said was left of that minute, which is never later than the
turn in Redis. Units that die unspent stay counted (they were granted). A request whose
own renewal was granted in a minute that turned before the reply was back (its units died
on arrival) asks again in the new minute rather than being refused.

The bound. Every unit spent in a minute was granted in that minute, and every grant kept
the counter within the limit (previous x weight + current <= limit, the grant counted in
current); spent units are a subset of granted ones minute by minute, and the weight only
falls within a minute, so at every instant the counter over spent units is within the
limit too. With any number of replicas, leasing lets through no more than charging the
shared counter on every request would: the overshoot is 0 (the counter keeps its own
approximation: it assumes the previous minute's requests were spread evenly).

The price is on the other side. Units one replica holds cannot be spent on another, and a
replica holds at most `lease + max(0, lease // 4 - 1)` units of a caller (a renewal starts
below `lease // 4` and adds at most `lease`). So a caller can be refused by one replica
while up to (N - 1) x that many units sit unspent on the N - 1 others; the ones it never
comes back for are lost with the minute. With 600 per minute, a lease of 30 and 4
replicas, that is at most 3 x 36 = 108 units. A caller hammering every replica gets
exactly its allowance.

A replica refuses on its own, without Redis, only when what it last learnt of the counter
(aged to now: the previous minute weighs less, other replicas can only have added) leaves
no room, so Redis would refuse too. RateLimit-Remaining is the units held here plus what
was free in Redis when last asked (aged likewise), at most the limit: exact with one
replica, an upper bound with several. At most MAX_CALLERS callers' slices are kept per
process; the least recently charged are forgotten first (their unspent units are lost).

Sign-in has its own limits, on failures only, kept exact with a Redis round trip per
attempt: at most `login_failures_per_account` wrong passwords per account (by email,
whether or not it exists) and `login_failures_per_address` per client address, each over
its own sliding window. Every attempt is counted before its password is checked and taken
back when it succeeds, so concurrent guesses cannot slip past the limit, and colleagues
signing in from one address never lock each other out.

When Redis is unreachable, units already leased are still spent (they were granted), and a
caller this process already knows to be out of allowance stays refused until the counter
it last saw has room again (Redis would refuse it too). Beyond that, reads fail open, while
sign-ins and writes fall back to counting in this process, so a Redis outage never turns
into an open door for password guessing, nor into a 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from gateway.cache import Cache, CacheUnavailable, Lease, MemoryCache
from gateway.errors import RateLimited
from gateway.metrics import Metrics

log = logging.getLogger("gateway.ratelimit")

WINDOW_SECONDS = 60.0

MAX_CALLERS = 10_000
"""Callers whose slices one process keeps (about 200 bytes each)."""


def default_lease(limit: int) -> int:
    """RATE_LIMIT_LEASE when unset: a twentieth of the allowance, at least 1."""
    return max(1, limit // 20)


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


class _Slice:
    """This process's part of one caller's allowance: units leased and not yet spent, and
    what it last learnt of the shared counter."""

    __slots__ = ("current", "ends", "previous", "renewal", "units", "window")

    def __init__(self) -> None:
        self.units = 0
        self.window = -1  # the minute (Redis's index) the units and counts belong to; -1: none yet
        self.ends = 0.0  # when that minute turns, by time.monotonic(), never later than in Redis
        self.previous = 0
        self.current = 0
        self.renewal: asyncio.Task[Lease | None] | None = None

    def roll(self, now: float) -> None:
        """Past the turn of the minute: the units die, the counts move back a minute."""
        if now < self.ends or self.window < 0:
            return
        turned = int((now - self.ends) // WINDOW_SECONDS) + 1
        self.units = 0
        self.previous = self.current if turned == 1 else 0
        self.current = 0
        self.window += turned
        self.ends += turned * WINDOW_SECONDS

    def free(self, now: float, limit: int) -> int:
        """At most how many units Redis could still grant: the counts last learnt are
        lower bounds, and the previous minute weighs at least as much in Redis as here."""
        if self.window < 0:
            return limit
        weight = (self.ends - now) / WINDOW_SECONDS
        return max(0, math.floor(limit - self.previous * weight - self.current))

    def learn(self, lease: Lease, sent: float) -> None:
        if lease.window != self.window:
            self.units = 0  # granted in an earlier minute: dead by now
        self.window, self.ends = lease.window, sent + lease.remaining
        self.previous, self.current = lease.previous, lease.current
        self.units += lease.granted


class RateLimiter:
    """Charges callers against per-minute allowances, and sign-in attempts against theirs."""

    def __init__(
        self,
        cache: Cache,
        *,
        prefix: str,
        general: int,
        lease: int | None = None,
        sign_in: SignInLimits | None = None,
        metrics: Metrics | None = None,
        max_callers: int = MAX_CALLERS,
    ) -> None:
        self._cache = cache
        self._metrics = metrics or Metrics()
        self._fallback = MemoryCache(max_entries=100_000)
        self._prefix = prefix
        self.limits = {"all": general}
        self.lease = max(1, min(general, lease or default_lease(general)))
        self._refill_at = self.lease // 4
        self.sign_in = sign_in or SignInLimits()
        self._slices: OrderedDict[str, _Slice] = OrderedDict()
        self._max_callers = max_callers
        self._background: set[asyncio.Task[Lease | None]] = set()

    @property
    def callers(self) -> int:
        """How many callers' slices this process keeps now (at most `max_callers`)."""
        return len(self._slices)

    async def charge(
        self, identity: str, bucket: str = "all", cost: int = 1, *, read_only: bool = False
    ) -> Decision:
        """Count `cost` operations for `identity`; a Decision says whether they may proceed."""
        limit = self.limits[bucket]
        key = f"{self._prefix}:rl:{bucket}:{identity}"
        part = self._slice(key)
        own: int | None = None  # the minute this request's own renewal was granted in
        mine = False
        while True:
            now = time.monotonic()
            part.roll(now)
            if part.units >= cost:
                part.units -= cost
                if part.units < self._refill_at and part.renewal is None:
                    self._refill(key, part, limit, now)
                return self._decision(True, part, limit, now)
            if own == part.window:
                break  # this request's own renewal could not cover it
            # (A renewal granted in a minute that turned before its reply was back took its
            # units with it: ask again, in this minute; it turns once a minute, so this ends.)
            renewal = part.renewal
            if renewal is None:
                need = cost - part.units
                if part.free(now, limit) < need:
                    break
                renewal = self._renew(key, part, need, max(need, self.lease), limit)
                mine = True
            lease = await asyncio.shield(renewal)
            if lease is None:
                return await self._unavailable(key, bucket, cost, limit, read_only)
            if mine:
                own, mine = lease.window, False
        self._metrics.rate_limit_rejections.labels(bucket).inc()
        return self._decision(False, part, limit, now)

    def _slice(self, key: str) -> _Slice:
        part = self._slices.get(key)
        if part is None:
            part = self._slices[key] = _Slice()
            if len(self._slices) > self._max_callers:
                self._slices.popitem(last=False)
        else:
            self._slices.move_to_end(key)
        return part

    def _decision(self, allowed: bool, part: _Slice, limit: int, now: float) -> Decision:
        remaining = min(limit, part.units + part.free(now, limit))
        reset = math.ceil(part.ends - now) if part.window >= 0 else int(WINDOW_SECONDS)
        return Decision(allowed, limit, remaining, max(1, reset))

    def _renew(
        self, key: str, part: _Slice, need: int, want: int, limit: int
    ) -> asyncio.Task[Lease | None]:
        task = asyncio.create_task(self._lease(key, part, need, want, limit))
        part.renewal = task
        return task

    def _refill(self, key: str, part: _Slice, limit: int, now: float) -> None:
        """Renew ahead, in the background, unless Redis surely has nothing left to grant."""
        if part.free(now, limit) > 0:
            task = self._renew(key, part, 1, self.lease, limit)
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _lease(
        self, key: str, part: _Slice, need: int, want: int, limit: int
    ) -> Lease | None:
        """Lease units into `part`; None when Redis could not answer."""
        sent = time.monotonic()
        try:
            lease = await self._cache.lease(key, need, want, limit, WINDOW_SECONDS)
        except CacheUnavailable:
            return None
        finally:
            part.renewal = None
        part.learn(lease, sent)
        return lease

    async def _unavailable(
        self, key: str, bucket: str, cost: int, limit: int, read_only: bool
    ) -> Decision:
        if read_only and bucket == "all":
            self._metrics.rate_limit_degraded.labels("fail_open").inc()
            return Decision(True, limit, limit, int(WINDOW_SECONDS), enforced=False)
        self._metrics.rate_limit_degraded.labels("per_process").inc()
        allowed, count, reset = await self._fallback.hit(key, cost, limit, WINDOW_SECONDS)
        if not allowed:
            self._metrics.rate_limit_rejections.labels(bucket).inc()
        return Decision(allowed, limit, max(0, limit - count), max(1, int(reset + 0.999)))

    async def close(self) -> None:
        """Wait for the renewals on their way (each is bounded by the cache's timeout)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

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

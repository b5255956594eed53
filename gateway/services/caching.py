"""Read-through caching for the services, so REST and GraphQL share every entry.

Over 400 lines: keys, generations and single flight are one protocol, changed together.

Every cached read names the tables it depends on. Its key holds the current generation of
each of those tables (and a global epoch), read in the same round trip as the entry, so
a write invalidates every dependent entry at once by bumping its tables' generations after
it commits: the next read in either style builds a new key and misses. A read that raced
with a write stores its value under the old generations, where nothing looks any more.

Concurrent misses of one key in one process run the query once (single flight). Values
are JSON (orjson) with a jittered TTL, so entries written together do not expire together;
errors are never cached. When Redis cannot answer, reads go straight to the database and
count as bypasses. A write whose invalidation could not reach Redis marks this process,
which bumps the epoch as soon as Redis answers again, retiring every entry at once, since
some of them may have missed that write.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import orjson

from gateway import telemetry
from gateway.cache import Cache, CacheUnavailable
from gateway.cache.answers import Answers
from gateway.db import Database
from gateway.reads.pagination import Page
from gateway.settings import Settings

log = logging.getLogger("gateway.caching")

ENTITY_TTL = 300.0
LIST_TTL = 60.0
JITTER = 0.1
FLIGHT_GRACE = 1.0
EPOCH = "epoch"
"""The name `snapshot` gives the epoch among the generations."""


class ReadCache:
    """This process's view of the shared cache: keys, generations, single flight."""

    def __init__(
        self,
        cache: Cache,
        prefix: str,
        *,
        enabled: bool = True,
        local_bytes: int = 8 * 1024 * 1024,
        liveness: float = 1.0,
    ) -> None:
        self.cache = cache
        self.enabled = enabled
        self.answers = Answers(
            cache, prefix, enabled=enabled, local_bytes=local_bytes, liveness=liveness
        )
        self._prefix = f"{prefix}:v1"
        self._epoch = f"{self._prefix}:epoch"
        self._flights: dict[str, asyncio.Future[bytes]] = {}
        self._raw_flights: dict[str, asyncio.Future[bytes | None]] = {}
        self._dirty = False
        self._later: set[asyncio.Task[None]] = set()

    def generation(self, table: str) -> str:
        return f"{self._prefix}:gen:{table}"

    def key(self, kind: str, parts: Sequence[object]) -> str:
        """The cache key of the value `parts` identify within `kind`."""
        return f"{self._prefix}:{kind}:{digest(parts)}"

    async def snapshot(
        self, key: str, generations: Sequence[str]
    ) -> tuple[bytes | None, dict[str, str]]:
        """The value under `key` and the current value of each generation (and of the
        epoch, as `EPOCH`), read in one round trip; raises CacheUnavailable."""
        if self._dirty:
            await self._repair()
        counters = [self._epoch, *(self.generation(g) for g in generations)]
        value, *current = await self.cache.get_many([key, *counters])
        names = [EPOCH, *generations]
        return value, {name: (c or b"0").decode() for name, c in zip(names, current, strict=True)}

    async def read(
        self,
        kind: str,
        parts: Sequence[object],
        tables: Sequence[str],
        load: Callable[[], Awaitable[Any]],
        *,
        ttl: float,
    ) -> Any:
        """The JSON form of `load()`'s value, from the cache when it has a current entry.

        `parts` identify the value within `kind` (an id, or a normalized query); `tables`
        are what it was read from. Exceptions from `load` propagate and are not cached.
        """
        stats = telemetry.current()
        if stats is not None:
            stats.depends_on.update(tables)
        if not self.enabled or (stats is not None and (stats.primary_only or stats.cold)):
            # A request that has written, or whose caller wrote moments ago (with a read
            # replica), reads its writes from the primary, not from an entry another caller
            # may have filled from a lagging replica; so does a cold compare call
            # (telemetry.RequestStats.cold), which stores nothing either.
            return _json(await load())
        base = self.key(kind, parts)
        counters = [self._epoch, *(self.generation(t) for t in sorted(set(tables)))]
        try:
            if self._dirty:
                await self._repair()
            key, raw = await self.cache.versioned_get(base, counters)
        except CacheUnavailable:
            if stats is not None:
                stats.cache_bypasses += 1
            return _json(await load())
        if raw is not None:
            if stats is not None:
                stats.cache_hits += 1
            return orjson.loads(raw)
        if stats is not None:
            stats.cache_misses += 1
        return orjson.loads(await self._fill(key, load, ttl))

    async def read_bytes(
        self,
        kind: str,
        parts: Sequence[object],
        tables: Sequence[str],
        load: Callable[[], Awaitable[bytes | None]],
        *,
        ttl: float,
    ) -> bytes | None:
        """`load()`'s bytes, from the cache when it has a current entry: `read` for answers
        that are already serialized (the planner's). None (nothing found) is not cached."""
        stats = telemetry.current()
        if stats is not None:
            stats.depends_on.update(tables)
        if not self.enabled or (stats is not None and (stats.primary_only or stats.cold)):
            return await load()
        base = self.key(kind, parts)
        counters = [self._epoch, *(self.generation(t) for t in sorted(set(tables)))]
        try:
            if self._dirty:
                await self._repair()
            key, raw = await self.cache.versioned_get(base, counters)
        except CacheUnavailable:
            if stats is not None:
                stats.cache_bypasses += 1
            return await load()
        if raw is not None:
            if stats is not None:
                stats.cache_hits += 1
            return raw
        if stats is not None:
            stats.cache_misses += 1
        return await self._fill_bytes(key, load, ttl)

    async def _fill_bytes(
        self, key: str, load: Callable[[], Awaitable[bytes | None]], ttl: float
    ) -> bytes | None:
        flight = self._raw_flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight)
        loop = asyncio.get_running_loop()
        flight = loop.create_future()
        self._raw_flights[key] = flight
        try:
            data = await load()
        except BaseException as exc:
            del self._raw_flights[key]
            flight.set_exception(exc)
            flight.exception()
            raise
        flight.set_result(data)
        loop.call_later(FLIGHT_GRACE, self._raw_flights.pop, key, None)
        if data is not None:
            await self.put(key, data, ttl)
        return data

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        """Store `value` for about `ttl` seconds (jittered); best effort, never raises."""
        # Jitter is for spreading expiries, not for secrecy.
        lifetime = ttl * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
        with contextlib.suppress(CacheUnavailable):
            await self.cache.set(key, value, lifetime)

    async def invalidate(self, *tables: str) -> None:
        """Retire every entry read from `tables` (call after the write commits)."""
        if not self.enabled or not tables:
            return
        try:
            await self.cache.bump(*(self.generation(t) for t in sorted(set(tables))))
        except CacheUnavailable:
            # The entries this write made stale may still be in Redis (if it is hung rather
            # than gone): retire everything once it answers again.
            self._dirty = True
            log.warning("cache invalidation failed; the cache will be reset when Redis is back")

    def invalidate_later(self, delay: float, tables: Sequence[str], tags: Iterable[str]) -> None:
        """`invalidate(*tables)` and the answers' `invalidate(tags)` again in `delay` seconds
        (best effort: lost if the process stops first); retires entries filled from a read
        replica that had not yet replayed the write."""
        if not self.enabled or not (tables or tags):
            return
        task = asyncio.get_running_loop().create_task(
            self._invalidate_after(delay, tables, frozenset(tags))
        )
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def close(self) -> None:
        """Drop the repeated invalidations still waiting (the app is shutting down), and
        stop the answer cache's listener."""
        for task in list(self._later):
            task.cancel()
        await asyncio.gather(*self._later, return_exceptions=True)
        await self.answers.close()

    async def _invalidate_after(
        self, delay: float, tables: Sequence[str], tags: frozenset[str]
    ) -> None:
        await asyncio.sleep(delay)
        await self.invalidate(*tables)
        await self.answers.invalidate(tags)

    async def _repair(self) -> None:
        await self.cache.bump(self._epoch)
        self._dirty = False
        log.info("cache epoch bumped after missed invalidations")

    async def _fill(self, key: str, load: Callable[[], Awaitable[Any]], ttl: float) -> bytes:
        flight = self._flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight)
        loop = asyncio.get_running_loop()
        flight = loop.create_future()
        self._flights[key] = flight
        try:
            data = orjson.dumps(await load())
        except BaseException as exc:
            del self._flights[key]
            flight.set_exception(exc)
            # Waiters re-raise it; mark it retrieved so asyncio does not log it again.
            flight.exception()
            raise
        flight.set_result(data)
        # Readers whose Redis look-up missed just before this value landed there still find
        # it here for a moment, instead of loading it again.
        loop.call_later(FLIGHT_GRACE, self._flights.pop, key, None)
        await self.put(key, data, ttl)
        return data


# What cached reads depend on. A product as shown embeds its category and tags.
CATALOGUE = ("products", "categories", "tags")
CATEGORIES = ("categories",)
TAGS = ("tags",)
REVIEWS = ("reviews", "products", "users")
USERS = ("users",)


class Backing(Protocol):
    """What these helpers use of the process resources (`gateway.services.resources`, which
    holds a ReadCache and so cannot be imported back here)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def reads(self) -> ReadCache: ...


async def entity(
    resources: Backing,
    kind: str,
    parts: Sequence[object],
    tables: Sequence[str],
    load: Callable[[], Awaitable[Any]],
) -> Any:
    """A cached single-resource read. Inside a transaction it reads the database directly:
    a write reading back its own rows must neither see cached data nor cache its own."""
    if resources.db.pinned:
        return await load()
    return await resources.reads.read(kind, parts, tables, load, ttl=ENTITY_TTL)


async def page(
    resources: Backing,
    kind: str,
    parts: Sequence[object],
    tables: Sequence[str],
    load: Callable[[], Awaitable[Page[Any]]],
) -> Page[Any]:
    """A cached page of a list, keyed by the normalized query in `parts`."""

    async def as_json() -> dict[str, Any]:
        found = await load()
        return {
            "items": found.items,
            "cursors": found.cursors,
            "next_cursor": found.next_cursor,
            "total": found.total,
        }

    if resources.db.pinned:
        return await load()
    data = await resources.reads.read(kind, parts, tables, as_json, ttl=LIST_TTL)
    return Page(data["items"], data["cursors"], data["next_cursor"], data["total"])


# Which cached tables a write to an aggregate (a statement file) makes stale: reviews
# change their product's rating, orders its stock.
_AFFECTS: dict[str, tuple[str, ...]] = {
    "reviews": ("reviews", "products"),
    "orders": ("orders", "products"),
}


# What a write to an aggregate (a statement file) may have changed in planned answers, when
# the service did not say (`touched`): whole types and their lists. A safety net: every
# write in the services declares its tags precisely.
_COARSE: dict[str, tuple[str, ...]] = {
    "products": ("Product:*", "list:Product"),
    "categories": ("Category:*", "list:Category", "list:Product"),
    "tags": ("Tag:*", "list:Tag", "list:Product"),
    "reviews": ("Review:*", "list:Review", "Product:*", "list:Product@rating"),
    "orders": ("Product:*", "list:Product@stock"),
}
# Not here: `users` and `refresh_tokens`. No write changes a public profile (a display name
# is set when the account is made, before any answer can show it; a test holds to that),
# so sign-ups, sign-ins and role changes retire no shared answer.


async def wrote_recently(cache: Cache, mark: str) -> bool:
    """Whether the caller behind `mark` wrote a moment ago (`mark_writer`), so its reads must
    see the primary and skip every first level; True when the cache cannot tell."""
    try:
        return await cache.get(mark) is not None
    except CacheUnavailable:
        return True


async def mark_writer(cache: Cache, mark: str, ttl: float) -> None:
    """Remember for `ttl` seconds that the caller behind `mark` wrote. Best effort: lost
    when Redis is down; then no first level is in use either, and reads may come from a
    replica within its lag."""
    with contextlib.suppress(CacheUnavailable):
        await cache.set(mark, b"1", ttl=ttl)


def touched(aggregate: str, *tags: str) -> None:
    """Declare what a committed write to `aggregate` changed, as answer tags: the objects
    (`Product:41`), and the lists whose members or order it can move (`list:Product`,
    `list:Product@stock`). No tags: nothing any shared answer shows."""
    stats = telemetry.current()
    if stats is not None:
        stats.declared.add(aggregate)
        stats.touched.update(tags)


async def invalidate_written(resources: Backing, stats: telemetry.RequestStats) -> None:
    """Retire the cached reads of everything a request wrote; the pipeline calls this once
    the handler is done (its transactions committed), before the response goes out, so the
    client's next read, in either style, cannot meet a stale entry. Each write is retired
    once, however often this is called."""
    fresh = stats.written - stats.invalidated
    tags = stats.touched - stats.retired
    if not fresh and not tags:
        return
    stats.invalidated |= fresh
    stats.retired |= tags
    coarse = {t for name in fresh - stats.declared for t in _COARSE.get(name, ())}
    tables = {table for name in fresh for table in _AFFECTS.get(name, (name,))}
    await resources.reads.invalidate(*tables)
    await resources.reads.answers.invalidate(tags | coarse)
    if resources.db.has_replica:
        # Until the replica has replayed this write, a read served there may refill an entry
        # with the old rows; retire them again once the replica is known to hold the write.
        settings = resources.settings
        bound = settings.database_read_max_lag_seconds
        later = max(settings.read_after_write_seconds, bound + 1 if bound else 0)
        if later:
            resources.reads.invalidate_later(later, sorted(tables), tags | coarse)


def digest(parts: Sequence[object]) -> str:
    """A short stable digest of JSON-able `parts`, for cache keys."""
    raw = orjson.dumps(list(parts), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _json(value: Any) -> Any:
    # Hits return decoded JSON (timestamps as strings); give misses and bypasses the same
    # shape, so nothing downstream behaves differently depending on the cache.
    return orjson.loads(orjson.dumps(value))

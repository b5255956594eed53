"""The answer cache: finished answers of planned reads, retired by what a write touched.

Over 400 lines: one protocol (stamps, sequence, announcements) whose two levels and two
engines (one Redis, a cluster) must be read together to see why nothing stale is served.

An answer is tagged with what it was built from (`gateway.reads.planner.untag`): every
object in it (`Product:41`, `Category:7`), every type seen (`Product:*`), and the lists it
read (`list:Product`, and `list:Product@stock` for a list filtered or sorted by what
orders change). A write names the tags it touched (`gateway.services.caching.touched`);
only answers carrying one of them are retired, so an order for product 41 leaves every
answer without product 41 in the cache.

Two levels:

- **Shared (Redis).** A global sequence counts invalidations; invalidating tags stamps
  each with the next number (`t:<tag>`) and announces `<seq> <tags>` on a channel, in one
  script. An entry is stored as `<seq> <tags>\\n<body>`, where seq is the counter as it
  was *before* its statement ran; a read (one script, one round trip) returns it only if
  none of its tags (nor `*`, everything) was stamped later. A write that commits while an
  answer is being built therefore retires it even though it is stored after the write.
- **Local (this process).** A bounded LRU of bodies, indexed by tag, that a hit reads
  with no round trip. It is filled only while this process hears the channel, and drops
  entries as announcements arrive. An entry is kept only if no announcement heard since
  its seq touched it (later ones will drop it when they arrive). The listener pings
  Redis every third of `liveness`; when it has heard nothing for `liveness` seconds
  (Redis hung), or its connection broke (Redis down), the local level is emptied and
  unused until the channel is heard again from a known point of the sequence.

When an invalidation cannot reach Redis, this process empties its own local level and
holds the write's answer until every other replica's local level has lapsed (at most
`liveness` after Redis stopped answering), then retires everything (`*`) once Redis is
back; answers meanwhile bypass the cache. A caller that wrote a moment ago
(read-your-writes) never reads the local level, so it always sees its own writes, even
before the announcement reached the replica serving it.

On a Redis Cluster the entries, the stamps and the sequence lie in slots of their own
(spread over the masters), so no one script can reach them; the same rules hold with
steps in an order that keeps them:

- **Invalidate**: INCR the sequence, then SET the stamps (any slots), then PUBLISH. A fill
  stores its entry under the sequence it read *before* loading. One that read the new
  number loaded after the INCR, which follows the write's commit: its data is committed,
  and a stamp equal to its number does not refuse it. One that read the old number may
  have loaded the old data, and is refused by a stamp greater than its number once the
  stamps are set; a write answers only after that, so nothing stale is served to anyone
  who asked after the write answered. The announcement leaves after the stamps.
- **Read**: GET the sequence and the entry, then the stamps of its tags and `*` (per slot),
  not atomically. Reading the stamps after the entry is conservative: a stamp set in
  between refuses it, as a stamp set before would.
- **The local level** keeps a hit under the entry's own number (not the sequence read
  beside it, which may count an invalidation whose stamps were not set yet when they
  were read): every invalidation after that number is one heard (refused), or one heard
  later (dropped). Announcements may arrive out of order (INCR and PUBLISH are separate
  steps), so the ones remembered are kept sorted by number. An entry filled before the
  level was (re)enabled is not kept locally; it is still served from Redis.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import random
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from gateway import telemetry
from gateway.cache import Cache, CacheUnavailable, RedisCache
from gateway.cache.listener import stop_if_cancelled

log = logging.getLogger("gateway.cache.answers")

Load = Callable[[], Awaitable[tuple[bytes, frozenset[str]] | None]]
"""Builds an answer: its body and its tags, or None for nothing worth keeping."""

TAG_TTL_MS = 900_000
"""How long a tag's stamp is kept: longer than any entry lives (entries: at most 330 s)."""
JITTER = 0.1
RECENT = 4096
"""Announcements remembered, to refuse a local entry that one of them made stale."""
ENTRY_OVERHEAD = 300
"""Bytes an entry costs besides its body, key and tags (the entry's tuple, the LRU's slot)."""
TAG_OVERHEAD = 150
"""Bytes each of an entry's tags costs: its slot in the entry and in the tag index (the
tag's string itself is interned, shared by every entry carrying it)."""


def _cost(key: str, body: bytes, names: tuple[str, ...]) -> int:
    """What an entry costs against the bound: not the body alone, a product page's 30 tags
    weigh twice its 2 KB body. (Measured with tracemalloc over 3,000 such entries: the
    first level's real size was within 2 % of the sum of these costs.)"""
    return len(body) + len(key) + ENTRY_OVERHEAD + TAG_OVERHEAD * len(names)


# The entry if none of its tags was stamped after it, and the sequence either way.
_READ = """
local seq = redis.call('GET', KEYS[2]) or '0'
local v = redis.call('GET', KEYS[1])
if not v then return {seq} end
local nl = string.find(v, '\\n', 1, true)
if not nl then return {seq} end
local stamp = nil
local all = redis.call('GET', ARGV[1] .. '*')
for word in string.gmatch(string.sub(v, 1, nl - 1), '%S+') do
  if stamp == nil then
    stamp = tonumber(word)
    if all and tonumber(all) > stamp then return {seq} end
  else
    local at = redis.call('GET', ARGV[1] .. word)
    if at and tonumber(at) > stamp then return {seq} end
  end
end
return {seq, v}
"""

# Stamp the tags with the next number and announce them, in one step.
_INVALIDATE = """
local s = redis.call('INCR', KEYS[1])
for i = 4, #ARGV do
  redis.call('SET', ARGV[1] .. ARGV[i], s, 'PX', ARGV[2])
end
redis.call('PUBLISH', ARGV[3], s .. ' ' .. table.concat(ARGV, ' ', 4))
return s
"""


class Local:
    """The local level: bodies by key, LRU, bounded in bytes, indexed by tag."""

    def __init__(self, max_bytes: int, liveness: float) -> None:
        self.max_bytes = max_bytes
        self.liveness = liveness
        self.size = 0
        self.floor: int | None = None
        """The sequence from which this process has heard every announcement; None: off."""
        self.alive_until = 0.0
        self._entries: OrderedDict[str, tuple[bytes, tuple[str, ...]]] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}
        self._recent: list[tuple[int, frozenset[str]]] = []
        """Announcements heard, by number (a cluster may deliver them out of order)."""

    def __len__(self) -> int:
        return len(self._entries)

    def live(self) -> bool:
        if self.floor is None:
            return False
        if time.monotonic() >= self.alive_until:
            log.warning("no word from Redis for %.1f s: the local cache is emptied", self.liveness)
            self.reset()
            return False
        return True

    def get(self, key: str) -> bytes | None:
        if not self.live():
            return None
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: str, body: bytes, tags: Iterable[str], seq: int) -> None:
        """Keep `body`, current as of `seq`, unless an announcement heard since retired it."""
        if not self.live() or self.floor is None or seq < self.floor:
            return
        names = tuple(sys.intern(tag) for tag in tags)
        cost = _cost(key, body, names)
        if cost > self.max_bytes // 8:
            return
        wanted = set(names)
        for heard, dropped in reversed(self._recent):
            if heard <= seq:
                break
            if "*" in dropped or not wanted.isdisjoint(dropped):
                return
        else:
            if len(self._recent) == RECENT:
                return  # announcements after `seq` may have been forgotten
        self._remove(key)
        self._entries[key] = (body, names)
        for tag in names:
            self._by_tag.setdefault(tag, set()).add(key)
        self.size += cost
        while self.size > self.max_bytes and self._entries:
            self._remove(next(iter(self._entries)))

    def drop(self, seq: int, tags: Iterable[str]) -> None:
        """An announcement: entries carrying any of `tags` are stale from `seq` on."""
        dropped = frozenset(tags)
        bisect.insort(self._recent, (seq, dropped), key=lambda heard: heard[0])
        if len(self._recent) > RECENT:
            del self._recent[0]
        if "*" in dropped:
            self._clear()
            return
        for tag in dropped:
            for key in list(self._by_tag.get(tag, ())):
                self._remove(key)

    def enable(self, floor: int) -> None:
        self._clear()
        self._recent.clear()
        self.floor = floor
        self.heard()

    def heard(self) -> None:
        self.alive_until = time.monotonic() + self.liveness

    def reset(self) -> None:
        """Off, and empty, until `enable`."""
        self.floor = None
        self._clear()
        self._recent.clear()

    def _clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self.size = 0

    def _remove(self, key: str) -> None:
        found = self._entries.pop(key, None)
        if found is None:
            return
        body, names = found
        self.size -= _cost(key, body, names)
        for tag in names:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]


class _Shared:
    """The shared level in Redis."""

    def __init__(self, cache: RedisCache, base: str) -> None:
        self.cache = cache
        self.sequence = f"{base}:seq"
        self.stamps = f"{base}:t:"
        self.channel = f"{base}:inv"
        self._read = cache.script(_READ)
        self._invalidate = cache.script(_INVALIDATE)

    async def get(self, key: str) -> tuple[int, bytes | None]:
        """(the sequence, the entry if current); on a hit on a cluster, the sequence is the
        entry's own number (see the module's docstring)."""
        if self.cache.cluster:
            return await self._get_apart(key)
        found = await self._read([key, self.sequence], [self.stamps])
        return int(found[0]), bytes(found[1]) if len(found) > 1 else None

    async def _get_apart(self, key: str) -> tuple[int, bytes | None]:
        raw_seq, entry = await self.cache.get_many([self.sequence, key])
        seq = int(raw_seq or b"0")
        if entry is None or b"\n" not in entry:
            return seq, None
        stamp, *tags = entry.partition(b"\n")[0].decode().split()
        names = [f"{self.stamps}*", *(f"{self.stamps}{tag}" for tag in tags)]
        at = int(stamp)
        if any(found is not None and int(found) > at for found in await self.cache.get_many(names)):
            return seq, None
        return at, entry

    async def put(self, key: str, entry: bytes, ttl: float) -> None:
        await self.cache.set(key, entry, ttl)

    async def invalidate(self, tags: list[str]) -> int:
        if self.cache.cluster:
            return await self._invalidate_apart(tags)
        args: list[Any] = [self.stamps, TAG_TTL_MS, self.channel, *tags]
        return int(await self._invalidate([self.sequence], args))

    async def _invalidate_apart(self, tags: list[str]) -> int:
        # In this order (see the module's docstring); the SETs travel in one pipeline.
        seq = await self.cache.incr(self.sequence)
        stamp, ttl = str(seq).encode(), TAG_TTL_MS / 1000
        await asyncio.gather(*(self.cache.set(f"{self.stamps}{t}", stamp, ttl) for t in tags))
        await self.cache.publish(self.channel, f"{seq} {' '.join(tags)}".encode())
        return seq

    async def current(self) -> int:
        return int(await self.cache.get(self.sequence) or b"0")


class _InProcess:
    """The shared level when there is no Redis: one process, so nothing to announce."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self.sequence = 0
        self._stamps: dict[str, tuple[int, float]] = {}
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> tuple[int, bytes | None]:
        found = self._entries.get(key)
        if found is None:
            return self.sequence, None
        expires, entry = found
        now = time.monotonic()
        if expires < now or not self._current(entry, now):
            del self._entries[key]
            return self.sequence, None
        return self.sequence, entry

    def _current(self, entry: bytes, now: float) -> bool:
        header = entry.partition(b"\n")[0].split()
        stamp = int(header[0])
        for name in ("*", *(t.decode() for t in header[1:])):
            at = self._stamps.get(name)
            if at is not None and at[1] > now and at[0] > stamp:
                return False
        return True

    async def put(self, key: str, entry: bytes, ttl: float) -> None:
        self._entries[key] = (time.monotonic() + ttl, entry)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def invalidate(self, tags: list[str]) -> int:
        self.sequence += 1
        now = time.monotonic()
        until = now + TAG_TTL_MS / 1000
        for tag in tags:
            self._stamps[tag] = (self.sequence, until)
        if len(self._stamps) > 4 * self.max_entries:
            self._stamps = {t: s for t, s in self._stamps.items() if s[1] > now}
        return self.sequence

    async def current(self) -> int:
        return self.sequence


class Answers:
    """Both levels, single flight per key and sequence, and this process's listener."""

    def __init__(
        self,
        cache: Cache,
        prefix: str,
        *,
        enabled: bool = True,
        local_bytes: int = 8 * 1024 * 1024,
        liveness: float = 1.0,
    ) -> None:
        self.enabled = enabled
        self.liveness = liveness
        base = f"{prefix}:a1"
        self._base = base
        self._shared: _Shared | _InProcess = (
            _Shared(cache, base) if isinstance(cache, RedisCache) else _InProcess()
        )
        self.local: Local | None = None
        if isinstance(self._shared, _Shared) and local_bytes > 0 and enabled:
            self.local = Local(local_bytes, liveness)
        self._listener: asyncio.Task[None] | None = None
        self._flights: dict[tuple[str, int], asyncio.Future[bytes | None]] = {}
        self._dirty = False
        self._failing_since: float | None = None
        """When Redis last began failing this process (None: it answers)."""
        self.local_hits = 0

    def key(self, digest: str) -> str:
        return f"{self._base}:e:{digest}"

    async def read(self, key: str, load: Load, *, ttl: float) -> bytes | None:
        """The body under `key`, from the local level, Redis, or `load()` (then kept).

        Requests that wrote, callers who wrote a moment ago (read-your-writes: an entry
        may have been filled from a replica that had not replayed their write yet), and
        cold compare calls read `load()` and keep nothing; when Redis cannot answer,
        `load()` answers and nothing is kept."""
        stats = telemetry.current()
        if not self.enabled or (stats is not None and (stats.primary_only or stats.cold)):
            return _body(await load())
        local = self.local
        if local is not None:
            if self._listener is None:
                self._listener = asyncio.create_task(self._listen(), name="answers-listener")
            body = local.get(key)
            if body is not None:
                self.local_hits += 1
                if stats is not None:
                    stats.cache_hits += 1
                    stats.local_hits += 1
                return body
        try:
            if self._dirty:
                await self._repair()
            seq, entry = await self._shared.get(key)
        except CacheUnavailable:
            self._failed()
            if stats is not None:
                stats.cache_bypasses += 1
            return _body(await load())
        self._failing_since = None
        if entry is not None:
            header, _, body = entry.partition(b"\n")
            if stats is not None:
                stats.cache_hits += 1
            if local is not None:
                local.put(key, body, (t.decode() for t in header.split()[1:]), seq)
            return body
        if stats is not None:
            stats.cache_misses += 1
        return await self._fill(key, seq, load, ttl)

    async def _fill(self, key: str, seq: int, load: Load, ttl: float) -> bytes | None:
        flight = self._flights.get((key, seq))
        if flight is not None:
            return await asyncio.shield(flight)
        loop = asyncio.get_running_loop()
        flight = self._flights[(key, seq)] = loop.create_future()
        try:
            found = await load()
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # waiters re-raise it; asyncio need not log it
            raise
        finally:
            del self._flights[(key, seq)]
        if found is None:
            flight.set_result(None)
            return None
        body, tags = found
        flight.set_result(body)
        entry = f"{seq} {' '.join(sorted(tags))}\n".encode() + body
        # Jitter is for spreading expiries, not for secrecy.
        lifetime = ttl * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
        with contextlib.suppress(CacheUnavailable):
            await self._shared.put(key, entry, lifetime)
        if self.local is not None:
            self.local.put(key, body, tags, seq)
        return body

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Retire every answer carrying one of `tags` (call after the write commits)."""
        names = sorted(set(tags))
        if not self.enabled or not names:
            return
        try:
            if self._dirty:
                await self._repair()
            seq = await self._shared.invalidate(names)
        except CacheUnavailable:
            await self._missed()
            return
        self._failing_since = None
        if self.local is not None:
            self.local.drop(seq, names)

    def _failed(self) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()

    async def _missed(self) -> None:
        """An invalidation that did not reach Redis: answer only once no replica can still
        serve a local entry it made stale (see the module's docstring). Redis stopped
        answering at the latest when it first failed here, so every first level that
        could not hear since has lapsed `liveness` after that: during a long outage, only
        the first writes wait."""
        self._failed()
        self._dirty = True
        log.warning("answer invalidation failed; everything is retired when Redis is back")
        if self.local is None:
            return  # replicas share the setting: no first level anywhere to wait for
        self.local.reset()
        assert self._failing_since is not None
        await asyncio.sleep(max(0.0, self._failing_since + self.liveness - time.monotonic()))

    async def _repair(self) -> None:
        seq = await self._shared.invalidate(["*"])
        self._dirty = False
        if self.local is not None:
            self.local.drop(seq, ["*"])
        log.info("every cached answer retired after a missed invalidation")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        """Hear announcements (and pongs) on a connection of its own, for the local level."""
        shared, local = self._shared, self.local
        assert isinstance(shared, _Shared)
        assert local is not None
        delay = 0.1
        while True:
            pubsub: Any = None
            try:
                pubsub = await shared.cache.open_pubsub()
                await self._follow(pubsub, shared, local)
                delay = 0.1
            except (
                RedisError,
                RedisClusterException,
                OSError,
                TimeoutError,
                CacheUnavailable,
            ) as exc:
                stop_if_cancelled(exc)
                log.warning("answer announcements lost (%s); local cache off", exc)
            finally:
                local.reset()
                if pubsub is not None:
                    with contextlib.suppress(RedisError, OSError, TimeoutError):
                        await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _follow(self, pubsub: Any, shared: _Shared, local: Local) -> None:
        await pubsub.subscribe(shared.channel)
        async with asyncio.timeout(max(1.0, self.liveness)):
            while True:
                message = await pubsub.get_message(timeout=self.liveness)
                if message is not None and message["type"] == "subscribe":
                    break
        # Subscribed: every announcement from now on is heard. Those before are in Redis.
        local.enable(await shared.current())
        interval = self.liveness / 3
        while True:
            message = await pubsub.get_message(timeout=interval)
            if message is None:
                await pubsub.ping()  # its pong keeps the local level alive
                continue
            if local.floor is None:
                return  # it lapsed while Redis was silent: start over from a known point
            local.heard()
            if message["type"] == "message":
                number, *tags = bytes(message["data"]).decode().split()
                local.drop(int(number), tags)


def _body(found: tuple[bytes, frozenset[str]] | None) -> bytes | None:
    return None if found is None else found[0]

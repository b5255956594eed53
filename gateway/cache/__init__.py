"""The cache client: the only module that talks to Redis, with an in-process stand-in.

Every operation is bounded by a short timeout and guarded by a circuit breaker: when
Redis fails, calls answer "unavailable" at once instead of waiting, so a request
bypasses the cache and stays correct. After a cool-down one probe is let through;
its success closes the breaker and the cache comes back by itself.

It also carries publish/subscribe for change events: one pub/sub connection per process
fans messages out to local subscribers, so every replica hears every replica's writes.
Delivery is at most once: a message published while Redis is unreachable is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, Protocol

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from gateway.cache.batching import Batcher, Script

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


# An exact sliding log for sign-in failures: one sorted-set member per attempt, scored by
# its time. An attempt is let through only while fewer than `limit` attempts lie within
# the window, and is counted (reserved) in the same step, so concurrent attempts can never
# exceed the limit; a successful one is taken out again (`release`). The answer's third
# element is the milliseconds until the oldest attempt leaves the window.
_ATTEMPT_LOG = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, count + 1, window}
"""


# A lease on a sliding-window allowance (the counter of _SLIDING_WINDOW, kept in one hash
# per caller: w = the window's index, c = its count, p = the previous window's). It grants
# `want` units, or fewer if fewer are free, but never fewer than `need` (then nothing):
# a request that cannot be served takes nothing from other replicas. Granted units count
# at once, whether or not they are ever spent. The clock is Redis's own, so every replica
# agrees on where a window turns. The answer: granted, previous count, current count (the
# grant included), milliseconds until the window turns, the window's index.
_LEASE = """
redis.replicate_commands()
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local need, want = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local index = math.floor(now / window)
local elapsed = now - index * window
local state = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local at, count = tonumber(state[1]), tonumber(state[2]) or 0
local previous, current = 0, 0
if at == index then
  previous, current = tonumber(state[3]) or 0, count
elseif at == index - 1 then
  previous = count
end
local free = math.floor(limit - previous * (window - elapsed) / window - current)
local granted = 0
if free >= need then
  granted = math.min(want, free)
  current = current + granted
  redis.call('HSET', KEYS[1], 'w', index, 'c', current, 'p', previous)
  redis.call('PEXPIRE', KEYS[1], window * 2)
end
return {granted, previous, current, window - elapsed, index}
"""


# Versioned read: the key is the base plus the current generation counters, so entries
# written before a generation moved are never read again. Reading the counters and the
# entry in one script costs one round trip. (Under Redis Cluster all cache keys must share
# a slot: give CACHE_PREFIX a hash tag such as "{gw}".)
_VERSIONED_GET = """
local parts = {}
for i, counter in ipairs(KEYS) do
  parts[i] = redis.call('GET', counter) or '0'
end
local key = ARGV[1] .. '@' .. table.concat(parts, '.')
return {key, redis.call('GET', key)}
"""


# A bounded collection of entries: each entry is its own key with a TTL, and a sorted set
# (the index) scores every entry by when it expires. Adding one drops the expired from the
# index and, past the limit, deletes the entries that expire first (the oldest added). A
# new entry scores at least 1 ms past the newest, so entries added within one millisecond
# still leave in the order they came (with one TTL for all, as callers use it).
_BOUNDED_SET = """
local now, ttl, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local score = now + ttl
local newest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) >= score then
  score = tonumber(newest[2]) + 1
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[1], score, KEYS[2])
redis.call('PEXPIRE', KEYS[1], score - now)
local excess = redis.call('ZCARD', KEYS[1]) - limit
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
  redis.call('DEL', unpack(oldest))
end
return excess
"""


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


class Subscription:
    """The messages published on one channel after it was opened, until `aclose()`.

    Its queue is bounded: a subscriber that falls behind loses its oldest messages, never
    the newest, and never slows the publisher down.
    """

    def __init__(
        self,
        channel: str,
        queue: asyncio.Queue[bytes | None],
        release: Callable[[], Awaitable[None]],
    ) -> None:
        self.channel = channel
        self._queue = queue
        self._release = release
        self._closed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        message = await self._queue.get()
        if message is None:
            raise StopAsyncIteration
        return message

    async def aclose(self) -> None:
        """Stop receiving; a pending `__anext__` ends the iteration."""
        if self._closed:
            return
        self._closed = True
        _offer(self._queue, None)
        await self._release()


def _offer(queue: asyncio.Queue[bytes | None], message: bytes | None) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)


class _Fanout:
    """This process's subscribers, by channel."""

    def __init__(self, queue_size: int = 64) -> None:
        self.queue_size = queue_size
        self._queues: dict[str, set[asyncio.Queue[bytes | None]]] = {}

    def add(self, channel: str) -> tuple[asyncio.Queue[bytes | None], bool]:
        """A new subscriber's queue, and whether it is the channel's first."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(self.queue_size)
        queues = self._queues.setdefault(channel, set())
        queues.add(queue)
        return queue, len(queues) == 1

    def remove(self, channel: str, queue: asyncio.Queue[bytes | None]) -> bool:
        """Forget a subscriber; True when it was the channel's last."""
        queues = self._queues.get(channel)
        if queues is None:
            return False
        queues.discard(queue)
        if queues:
            return False
        del self._queues[channel]
        return True

    def channels(self) -> list[str]:
        return list(self._queues)

    def deliver(self, channel: str, message: bytes) -> None:
        for queue in self._queues.get(channel, ()):
            _offer(queue, message)


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

    def __init__(self, url: str, *, timeout: float = 0.15, max_connections: int = 64) -> None:
        self.url = url
        self.timeout = timeout
        self.breaker = CircuitBreaker()
        # A blocking pool: under a burst, callers wait (within the operation's timeout) for
        # a free connection; the default pool fails at once with "Too many connections",
        # which would open the breaker and send the whole burst to the database.
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # No retries: a retry storm against a struggling Redis makes everything slower.
            retry=Retry(NoBackoff(), 0),
        )
        self._client: redis.Redis = redis.Redis.from_pool(pool)
        self.pipelining = Batcher(self._client, timeout=timeout)
        self._window_script = Script(self.pipelining, _SLIDING_WINDOW)
        self._versioned_script = Script(self.pipelining, _VERSIONED_GET)
        self._bounded_script = Script(self.pipelining, _BOUNDED_SET)
        self._attempt_script = Script(self.pipelining, _ATTEMPT_LOG)
        self._lease_script = Script(self.pipelining, _LEASE)
        self._fanout = _Fanout()
        self._listener = _Listener(self._client, self._fanout, timeout)

    async def _command(self, *command: Any) -> Any:
        return await self._guarded(lambda: self.pipelining.submit(*command))

    async def _guarded(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        # Every operation is bounded where it waits (the batch's timeout, the script load's),
        # so no timer per call is needed here.
        if not self.breaker.allow():
            raise CacheUnavailable("circuit open")
        try:
            result = await operation()
        except ResponseError as exc:
            # Redis answered, refusing this command (a wrong type, say): not an outage.
            self.breaker.success()
            raise CacheUnavailable(str(exc)) from None
        except (RedisError, OSError, TimeoutError) as exc:
            self.breaker.failure()
            raise CacheUnavailable(str(exc) or type(exc).__name__) from None
        self.breaker.success()
        return result

    async def get(self, key: str) -> bytes | None:
        value = await self._command("GET", key)
        return value if value is None else bytes(value)

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        values = await self._command("MGET", *keys)
        return [value if value is None else bytes(value) for value in values]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._command("SET", key, value, "PX", max(1, int(ttl * 1000)))

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        return bool(await self._command("SET", key, value, "PX", max(1, int(ttl * 1000)), "NX"))

    async def set_bounded(self, index: str, key: str, value: bytes, ttl: float, limit: int) -> None:
        args = [value, int(time.time() * 1000), max(1, int(ttl * 1000)), limit]
        await self._guarded(lambda: self._bounded_script([index, key], args))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._command("DEL", *keys)

    async def incr(self, key: str) -> int:
        return int(await self._command("INCR", key))

    async def versioned_get(self, base: str, versions: list[str]) -> tuple[str, bytes | None]:
        key, value = await self._guarded(lambda: self._versioned_script(versions, [base]))
        return _text(key), None if value is None else bytes(value)

    async def bump(self, *counters: str) -> None:
        # One INCR per counter, queued together: they travel in one pipeline.
        if counters:
            await self._guarded(
                lambda: asyncio.gather(*(self.pipelining.submit("INCR", c) for c in counters))
            )

    async def hit(self, key: str, cost: int, limit: int, window: float) -> tuple[bool, int, float]:
        now_ms = int(time.time() * 1000)
        window_ms = int(window * 1000)
        index, elapsed = divmod(now_ms, window_ms)
        # The hash tag keeps both windows of one key in one Redis Cluster slot.
        keys = [f"{{{key}}}:{index}", f"{{{key}}}:{index - 1}"]
        args = [cost, limit, window_ms, elapsed]
        result = await self._guarded(lambda: self._window_script(keys, args))
        allowed, count = int(result[0]), int(result[1])
        return bool(allowed), count, (window_ms - elapsed) / 1000

    async def lease(self, key: str, need: int, want: int, limit: int, window: float) -> Lease:
        args = [need, want, limit, int(window * 1000)]
        result = await self._guarded(lambda: self._lease_script([f"{{{key}}}"], args))
        granted, previous, current, remaining, index = (int(part) for part in result)
        return Lease(granted, previous, current, remaining / 1000, index)

    async def reserve(
        self, key: str, member: str, limit: int, window: float
    ) -> tuple[bool, int, float]:
        keys = [f"{{{key}}}"]
        args = [int(time.time() * 1000), int(window * 1000), limit, member]
        result = await self._guarded(lambda: self._attempt_script(keys, args))
        return bool(int(result[0])), int(result[1]), int(result[2]) / 1000

    async def release(self, key: str, member: str | None) -> None:
        if member is None:
            await self._command("DEL", f"{{{key}}}")
        else:
            await self._command("ZREM", f"{{{key}}}", member)

    async def ping(self) -> bool:
        try:
            return bool(await self._command("PING"))
        except CacheUnavailable:
            return False

    async def publish(self, channel: str, message: bytes) -> None:
        await self._command("PUBLISH", channel, message)

    async def subscribe(self, channel: str) -> Subscription:
        queue, first = self._fanout.add(channel)

        async def release() -> None:
            if self._fanout.remove(channel, queue):
                await self._listener.drop(channel)

        await self._listener.want(channel, first=first)
        return Subscription(channel, queue, release)

    def script(self, source: str) -> Callable[[list[str], list[Any]], Awaitable[Any]]:
        """A Lua script, run like any command: batched, bounded, behind the breaker."""
        compiled = Script(self.pipelining, source)

        async def run(keys: list[str], args: list[Any]) -> Any:
            return await self._guarded(lambda: compiled(keys, args))

        return run

    def pubsub(self) -> Any:
        """A pub/sub connection of its own (`gateway.cache.answers` listens on one)."""
        return self._client.pubsub()

    async def close(self) -> None:
        await self._listener.close()
        await self.pipelining.close()
        await self._client.aclose()


class _Listener:
    """One pub/sub connection per process, shared by every local subscriber.

    It subscribes to a channel when its first local subscriber arrives and unsubscribes
    when the last one leaves. After a lost connection it reconnects with backoff and
    subscribes again to every channel still wanted.
    """

    def __init__(self, client: redis.Redis, fanout: _Fanout, timeout: float) -> None:
        self._client = client
        self._fanout = fanout
        self._timeout = timeout
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._confirmations: dict[str, asyncio.Future[None]] = {}

    async def want(self, channel: str, *, first: bool) -> None:
        """Return once Redis confirmed the subscription, or after a bounded wait if it is
        unreachable (the reader then subscribes as soon as Redis is back)."""
        if first:
            self._confirmations[channel] = asyncio.get_running_loop().create_future()
            if self._task is None:
                self._task = asyncio.create_task(self._run(), name="cache-pubsub")
            elif self._pubsub is not None:
                await self._command(self._pubsub.subscribe, channel)
        confirmation = self._confirmations.get(channel)
        if confirmation is None:
            return
        try:
            async with asyncio.timeout(max(1.0, self._timeout * 4)):
                await asyncio.shield(confirmation)
        except TimeoutError:
            log.warning(
                "subscription to %s not confirmed yet; it will be once Redis answers", channel
            )

    async def drop(self, channel: str) -> None:
        self._confirmations.pop(channel, None)
        if self._pubsub is not None:
            await self._command(self._pubsub.unsubscribe, channel)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _command(self, command: Callable[..., Awaitable[Any]], *args: Any) -> None:
        # Only writes: the reader task reads the replies. A failure here also breaks the
        # reader's read, which reconnects and subscribes to every wanted channel again.
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(self._timeout):
                await command(*args)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            pubsub: Any = self._client.pubsub()
            try:
                await pubsub.connect()
                # From here on `want` subscribes new channels itself; the ones wanted until
                # now are subscribed here (no await between the two lines: none is missed).
                self._pubsub = pubsub
                channels = self._fanout.channels()
                if channels:
                    await pubsub.subscribe(*channels)
                delay = 0.1
                await self._read(pubsub)
            except (RedisError, OSError) as exc:
                log.warning("pub/sub connection lost (%s); reconnecting in %.1f s", exc, delay)
            finally:
                self._pubsub = None
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _read(self, pubsub: Any) -> None:
        quiet = 0
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                quiet += 1
                if quiet >= 15:
                    # A silent peer may be a dead one: a ping makes a broken connection fail.
                    await pubsub.ping()
                    quiet = 0
                continue
            quiet = 0
            kind, channel = message["type"], _text(message["channel"])
            if kind == "message":
                self._fanout.deliver(channel, bytes(message["data"]))
            elif kind == "subscribe":
                confirmation = self._confirmations.pop(channel, None)
                if confirmation is not None and not confirmation.done():
                    confirmation.set_result(None)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


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
        self._fanout = _Fanout()

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
        entry = self._data.get(key)
        value = int(entry[1]) + 1 if entry else 1
        self._data[key] = (float("inf"), str(value).encode())
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


def connect(url: str | None, *, timeout: float) -> Cache:
    """A Redis cache for `url`, or the in-process one when there is no Redis."""
    if url is None:
        return MemoryCache()
    return RedisCache(url, timeout=timeout)

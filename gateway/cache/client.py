"""`RedisCache`: the cache on a real Redis (one server, a Sentinel-watched master or a
Cluster), the only module that sends it commands.

Every operation is bounded by a short timeout and guarded by a circuit breaker: when
Redis fails, calls answer "unavailable" at once instead of waiting, so a request
bypasses the cache and stays correct. After a cool-down one probe is let through;
its success closes the breaker and the cache comes back by itself.

It also carries publish/subscribe for change events: one pub/sub connection per process
fans messages out to local subscribers, so every replica hears every replica's writes.
Delivery is at most once: a message published while Redis is unreachable is lost.

On a Redis Cluster keys spread over the slots by what they are (an answer, a caller's
allowance, an idempotency key, a persisted document); a script that needs several keys
gets them in one slot by a hash tag (a caller's two sliding windows), or is split into
per-slot steps (`versioned_get`, `set_bounded`). Commands still travel in one pipeline
per event-loop turn, which redis-py's cluster pipeline sends to each node in parallel;
multi-key commands are split per slot first. The breaker is one for the whole cluster:
while a master fails over, the cache is bypassed, even for keys on the other masters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import (
    AskError,
    ClusterError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)

from gateway.cache import scripts
from gateway.cache.batching import Batcher, Script
from gateway.cache.breaker import CircuitBreaker
from gateway.cache.engines import open_engine
from gateway.cache.interface import CacheUnavailable, Lease
from gateway.cache.listener import Listener
from gateway.cache.subscriptions import Fanout, Subscription

# Replies that are not a refusal of the command but a sign that (part of) Redis is failing
# over: CLUSTERDOWN, TRYAGAIN, a MOVED/ASK left after the redirections redis-py follows, a
# demoted master's READONLY, and a slot no known node covers.
_OUTAGES = (ClusterError, TryAgainError, AskError, ReadOnlyError, RedisClusterException)


class RedisCache:
    """Redis with bounded waits, no retries and a circuit breaker."""

    kind = "redis"

    def __init__(self, url: str, *, timeout: float = 0.15, max_connections: int = 64) -> None:
        self.url = url
        self.timeout = timeout
        self.breaker = CircuitBreaker()
        engine = open_engine(url, timeout=timeout, max_connections=max_connections)
        self.engine = engine.kind
        """"redis" (one server), "sentinel" (the master Sentinel names) or "cluster"."""
        self.cluster = engine.kind == "cluster"
        self._client: Any = engine.client
        self.pipelining = Batcher(self._client, timeout=timeout)
        self._window_script = Script(self.pipelining, scripts.SLIDING_WINDOW)
        self._versioned_script = Script(self.pipelining, scripts.VERSIONED_GET)
        self._bounded_script = Script(self.pipelining, scripts.BOUNDED_SET)
        self._index_script = Script(self.pipelining, scripts.BOUNDED_INDEX)
        self._attempt_script = Script(self.pipelining, scripts.ATTEMPT_LOG)
        self._lease_script = Script(self.pipelining, scripts.LEASE)
        self._fanout = Fanout()
        self._listener = Listener(self.open_pubsub, self._fanout, timeout)
        self._next_node = 0

    async def _command(self, *command: Any) -> Any:
        return await self._guarded(lambda: self.pipelining.submit(*command))

    async def _guarded(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        # Every operation is bounded where it waits (the batch's timeout, the script load's),
        # so no timer per call is needed here.
        if not self.breaker.allow():
            raise CacheUnavailable("circuit open")
        try:
            result = await operation()
        except _OUTAGES as exc:
            # Errors Redis answers with while it is failing over, and a cluster's own.
            self.breaker.failure()
            raise CacheUnavailable(str(exc) or type(exc).__name__) from None
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
        if not self.cluster:
            values = await self._command("MGET", *keys)
            return [value if value is None else bytes(value) for value in values]
        # A cluster answers MGET only for keys of one slot: one MGET per slot, all queued
        # in this loop turn, so they travel in one pipeline (to each node in parallel).
        by_slot = self._by_slot(keys)
        replies = await self._guarded(
            lambda: asyncio.gather(*(self.pipelining.submit("MGET", *g) for g in by_slot))
        )
        found: dict[str, bytes | None] = {}
        for group, values in zip(by_slot, replies, strict=True):
            for key, value in zip(group, values, strict=True):
                found[key] = value if value is None else bytes(value)
        return [found[key] for key in keys]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._command("SET", key, value, "PX", max(1, int(ttl * 1000)))

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        return bool(await self._command("SET", key, value, "PX", max(1, int(ttl * 1000)), "NX"))

    async def set_bounded(self, index: str, key: str, value: bytes, ttl: float, limit: int) -> None:
        now, ttl_ms = int(time.time() * 1000), max(1, int(ttl * 1000))
        if not self.cluster:
            args = [value, now, ttl_ms, limit]
            await self._guarded(lambda: self._bounded_script([index, key], args))
            return
        # On a cluster each entry lives in its own slot, so the entries spread over the
        # nodes: store the entry, record it in the index (one script on the index's slot),
        # then delete what fell out. Not one atomic step: if this process stops between
        # the steps, an entry outside the index lives out its TTL, or one over the limit
        # does; the bound is a memory bound, and no reader can tell.
        await self._command("SET", key, value, "PX", ttl_ms)
        index_args = [now, ttl_ms, limit, key]
        dropped = await self._guarded(lambda: self._index_script([index], index_args))
        if dropped:
            await self.delete(*(_text(name) for name in dropped))

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        if not self.cluster:
            await self._command("DEL", *keys)
            return
        groups = self._by_slot(list(keys))
        await self._guarded(
            lambda: asyncio.gather(*(self.pipelining.submit("DEL", *g) for g in groups))
        )

    async def incr(self, key: str) -> int:
        return int(await self._command("INCR", key))

    async def versioned_get(self, base: str, versions: list[str]) -> tuple[str, bytes | None]:
        if not self.cluster:
            key, value = await self._guarded(lambda: self._versioned_script(versions, [base]))
            return _text(key), None if value is None else bytes(value)
        # On a cluster the counters and the entry lie in slots of their own, so no one
        # script can read them all: the counters are read first (per slot), then the entry.
        # That needs no atomicity. Generations only grow, and a write bumps its tables'
        # after it commits: every counter read here is at least what it was when this read
        # began, so any write that finished before then is in the key, and an entry under
        # that key was loaded after the write committed (its filler read the same
        # counters first). A write that bumps a counter between the two reads is one still
        # under way, and answering as of just before it is what the one-script read does
        # when it runs first. Costs a second round trip, as the entry's key is only known
        # once the counters are.
        counters = await self.get_many(versions)
        key = f"{base}@{'.'.join((c or b'0').decode() for c in counters)}"
        return key, await self.get(key)

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
        """Whether Redis answers (on a cluster, every master it knows of)."""
        try:
            if not self.cluster:
                return bool(await self._command("PING"))
            every = self._client.ping
            return bool(await self._guarded(lambda: self._bounded(every(target_nodes="primaries"))))
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
        """A pub/sub connection of its own, not yet connected (see `open_pubsub`)."""
        return self._client.pubsub()

    async def open_pubsub(self) -> Any:
        """A pub/sub connection of its own (`gateway.cache.answers` listens on one).

        On a cluster, each call takes the next node in turn, masters and replicas alike:
        a classic PUBLISH reaches subscribers on every node, and after a failover the next
        connection goes elsewhere than the node that died. Raises what Redis raises."""
        if not self.cluster:
            return self._client.pubsub()
        if not self._client.get_nodes():
            async with asyncio.timeout(max(1.0, self.timeout * 4)):
                await self._client.initialize()
        nodes = sorted(self._client.get_nodes(), key=lambda node: node.name)
        self._next_node = (self._next_node + 1) % len(nodes)
        return self._client.pubsub(node=nodes[self._next_node])

    def keyslot(self, key: str) -> int:
        """The cluster slot `key` hashes to (0 when Redis is one server)."""
        return int(self._client.keyslot(key)) if self.cluster else 0

    def _by_slot(self, keys: list[str]) -> list[list[str]]:
        groups: dict[int, list[str]] = {}
        for key in keys:
            groups.setdefault(self.keyslot(key), []).append(key)
        return list(groups.values())

    async def _bounded(self, operation: Awaitable[Any]) -> Any:
        async with asyncio.timeout(self.timeout):
            return await operation

    async def close(self) -> None:
        await self._listener.close()
        await self.pipelining.close()
        await self._client.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

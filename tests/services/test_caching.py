"""The services' read-through cache on a real Redis: generations, single flight, failure."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_client

from gateway import telemetry
from gateway.cache import RedisCache
from gateway.cli.embedded import EmbeddedRedis
from gateway.services.caching import ReadCache
from tests.processes import free_port

pytestmark = pytest.mark.anyio


class Source:
    """A stand-in for the database behind one cached read: counts its loads."""

    def __init__(self, value: object = "v1") -> None:
        self.value = value
        self.loads = 0
        self.fail = False

    async def load(self) -> object:
        self.loads += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise LookupError("database says no")
        return {"value": self.value}


@pytest.fixture
async def reads(redis_url: str) -> AsyncIterator[ReadCache]:
    cache = RedisCache(redis_url, timeout=0.5)
    yield ReadCache(cache, f"gwtest:{uuid.uuid4().hex[:8]}")
    await cache.close()


async def test_miss_then_hit_and_the_outcome_is_counted(reads: ReadCache) -> None:
    source = Source()
    stats = telemetry.begin("t")
    first = await reads.read("thing", [1], ["things"], source.load, ttl=60)
    second = await reads.read("thing", [1], ["things"], source.load, ttl=60)
    assert first == second == {"value": "v1"}
    assert source.loads == 1
    assert (stats.cache_misses, stats.cache_hits, stats.cache_outcome) == (1, 1, "MIXED")


async def test_a_write_to_a_table_retires_what_was_read_from_it(reads: ReadCache) -> None:
    source = Source()
    await reads.read("thing", [1], ["things", "others"], source.load, ttl=60)
    await reads.invalidate("unrelated")
    await reads.read("thing", [1], ["things", "others"], source.load, ttl=60)
    assert source.loads == 1
    source.value = "v2"
    await reads.invalidate("others")
    assert await reads.read("thing", [1], ["things", "others"], source.load, ttl=60) == {
        "value": "v2"
    }
    assert source.loads == 2


async def test_different_parts_are_different_entries(reads: ReadCache) -> None:
    one, two = Source("one"), Source("two")
    assert await reads.read("thing", [{"a": 1, "b": 2}], ["t"], one.load, ttl=60) == {
        "value": "one"
    }
    assert await reads.read("thing", [{"b": 2, "a": 1}], ["t"], two.load, ttl=60) == {
        "value": "one"
    }
    assert await reads.read("thing", [{"a": 1, "b": 3}], ["t"], two.load, ttl=60) == {
        "value": "two"
    }


async def test_concurrent_misses_load_once(reads: ReadCache) -> None:
    source = Source()
    results = await asyncio.gather(
        *(reads.read("hot", [7], ["things"], source.load, ttl=60) for _ in range(200))
    )
    assert source.loads == 1
    assert all(r == {"value": "v1"} for r in results)


async def test_errors_are_not_cached(reads: ReadCache) -> None:
    source = Source()
    source.fail = True
    for _ in range(2):
        with pytest.raises(LookupError):
            await reads.read("thing", [9], ["things"], source.load, ttl=60)
    source.fail = False
    assert await reads.read("thing", [9], ["things"], source.load, ttl=60) == {"value": "v1"}
    assert source.loads == 3


async def test_disabled_cache_always_loads_and_reports_nothing() -> None:
    port = free_port()
    cache = RedisCache(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    reads = ReadCache(cache, "gwtest", enabled=False)
    source = Source()
    stats = telemetry.begin("t")
    for _ in range(3):
        await reads.read("thing", [1], ["t"], source.load, ttl=60)
    await reads.invalidate("t")
    assert source.loads == 3 and stats.cache_outcome is None
    await cache.close()


async def test_redis_gone_is_a_bypass_with_correct_data(own_redis: EmbeddedRedis) -> None:
    cache = RedisCache(own_redis.url, timeout=0.1)
    reads = ReadCache(cache, "gwtest")
    source = Source()
    try:
        await reads.read("thing", [1], ["t"], source.load, ttl=60)
        own_redis.kill()
        stats = telemetry.begin("t")
        source.value = "fresh"
        for _ in range(4):
            assert await reads.read("thing", [1], ["t"], source.load, ttl=60) == {"value": "fresh"}
        assert stats.cache_bypasses == 4 and stats.cache_outcome == "BYPASS"
    finally:
        await cache.close()


async def test_a_write_missed_while_redis_hung_retires_everything(own_redis: EmbeddedRedis) -> None:
    cache = RedisCache(own_redis.url, timeout=0.15)
    cache.breaker.cooldown = 0.2
    reads = ReadCache(cache, "gwtest")
    source = Source()
    admin = redis_client.Redis.from_url(own_redis.url)
    try:
        await reads.read("thing", [1], ["t"], source.load, ttl=60)
        # Redis hangs (it keeps its data); the write's invalidation cannot reach it.
        await admin.client_pause(800, all=True)
        source.value = "written during the hang"
        await reads.invalidate("t")
        await asyncio.sleep(1.0)  # the pause ends; the stale entry is still in Redis
        assert await reads.read("thing", [1], ["t"], source.load, ttl=60) == {
            "value": "written during the hang"
        }
    finally:
        await admin.aclose()
        await cache.close()


async def test_a_change_event_goes_out_only_after_the_writes_reads_are_retired(
    redis_url: str,
) -> None:
    # Subscribers re-read the entity the moment they hear of a change, sooner than the
    # request pipeline invalidates; so publishing must retire the write's entries first.
    from gateway.db import Database
    from gateway.services import events
    from gateway.services.ratelimit import RateLimiter
    from gateway.services.resources import Resources
    from gateway.settings import Settings
    from gateway.tokens import TokenIssuer

    prefix = f"gwtest:{uuid.uuid4().hex[:8]}"
    cache = RedisCache(redis_url, timeout=0.5)
    reads = ReadCache(cache, prefix)
    resources = Resources(
        settings=Settings(cache_prefix=prefix, jwt_secret="x" * 64),
        db=Database("postgresql://unused@127.0.0.1:1/unused", {}),
        cache=cache,
        tokens=TokenIssuer("x" * 64, issuer="i", audience="a", ttl=60),
        limiter=RateLimiter(cache, prefix=prefix, general=1),
        reads=reads,
    )
    watcher = redis_client.Redis.from_url(redis_url)
    pubsub = watcher.pubsub()
    try:
        await pubsub.subscribe(events.channel(resources, "product", 3))
        await pubsub.get_message(timeout=1)  # the subscribe confirmation
        generation = reads.generation("products")
        before = int(await watcher.get(generation) or 0)
        stats = telemetry.begin("write")
        stats.written.add("products")
        await events.publish(resources, "product", 3)
        message = None
        while message is None:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert int(await watcher.get(generation) or 0) > before
    finally:
        await pubsub.aclose()
        await watcher.aclose()
        await cache.close()

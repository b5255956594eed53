"""The cache client: real Redis with bounded waits and a circuit breaker, and its stand-in."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from gateway.cache import CacheUnavailable, MemoryCache, RedisCache, connect
from gateway.cli.embedded import EmbeddedRedis
from tests.processes import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def cache(redis_url: str) -> AsyncIterator[RedisCache]:
    client = RedisCache(redis_url, timeout=0.5)
    yield client
    await client.close()


def key() -> str:
    return f"gwtest:{uuid.uuid4().hex}"


@pytest.mark.parametrize("kind", ["redis", "memory"])
async def test_set_bounded_keeps_the_entries_that_expire_last(redis_url: str, kind: str) -> None:
    store = RedisCache(redis_url, timeout=0.5) if kind == "redis" else MemoryCache()
    index, names = key(), [key() for _ in range(5)]
    try:
        for name in names[:4]:
            await store.set_bounded(index, name, name.encode(), ttl=10, limit=3)
        assert [await store.get(n) for n in names[:4]] == [None, *(n.encode() for n in names[1:4])]
        # Re-adding one renews it, so the next to go is the one after it.
        await store.set_bounded(index, names[1], b"again", ttl=10, limit=3)
        await store.set_bounded(index, names[4], b"new", ttl=10, limit=3)
        values = [await store.get(n) for n in names]
        assert values == [None, b"again", None, names[3].encode(), b"new"]
        # Expired entries leave the index, so they make room without evicting anyone.
        short, other, last = key(), key(), key()
        await store.set_bounded(short, other, b"short", ttl=0.1, limit=2)
        await store.set_bounded(short, names[0], b"long", ttl=10, limit=2)
        await asyncio.sleep(0.2)
        await store.set_bounded(short, last, b"last", ttl=10, limit=2)
        assert [await store.get(n) for n in (other, names[0], last)] == [None, b"long", b"last"]
    finally:
        await store.delete(index, *names)
        await store.close()


async def test_set_get_delete_and_expiry(cache: RedisCache) -> None:
    k = key()
    assert await cache.get(k) is None
    await cache.set(k, b"value", ttl=0.2)
    assert await cache.get(k) == b"value"
    await asyncio.sleep(0.3)
    assert await cache.get(k) is None
    await cache.set(k, b"v", ttl=10)
    await cache.delete(k)
    assert await cache.get(k) is None
    assert await cache.incr(k) == 1
    assert await cache.incr(k) == 2
    await cache.delete(k)


async def test_unreachable_redis_fails_fast_then_the_breaker_opens() -> None:
    port = free_port()
    client = RedisCache(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    try:
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(CacheUnavailable):
                await client.get("k")
            assert time.monotonic() - started < 0.5
        assert client.breaker.open
        with pytest.raises(CacheUnavailable, match="circuit open"):
            await client.get("k")
        assert await client.ping() is False
    finally:
        await client.close()


async def test_comes_back_by_itself_when_redis_returns(own_redis: EmbeddedRedis) -> None:
    client = RedisCache(own_redis.url, timeout=0.2)
    client.breaker.cooldown = 0.2
    try:
        await client.set("k", b"1", ttl=60)
        own_redis.kill()
        for _ in range(3):
            with pytest.raises(CacheUnavailable):
                await client.get("k")
        assert client.breaker.open
        own_redis.start()
        await asyncio.sleep(0.3)
        # The probe after the cool-down succeeds and closes the breaker.
        assert await client.get("k") is None  # a fresh server: the old entry is gone
        assert not client.breaker.open
    finally:
        await client.close()


async def test_memory_cache_has_the_same_behaviour() -> None:
    cache = MemoryCache(max_entries=3)
    await cache.set("a", b"1", ttl=0.1)
    assert await cache.get("a") == b"1"
    await asyncio.sleep(0.15)
    assert await cache.get("a") is None
    for name in "bcde":
        await cache.set(name, name.encode(), ttl=60)
    assert await cache.get("b") is None  # the oldest entry made room
    assert await cache.get("e") == b"e"
    assert await cache.incr("n") == 1
    assert await cache.incr("n") == 2
    assert await cache.ping() is True


def test_connect_picks_the_kind() -> None:
    assert connect(None, timeout=0.1).kind == "memory"
    assert connect("redis://127.0.0.1:6379/0", timeout=0.1).kind == "redis"


async def test_commands_issued_together_share_one_round_trip(cache: RedisCache) -> None:
    """Fifty concurrent operations go to Redis as one pipeline, each with its own reply."""
    keys = [key() for _ in range(50)]
    await asyncio.gather(*(cache.set(k, k.encode(), ttl=10) for k in keys))
    batches_before = cache.pipelining.batches
    values = await asyncio.gather(*(cache.get(k) for k in keys))
    assert values == [k.encode() for k in keys]
    assert cache.pipelining.batches == batches_before + 1
    await cache.delete(*keys)


async def test_one_failing_command_fails_only_its_caller(cache: RedisCache) -> None:
    text, counter = key(), key()
    await cache.set(text, b"not a number", ttl=10)
    for attempt in range(1, cache.breaker.threshold + 2):
        results = await asyncio.gather(
            cache.incr(text), cache.incr(counter), cache.get(text), return_exceptions=True
        )
        # INCR on text is Redis's error for that caller alone, and not a sign of an outage:
        # however often it happens, the breaker stays closed and the others are served.
        assert isinstance(results[0], CacheUnavailable)
        assert "not an integer" in str(results[0])
        assert list(results[1:]) == [attempt, b"not a number"]
        assert not cache.breaker.open
    await cache.delete(text, counter)


async def test_scripts_survive_redis_forgetting_them(cache: RedisCache, redis_url: str) -> None:
    import redis.asyncio as redis_client

    counters = [key(), key()]
    base = key()
    first, _ = await cache.versioned_get(base, counters)
    control = redis_client.Redis.from_url(redis_url)
    try:
        await control.script_flush()
    finally:
        await control.aclose()
    await cache.bump(counters[0])
    second, _ = await cache.versioned_get(base, counters)
    assert (first, second) == (f"{base}@0.0", f"{base}@1.0")
    allowed, count, _ = await cache.hit(key(), 1, 5, 60)
    assert (allowed, count) == (True, 1)
    await cache.delete(*counters)


def test_a_client_used_from_a_second_event_loop_answers_instead_of_hanging(
    redis_url: str,
) -> None:
    """The batcher keeps its loop; a new loop must not leave commands queued on the old one."""
    client = RedisCache(redis_url, timeout=0.5)
    k = key()

    async def use() -> bytes | None:
        try:
            await asyncio.wait_for(client.set(k, b"v", ttl=10), 2)
            return await asyncio.wait_for(client.get(k), 2)
        finally:
            await client.close()  # its connections belong to this loop

    assert asyncio.run(use()) == b"v"
    assert asyncio.run(use()) == b"v"

"""Change events through the cache's publish/subscribe: Redis across replicas (and after a
lost connection), the in-process twin, bounded queues, and best-effort publishing."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as redis

from gateway.cache import Cache, MemoryCache, RedisCache
from gateway.services import events
from gateway.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[RedisCache, RedisCache]]:
    first, second = RedisCache(redis_url, timeout=0.5), RedisCache(redis_url, timeout=0.5)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def channel() -> str:
    return f"gwtest:{uuid.uuid4().hex[:8]}:events:product:1"


async def next_message(subscription: AsyncIterator[bytes], timeout: float = 3.0) -> bytes:
    return await asyncio.wait_for(anext(subscription), timeout)


async def test_every_replica_hears_every_replica(replicas: tuple[RedisCache, RedisCache]) -> None:
    first, second = replicas
    name = channel()
    heard_here, heard_there = await first.subscribe(name), await second.subscribe(name)
    await second.publish(name, b"changed")
    assert await next_message(heard_here) == b"changed"
    assert await next_message(heard_there) == b"changed"
    await heard_here.aclose()
    await first.publish(name, b"again")
    assert await next_message(heard_there) == b"again"
    with pytest.raises(StopAsyncIteration):
        await next_message(heard_here)


async def test_subscriptions_come_back_after_a_lost_connection(
    replicas: tuple[RedisCache, RedisCache], redis_url: str
) -> None:
    listener, publisher = replicas
    name = channel()
    heard = await listener.subscribe(name)
    admin = redis.Redis.from_url(redis_url)
    try:
        await admin.client_kill_filter(_type="pubsub")
    finally:
        await admin.aclose()
    # At most once: what is published while it reconnects is lost, so keep announcing.
    for _ in range(100):
        await publisher.publish(name, b"back")
        try:
            assert await next_message(heard, timeout=0.05) == b"back"
            break
        except TimeoutError:
            continue
    else:
        pytest.fail("the subscription never came back")
    await heard.aclose()


async def test_the_in_process_twin_behaves_alike() -> None:
    cache = MemoryCache()
    name = channel()
    heard = await cache.subscribe(name)
    await cache.publish(name, b"one")
    await cache.publish(channel(), b"elsewhere")
    assert await next_message(heard) == b"one"
    await heard.aclose()
    with pytest.raises(StopAsyncIteration):
        await next_message(heard)


@pytest.mark.parametrize("make", ["memory", "redis"])
async def test_a_slow_subscriber_loses_its_oldest_messages(redis_url: str, make: str) -> None:
    cache: Cache = MemoryCache() if make == "memory" else RedisCache(redis_url, timeout=0.5)
    try:
        name = channel()
        heard = await cache.subscribe(name)
        for i in range(100):
            await cache.publish(name, str(i).encode())
        await asyncio.sleep(0.1)
        received = [await next_message(heard) for _ in range(64)]
        assert received[-1] == b"99"
        assert received[0] == b"36"
        await heard.aclose()
    finally:
        await cache.close()


async def test_changes_of_one_entity_end_after_its_deletion(settings: Settings) -> None:
    resources: Any = type("R", (), {"settings": settings, "cache": MemoryCache()})()
    changes = await events.listen(resources, "product", 7)
    await events.publish(resources, "product", 8)
    await resources.cache.publish(events.channel(resources, "product", 7), b"junk")
    await events.publish(resources, "product", 7)
    await events.publish(resources, "product", 7, deleted=True)
    assert await anext(changes) == events.Change("product", 7)
    assert await anext(changes) == events.Change("product", 7, deleted=True)
    with pytest.raises(StopAsyncIteration):
        await anext(changes)


async def test_publishing_without_redis_logs_and_carries_on(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = RedisCache(f"redis://127.0.0.1:{port}/0", timeout=0.05)
    resources: Any = type("R", (), {"settings": replace(settings), "cache": down})()
    try:
        await events.publish(resources, "order", 1, 2, 3)
    finally:
        await down.close()
    assert "change event not published" in caplog.text

"""gateway/cache/listener.py: one pub/sub connection per process, subscribed to what the
local subscribers want, confirmed before `want` returns, and gone with `close`.

Coming back after a lost connection is held by tests/services/test_events.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.cache.listener import Listener
from gateway.cache.subscriptions import Fanout
from tests.processes import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


def channel() -> str:
    return f"gwtest:{uuid.uuid4().hex}"


async def subscribers(client: redis.Redis, name: str) -> int:
    counts: Any = await client.pubsub_numsub(name)
    return int(counts[0][1])


async def until(check: Any) -> None:
    """Wait (bounded) until `check()` holds: Redis applies an UNSUBSCRIBE when it reads it."""
    for _ in range(300):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_want_returns_once_subscribed_and_messages_reach_the_fanout(
    client: redis.Redis,
) -> None:
    connections: list[Any] = []

    async def connect() -> Any:
        connections.append(client.pubsub())
        return connections[-1]

    fanout = Fanout()
    listener = Listener(connect, fanout, timeout=0.5)
    first, second = channel(), channel()
    try:
        queue, is_first = fanout.add(first)
        await listener.want(first, first=is_first)
        assert await subscribers(client, first) == 1  # confirmed: no publish can be missed
        await client.publish(first, b"hello")
        assert await asyncio.wait_for(queue.get(), 3) == b"hello"
        # A second channel goes over the same connection.
        other, is_first = fanout.add(second)
        await listener.want(second, first=is_first)
        assert await subscribers(client, second) == 1
        await client.publish(second, b"there")
        assert await asyncio.wait_for(other.get(), 3) == b"there"
        # A second local subscriber of a channel asks Redis nothing.
        _, is_first = fanout.add(first)
        assert not is_first
        await listener.want(first, first=False)
        assert len(connections) == 1 and await subscribers(client, first) == 1
    finally:
        await listener.close()


async def test_drop_unsubscribes_and_close_hangs_up(client: redis.Redis) -> None:
    async def connect() -> Any:
        return client.pubsub()

    fanout = Fanout()
    listener = Listener(connect, fanout, timeout=0.5)
    kept, dropped = channel(), channel()
    for name in (kept, dropped):
        _, is_first = fanout.add(name)
        await listener.want(name, first=is_first)
    await listener.drop(dropped)

    async def dropped_gone() -> bool:
        return await subscribers(client, dropped) == 0

    await until(dropped_gone)
    assert await subscribers(client, kept) == 1
    await listener.close()

    async def kept_gone() -> bool:
        return await subscribers(client, kept) == 0

    await until(kept_gone)
    await listener.close()  # a second time changes nothing


async def test_without_redis_want_gives_up_waiting_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))

    async def connect() -> Any:
        return unreachable.pubsub()

    caplog.set_level(logging.WARNING, logger="gateway.cache")
    fanout = Fanout()
    listener = Listener(connect, fanout, timeout=0.05)
    name = channel()
    try:
        _, is_first = fanout.add(name)
        await listener.want(name, first=is_first)  # returns after max(1 s, 4 timeouts)
    finally:
        await listener.close()
        await unreachable.aclose()
    messages = [r.getMessage() for r in caplog.records]
    assert f"subscription to {name} not confirmed yet; it will be once Redis answers" in messages
    assert any(m.startswith("pub/sub connection lost") for m in messages)


async def test_channels_wanted_while_connecting_are_subscribed_once_connected(
    client: redis.Redis,
) -> None:
    async def connect() -> Any:
        await asyncio.sleep(0.05)  # slow enough that every `want` below finds no connection
        return client.pubsub()

    fanout = Fanout()
    listener = Listener(connect, fanout, timeout=0.5)
    names = [channel() for _ in range(3)]
    try:
        for name in names:
            fanout.add(name)
        await asyncio.gather(*(listener.want(name, first=True) for name in names))
        assert [await subscribers(client, name) for name in names] == [1, 1, 1]
    finally:
        await listener.close()


async def test_close_ends_the_listener_when_a_timeout_swallowed_the_cancellation(
    client: redis.Redis,
) -> None:
    # On Python 3.11 a timeout expiring as the task is cancelled can raise TimeoutError in
    # place of the cancellation (redis-py's get_message, asyncio.timeout). The reconnecting
    # loop used to take it for a lost connection and go on for ever, so the app's shutdown
    # never ended (seen: a `gateway serve` that SIGTERM could not stop).
    reading = asyncio.Event()

    async def connect() -> Any:
        pubsub = client.pubsub()
        real = pubsub.get_message

        async def get_message(**kwargs: Any) -> Any:
            reading.set()
            try:
                return await real(**kwargs)
            except asyncio.CancelledError:
                raise TimeoutError from None  # what the race hands the loop

        pubsub.get_message = get_message  # type: ignore[method-assign,assignment]
        return pubsub

    fanout = Fanout()
    listener = Listener(connect, fanout, timeout=0.5)
    name = channel()
    _, is_first = fanout.add(name)
    await listener.want(name, first=is_first)
    await asyncio.wait_for(reading.wait(), 3)
    closing = asyncio.ensure_future(listener.close())
    done, _ = await asyncio.wait({closing}, timeout=5)
    assert done == {closing}, "close() did not end: the loop took the cancellation for an error"

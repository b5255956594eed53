"""gateway/cache/subscriptions.py: a subscription's bounded queue and the in-process fanout."""

from __future__ import annotations

import asyncio

import pytest

from gateway.cache.subscriptions import Fanout, Subscription

pytestmark = pytest.mark.anyio


def test_the_fanout_tells_the_first_and_the_last_subscriber() -> None:
    fanout = Fanout()
    first, is_first = fanout.add("orders")
    second, second_first = fanout.add("orders")
    assert (is_first, second_first) == (True, False)
    assert fanout.channels() == ["orders"]
    assert fanout.remove("orders", first) is False
    assert fanout.remove("orders", second) is True
    assert fanout.channels() == []
    assert fanout.remove("orders", second) is False  # no such channel any more
    assert fanout.remove("never", first) is False


async def test_a_message_reaches_every_subscriber_of_its_channel_only() -> None:
    fanout = Fanout()
    a, _ = fanout.add("orders")
    b, _ = fanout.add("orders")
    other, _ = fanout.add("products")
    fanout.deliver("orders", b"1")
    fanout.deliver("nobody", b"lost")
    assert (a.get_nowait(), b.get_nowait()) == (b"1", b"1")
    assert other.empty()


async def test_a_full_queue_drops_its_oldest_message() -> None:
    fanout = Fanout(queue_size=3)
    queue, _ = fanout.add("c")
    for n in range(5):
        fanout.deliver("c", str(n).encode())
    assert [queue.get_nowait() for _ in range(3)] == [b"2", b"3", b"4"]


async def test_a_subscription_iterates_until_closed_and_releases_once() -> None:
    released: list[str] = []

    async def release() -> None:
        released.append("released")

    queue: asyncio.Queue[bytes | None] = asyncio.Queue(4)
    subscription = Subscription("c", queue, release)
    queue.put_nowait(b"one")
    assert await anext(subscription) == b"one"
    waiting = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    await subscription.aclose()
    with pytest.raises(StopAsyncIteration):
        await waiting  # a pending read ends the iteration
    await subscription.aclose()
    assert released == ["released"]
    queue.put_nowait(b"late")
    assert [m async for m in subscription] == []  # closed: nothing more is read


async def test_closing_a_full_subscription_still_ends_it() -> None:
    async def release() -> None:
        return None

    queue: asyncio.Queue[bytes | None] = asyncio.Queue(2)
    subscription = Subscription("c", queue, release)
    queue.put_nowait(b"a")
    queue.put_nowait(b"b")
    await subscription.aclose()
    # The end marker took the oldest message's place rather than waiting for room.
    assert [queue.get_nowait(), queue.get_nowait()] == [b"b", None]

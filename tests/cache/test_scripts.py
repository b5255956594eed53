"""gateway/cache/scripts.py: each Lua step run as-is on real Redis, with the clock as an argument.

`RedisCache` passes the time in; here the tests pass it, so windows turn exactly where
the test says (LEASE alone reads Redis's clock, so its window is a billion seconds).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis

from gateway.cache import scripts

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


def key() -> str:
    return f"gwtest:{uuid.uuid4().hex}"


async def run(client: redis.Redis, source: str, keys: list[str], *args: Any) -> Any:
    return await client.eval(source, len(keys), *keys, *args)


async def test_sliding_window_weights_the_previous_window_by_its_overlap(
    client: redis.Redis,
) -> None:
    current, previous = key(), key()
    await client.set(previous, 10)

    async def hit(elapsed: int) -> Any:
        """Cost 1, limit 10, a window of 1000 ms, `elapsed` ms into it."""
        return await run(client, scripts.SLIDING_WINDOW, [current, previous], 1, 10, 1000, elapsed)

    # A quarter into the window, 3/4 of the previous window's 10 still count: 7.5 + 1.
    assert [await hit(250), await hit(250)] == [[1, 8], [1, 9]]
    # 7.5 + 2 + 1 is past the limit: refused, and the refusal is not counted.
    assert await hit(250) == [0, 9]
    assert await client.get(current) == b"2"
    # Half-way, only half of the previous window overlaps: room again.
    assert await hit(500) == [1, 8]
    assert 0 < await client.pttl(current) <= 2000
    await client.delete(current, previous)


async def test_attempt_log_counts_exactly_and_says_when_the_oldest_leaves(
    client: redis.Redis,
) -> None:
    log = key()
    assert await run(client, scripts.ATTEMPT_LOG, [log], 1000, 600, 2, "a") == [1, 1, 600]
    assert await run(client, scripts.ATTEMPT_LOG, [log], 1100, 600, 2, "b") == [1, 2, 600]
    # Full: the oldest (at 1000) leaves the window at 1600, 400 ms after now.
    assert await run(client, scripts.ATTEMPT_LOG, [log], 1200, 600, 2, "c") == [0, 2, 400]
    # At 1600 the first attempt is out of the window: room for one.
    assert await run(client, scripts.ATTEMPT_LOG, [log], 1600, 600, 2, "d") == [1, 2, 600]
    assert await client.zrange(log, 0, -1) == [b"b", b"d"]
    await client.delete(log)


async def test_lease_grants_up_to_want_never_below_need(client: redis.Redis) -> None:
    allowance, window = key(), 10**12
    leases = [
        await run(client, scripts.LEASE, [allowance], need, want, 10, window)
        for need, want in ((2, 6), (5, 6), (1, 6), (1, 1))
    ]
    # (granted, previous count, current count): 6 of 10; 4 free is less than 5 needed, so
    # nothing; then the 4 that are free; then none is.
    assert [lease[:3] for lease in leases] == [[6, 0, 6], [0, 0, 6], [4, 0, 10], [0, 0, 10]]
    index = leases[0][4]
    assert all(lease[4] == index and 0 < lease[3] <= window for lease in leases)
    state = await client.hgetall(allowance)
    assert state == {b"w": str(index).encode(), b"c": b"10", b"p": b"0"}
    await client.delete(allowance)


async def test_versioned_get_builds_the_key_from_the_counters(client: redis.Redis) -> None:
    base, a, b = key(), key(), key()
    await client.set(b, 4)
    assert await run(client, scripts.VERSIONED_GET, [a, b], base) == [f"{base}@0.4".encode(), None]
    await client.set(f"{base}@0.4", "entry")
    assert await run(client, scripts.VERSIONED_GET, [a, b], base) == [
        f"{base}@0.4".encode(),
        b"entry",
    ]
    await client.delete(b, f"{base}@0.4")


async def test_bounded_set_deletes_the_entries_that_expire_first(client: redis.Redis) -> None:
    index, entries = key(), [key() for _ in range(3)]
    # Three entries added within one millisecond still leave in the order they came.
    excess = [
        await run(client, scripts.BOUNDED_SET, [index, entry], "v", 5000, 60000, 2)
        for entry in entries
    ]
    assert excess == [-1, 0, 1]
    assert await client.exists(*entries) == 2
    assert await client.get(entries[0]) is None
    ranked: Any = await client.zrange(index, 0, -1, withscores=True)
    scores = [score for _, score in ranked]
    assert scores == [65001.0, 65002.0]
    # An entry past its expiry leaves the index without evicting anyone.
    assert await run(client, scripts.BOUNDED_SET, [index, key()], "v", 65001.5, 10, 2) == 0
    await client.delete(index, *entries)


async def test_bounded_index_answers_the_names_for_the_caller_to_delete(
    client: redis.Redis,
) -> None:
    index = key()
    assert await run(client, scripts.BOUNDED_INDEX, [index], 5000, 60000, 2, "a") == []
    assert await run(client, scripts.BOUNDED_INDEX, [index], 5000, 60000, 2, "b") == []
    assert await run(client, scripts.BOUNDED_INDEX, [index], 5000, 60000, 2, "c") == [b"a"]
    assert await client.zrange(index, 0, -1) == [b"b", b"c"]
    await client.delete(index)

"""gateway/cache/memory.py: the in-process stand-in, command by command.

Its bounded sets, leases and pub/sub are held beside Redis's in tests/cache/test_client.py,
tests/services/test_ratelimit_leases.py and tests/services/test_events.py. Windows here are
a billion seconds long, so none turns during a test.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from gateway.cache.client import RedisCache
from gateway.cache.memory import MemoryCache

pytestmark = pytest.mark.anyio

LONG = 1e9


async def test_expired_entries_read_as_absent_and_may_be_set_again() -> None:
    cache = MemoryCache()
    await cache.set("gone", b"x", ttl=-1)
    assert await cache.get("gone") is None
    assert await cache.set_if_absent("gone", b"first", ttl=60) is True
    assert await cache.set_if_absent("gone", b"second", ttl=60) is False
    assert await cache.get_many(["gone", "missing"]) == [b"first", None]
    await cache.delete("gone", "missing")
    assert await cache.get("gone") is None


async def test_when_full_expired_entries_go_before_the_oldest_live_one() -> None:
    cache = MemoryCache(max_entries=3)
    await cache.set("old", b"1", ttl=60)
    await cache.set("stale", b"2", ttl=-1)
    await cache.set("new", b"3", ttl=60)
    await cache.set("newest", b"4", ttl=60)
    assert await cache.get_many(["old", "new", "newest"]) == [b"1", b"3", b"4"]
    await cache.set("old", b"again", ttl=60)  # overwriting never evicts
    assert await cache.get_many(["old", "new", "newest"]) == [b"again", b"3", b"4"]
    await cache.set("fifth", b"5", ttl=60)
    assert await cache.get_many(["old", "new", "fifth"]) == [None, b"3", b"5"]


async def test_versioned_keys_move_when_a_counter_is_bumped() -> None:
    cache = MemoryCache()
    key, value = await cache.versioned_get("answers:q", ["gen:a", "gen:b"])
    assert (key, value) == ("answers:q@0.0", None)
    await cache.set(key, b"answer", ttl=60)
    assert await cache.versioned_get("answers:q", ["gen:a", "gen:b"]) == (
        "answers:q@0.0",
        b"answer",
    )
    await cache.bump("gen:b", "gen:b", "gen:a")
    assert await cache.versioned_get("answers:q", ["gen:a", "gen:b"]) == ("answers:q@1.2", None)
    assert await cache.versioned_get("answers:q", []) == ("answers:q@", None)


async def test_the_sliding_window_refuses_past_the_limit_without_counting() -> None:
    cache = MemoryCache()
    assert (await cache.hit("k", 3, 5, LONG))[:2] == (True, 3)
    assert (await cache.hit("k", 2, 5, LONG))[:2] == (True, 5)
    refused = await cache.hit("k", 1, 5, LONG)
    assert refused[:2] == (False, 5) and 0 < refused[2] <= LONG
    assert (await cache.hit("k", 1, 5, LONG))[:2] == (False, 5)  # refusals were not counted
    assert (await cache.hit("other", 5, 5, LONG))[:2] == (True, 5)
    assert (await cache.hit("big", 6, 5, LONG))[:2] == (False, 0)


async def test_a_lease_takes_what_is_free_but_not_less_than_needed() -> None:
    cache = MemoryCache()
    first = await cache.lease("k", need=1, want=4, limit=10, window=LONG)
    assert (first.granted, first.previous, first.current) == (4, 0, 4)
    assert (await cache.lease("k", need=1, want=8, limit=10, window=LONG)).granted == 6
    refused = await cache.lease("k", need=1, want=1, limit=10, window=LONG)
    assert (refused.granted, refused.current) == (0, 10)
    other = await cache.lease("j", need=5, want=5, limit=4, window=LONG)
    assert (other.granted, other.current) == (0, 0)


async def test_reserve_keeps_an_exact_log_and_release_takes_members_out() -> None:
    cache = MemoryCache()
    assert (await cache.reserve("log", "a", 2, 60))[:2] == (True, 1)
    assert (await cache.reserve("log", "b", 2, 60))[:2] == (True, 2)
    refused = await cache.reserve("log", "c", 2, 60)
    assert refused[:2] == (False, 2) and 0 < refused[2] <= 60
    await cache.release("log", "a")
    assert (await cache.reserve("log", "c", 2, 60))[:2] == (True, 2)
    await cache.release("log", None)  # all of them
    assert (await cache.reserve("log", "d", 2, 60))[:2] == (True, 1)
    await cache.release("never", "x")  # an unknown log: nothing happens


async def test_the_number_of_logs_is_bounded() -> None:
    cache = MemoryCache(max_entries=2)
    for name in ("first", "second", "third"):
        await cache.reserve(name, "m", 1, 60)
    # The log kept longest was forgotten, so its member may be recorded again.
    assert (await cache.reserve("first", "m", 1, 60))[0] is True
    assert (await cache.reserve("third", "m", 1, 60))[0] is False


async def test_incr_counts_on_from_what_is_stored_and_close_forgets_all() -> None:
    cache = MemoryCache()
    await cache.set("n", b"41", ttl=60)
    assert await cache.incr("n") == 42
    assert await cache.incr("fresh") == 1
    await cache.reserve("log", "m", 1, 60)
    await cache.close()
    assert await cache.get("n") is None
    assert (await cache.reserve("log", "m", 1, 60))[0] is True


@pytest.mark.parametrize("kind", ["redis", "memory"])
async def test_incr_keeps_the_entrys_expiry_as_redis_does(redis_url: str, kind: str) -> None:
    store = RedisCache(redis_url, timeout=0.5) if kind == "redis" else MemoryCache()
    name = f"gwtest:{uuid.uuid4().hex}"
    try:
        await store.set(name, b"5", ttl=0.05)
        assert await store.incr(name) == 6
        await asyncio.sleep(0.1)
        assert await store.get(name) is None  # INCR left the entry's expiry alone
        assert await store.incr(name) == 1  # and an expired entry counts from nothing
        assert await store.incr(name) == 2
    finally:
        await store.delete(name)
        await store.close()

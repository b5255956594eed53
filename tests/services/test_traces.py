"""gateway/services/traces.py: a compare run's statement records, kept in the shared cache.

A record kept by one process is found by any other under its request id; an id never kept
is None; Redis down loses records (keeping never raises, finding says None for each).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_client

from gateway import telemetry
from gateway.cache import RedisCache
from gateway.services import traces
from gateway.services.resources import Resources
from gateway.settings import Settings
from gateway.telemetry import RequestStats
from tests.conftest import TEST_JWT_SECRET, service_resources
from tests.processes import free_port

pytestmark = pytest.mark.anyio


def _resources(cache: RedisCache, prefix: str) -> Resources:
    # Records live in the cache alone: a database that is never connected.
    return service_resources(cache, Settings(cache_prefix=prefix, jwt_secret=TEST_JWT_SECRET))


@pytest.fixture
def prefix() -> str:
    return f"gwtest:{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def resources(redis_url: str, prefix: str) -> AsyncIterator[Resources]:
    cache = RedisCache(redis_url, timeout=0.5)
    yield _resources(cache, prefix)
    await cache.close()


def _traced(request_id: str) -> RequestStats:
    stats = RequestStats(request_id=request_id, trace=[], queries=2, db_seconds=0.0123456)
    stats.note("products.by_id", "SELECT * FROM products WHERE id = $1")
    stats.note("reads.plan", "SELECT 1")
    return stats


async def test_a_kept_record_is_found_by_its_request_id(
    resources: Resources, redis_url: str, prefix: str
) -> None:
    await traces.keep(resources, _traced("req-1"))
    other = RedisCache(redis_url, timeout=0.5)  # another process's connection
    try:
        found = await traces.find(_resources(other, prefix), ["req-1", "never-kept"])
    finally:
        await other.close()
    assert found == {
        "req-1": {
            "queries": 2,
            "db_ms": 12.346,
            "statements": [
                {"name": "products.by_id", "sql": "SELECT * FROM products WHERE id = $1"},
                {"name": "reads.plan", "sql": "SELECT 1"},
            ],
            "omitted": 0,
        },
        "never-kept": None,
    }


async def test_records_expire_after_their_ttl_and_are_named_by_the_prefix(
    resources: Resources, redis_url: str, prefix: str
) -> None:
    await traces.keep(resources, _traced("req-2"))
    raw = redis_client.Redis.from_url(redis_url)
    try:
        ttl = await raw.pttl(f"{prefix}:compare:trace:req-2")
    finally:
        await raw.aclose()
    assert 0 < ttl <= traces.TTL * 1000


async def test_a_record_says_how_many_statements_were_left_out(resources: Resources) -> None:
    stats = RequestStats(request_id="req-3", trace=[])
    for n in range(telemetry.TRACE_STATEMENTS + 2):
        stats.note(f"s{n}", "SELECT 1")
    await traces.keep(resources, stats)
    record = (await traces.find(resources, ["req-3"]))["req-3"]
    assert len(record["statements"]) == telemetry.TRACE_STATEMENTS
    assert record["omitted"] == 2


async def test_an_untraced_request_keeps_an_empty_record(resources: Resources) -> None:
    await traces.keep(resources, RequestStats(request_id="req-4", queries=1))
    assert (await traces.find(resources, ["req-4"]))["req-4"]["statements"] == []
    assert await traces.find(resources, []) == {}


async def test_redis_down_loses_records_without_raising(prefix: str) -> None:
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", timeout=0.1)
    resources = _resources(cache, prefix)
    try:
        await traces.keep(resources, _traced("req-5"))
        assert await traces.find(resources, ["req-5", "req-6"]) == {"req-5": None, "req-6": None}
    finally:
        await cache.close()

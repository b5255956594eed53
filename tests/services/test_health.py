"""gateway/services/health.py: what /readyz reports, from pings of the real servers.

Ready means the database answers; a cache that does not answer is reported but degrades
the service without stopping it; the check never raises.
"""

from __future__ import annotations

import uuid

import pytest

from gateway.cache import Cache, MemoryCache, RedisCache
from gateway.db import Database
from gateway.services import health
from gateway.services.resources import Resources
from gateway.settings import Settings
from tests.conftest import STATEMENTS, TEST_JWT_SECRET, service_resources
from tests.processes import free_port

pytestmark = pytest.mark.anyio


class opened:
    """`async with opened(database_url, cache) as resources:` with the database connected."""

    def __init__(self, database_url: str, cache: Cache) -> None:
        prefix = f"gwtest:{uuid.uuid4().hex[:8]}"
        self.resources = service_resources(
            cache,
            Settings(cache_prefix=prefix, jwt_secret=TEST_JWT_SECRET),
            db=Database(database_url, STATEMENTS, min_size=0, max_size=1, pool_timeout=1),
        )

    async def __aenter__(self) -> Resources:
        await self.resources.db.connect()
        return self.resources

    async def __aexit__(self, *exc: object) -> None:
        await self.resources.db.disconnect()
        await self.resources.cache.close()


@pytest.fixture
def dead_redis() -> RedisCache:
    return RedisCache(f"redis://127.0.0.1:{free_port()}/0", timeout=0.1)


@pytest.fixture
def dead_database() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"


async def test_both_servers_answer(database_url: str, redis_url: str) -> None:
    async with opened(database_url, RedisCache(redis_url, timeout=0.5)) as resources:
        found = await health.check(resources)
    assert found == health.Readiness(database=True, cache=True, cache_kind="redis")
    assert found.ready


async def test_a_cache_that_does_not_answer_degrades_but_does_not_stop(
    database_url: str, dead_redis: RedisCache
) -> None:
    async with opened(database_url, dead_redis) as resources:
        found = await health.check(resources)
    assert found == health.Readiness(database=True, cache=False, cache_kind="redis")
    assert found.ready


async def test_a_database_that_does_not_answer_is_not_ready(
    dead_database: str, redis_url: str
) -> None:
    async with opened(dead_database, RedisCache(redis_url, timeout=0.5)) as resources:
        found = await health.check(resources)
    assert (found.database, found.cache, found.ready) == (False, True, False)


async def test_neither_answers_and_it_still_reports(
    dead_database: str, dead_redis: RedisCache
) -> None:
    async with opened(dead_database, dead_redis) as resources:
        found = await health.check(resources)
    assert (found.database, found.cache, found.ready) == (False, False, False)


async def test_the_in_process_cache_is_reported_by_its_kind(database_url: str) -> None:
    async with opened(database_url, MemoryCache()) as resources:
        found = await health.check(resources)
    assert found == health.Readiness(database=True, cache=True, cache_kind="memory")

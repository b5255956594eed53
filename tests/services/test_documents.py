"""gateway/services/documents.py: persisted GraphQL documents by hash, on a real Redis.

A document kept by one process is found by another; nothing comes back from Redis unless
it hashes to its name; Redis holds at most `max_count` of them, each for `ttl` seconds,
and the process's own LRU at most `near_entries`; Redis down is a miss, never an error.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_client

from gateway.cache import RedisCache
from gateway.services.documents import DocumentStore, sha256
from gateway.services.resources import Resources
from gateway.settings import Settings
from tests.conftest import TEST_JWT_SECRET, service_resources
from tests.processes import free_port

pytestmark = pytest.mark.anyio


def _resources(cache: RedisCache, prefix: str) -> Resources:
    # The store talks to Redis alone: a database that is never connected.
    return service_resources(cache, Settings(cache_prefix=prefix, jwt_secret=TEST_JWT_SECRET))


@pytest.fixture
def prefix() -> str:
    return f"gwtest:{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def resources(redis_url: str, prefix: str) -> AsyncIterator[Resources]:
    cache = RedisCache(redis_url, timeout=0.5)
    yield _resources(cache, prefix)
    await cache.close()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis_client.Redis]:
    client = redis_client.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def _document(n: int) -> tuple[str, str]:
    text = f"query Q{n} {{ product(id: {n}) {{ name }} }}"
    return sha256(text), text


def test_the_name_is_the_hex_sha256_clients_compute() -> None:
    # FIPS 180-2's example, and text hashed as UTF-8.
    assert sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256("é") == sha256("\u00e9") != sha256("e\u0301")


async def test_a_document_one_process_keeps_another_finds(
    resources: Resources, prefix: str, raw: redis_client.Redis
) -> None:
    digest, text = _document(1)
    here, there = DocumentStore(prefix=prefix), DocumentStore(prefix=prefix)
    assert await there.find(resources, digest) is None
    await here.keep(resources, digest, text)
    assert here.known(digest) and not there.known(digest)
    assert await there.find(resources, digest) == text
    assert there.known(digest), "found in Redis, then kept in the process"
    assert await raw.get(f"{prefix}:apq:{digest}") == text.encode()
    assert 0 < await raw.pttl(f"{prefix}:apq:{digest}") <= 86_400_000


async def test_what_redis_holds_is_used_only_if_it_hashes_to_its_name(
    resources: Resources, prefix: str, raw: redis_client.Redis
) -> None:
    digest, _ = _document(2)
    await raw.set(f"{prefix}:apq:{digest}", b"mutation { deleteEverything }")
    store = DocumentStore(prefix=prefix)
    assert await store.find(resources, digest) is None
    assert not store.known(digest)


async def test_redis_holds_at_most_max_count_evicting_the_first_to_expire(
    resources: Resources, prefix: str, raw: redis_client.Redis
) -> None:
    store = DocumentStore(prefix=prefix, max_count=2, ttl=60)
    documents = [_document(n) for n in range(3)]
    for digest, text in documents[:2]:
        await store.keep(resources, digest, text)
    assert len(await raw.keys(f"{prefix}:apq:*")) == 2, "at the bound, nothing evicted"
    await store.keep(resources, *documents[2])
    kept = {k if isinstance(k, str) else k.decode() for k in await raw.keys(f"{prefix}:apq:*")}
    assert kept == {f"{prefix}:apq:{d}" for d, _ in documents[1:]}
    # The evicted one is a miss for another process; its client registers it again.
    assert await DocumentStore(prefix=prefix).find(resources, documents[0][0]) is None


async def test_the_process_keeps_at_most_near_entries_least_recently_used_out(
    resources: Resources, prefix: str
) -> None:
    store = DocumentStore(prefix=prefix, near_entries=2)
    (a, ta), (b, tb), (c, tc) = (_document(n) for n in range(10, 13))
    await store.keep(resources, a, ta)
    await store.keep(resources, b, tb)
    assert await store.find(resources, a) == ta  # `a` is now the most recently used
    await store.keep(resources, c, tc)
    assert (store.known(a), store.known(b), store.known(c)) == (True, False, True)
    assert await store.find(resources, b) == tb, "still in Redis"


async def test_redis_down_is_a_miss_and_keeping_is_best_effort(prefix: str) -> None:
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", timeout=0.1)
    resources = _resources(cache, prefix)
    store = DocumentStore(prefix=prefix)
    digest, text = _document(20)
    try:
        assert await store.find(resources, digest) is None
        await store.keep(resources, digest, text)
        assert await store.find(resources, digest) == text, "this process still has it"
        assert await DocumentStore(prefix=prefix).find(resources, digest) is None
    finally:
        await cache.close()

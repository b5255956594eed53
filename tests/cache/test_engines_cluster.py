"""The gateway on a real Redis Cluster (three masters, a replica each) and on a real
Sentinel: keys spread over the masters, every cache behaviour works, and a master killed
mid-traffic fails over with answers bypassing the cache meanwhile, never stale after."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest

from gateway.cache import CacheUnavailable, RedisCache
from gateway.settings import Settings
from tests.conftest import Actors, app_client, run_sql
from tests.redis_servers import RedisClusterServers, RedisSentinelServers

pytestmark = pytest.mark.anyio

FILL = """
INSERT INTO categories (slug, name) VALUES ('home', 'Home');
INSERT INTO products (sku, name, price, stock, category_id)
SELECT 'K-' || n, 'Clustered ' || n, n, 100, 1 FROM generate_series(1, 20) n;
"""
PRODUCT = "query($id: ID!) { product(id: $id) { id name price } }"


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers()
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()
        # redis-py's cluster client leaves node connections for the collector (it warns
        # about them at exit): collect them here, quietly, rather than in a later test that
        # happens to run the collector (warnings are errors in this suite).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, FILL)
    return database_url


@pytest.fixture
def on_cluster(settings: Settings, shop: str, cluster: RedisClusterServers) -> Settings:
    return replace(settings, redis_url=cluster.url, cache_enabled=True)


@pytest.fixture
async def store(cluster: RedisClusterServers) -> AsyncIterator[RedisCache]:
    cache = RedisCache(cluster.url, timeout=0.5)
    yield cache
    await cache.close()


def masters_of(cluster: RedisClusterServers, keys: list[str]) -> set[int]:
    return {cluster.node_of(key).port for key in keys}


async def test_keys_spread_over_the_masters_and_every_operation_works(
    store: RedisCache, cluster: RedisClusterServers
) -> None:
    assert (store.engine, await store.ping()) == ("cluster", True)
    prefix = f"t{uuid.uuid4().hex[:6]}"
    keys = [f"{prefix}:k{i}" for i in range(12)]
    assert len(masters_of(cluster, keys)) == 3
    for i, key in enumerate(keys):
        await store.set(key, str(i).encode(), ttl=30)
    # Reads and deletes over many slots, in one call each.
    assert await store.get_many(keys) == [str(i).encode() for i in range(12)]
    await store.delete(*keys[:6])
    assert await store.get_many(keys[:7]) == [None] * 6 + [b"6"]
    # Versioned reads: counters and entry in different slots, bumped together.
    counters = [f"{prefix}:gen:products", f"{prefix}:gen:reviews"]
    key, value = await store.versioned_get(f"{prefix}:entry", counters)
    assert (key, value) == (f"{prefix}:entry@0.0", None)
    await store.set(key, b"cached", ttl=30)
    assert await store.versioned_get(f"{prefix}:entry", counters) == (key, b"cached")
    await store.bump(*counters)
    assert await store.versioned_get(f"{prefix}:entry", counters) == (f"{prefix}:entry@1.1", None)
    # A bounded set whose entries spread over the masters, and keeps the newest three.
    names = [f"{prefix}:apq:{i}" for i in range(6)]
    for i, name in enumerate(names):
        await store.set_bounded(f"{prefix}:apq-index", name, f"doc {i}".encode(), 30, limit=3)
    assert await store.get_many(names) == [None, None, None, b"doc 3", b"doc 4", b"doc 5"]
    assert len(masters_of(cluster, names)) > 1
    # A caller's allowance, and a sign-in log: one key each, wherever it hashes.
    first = await store.lease(f"{prefix}:rl:ann", 1, 4, limit=5, window=60)
    second = await store.lease(f"{prefix}:rl:ann", 1, 4, limit=5, window=60)
    assert (first.granted, second.granted) == (4, 1)
    assert (await store.lease(f"{prefix}:rl:ann", 1, 1, limit=5, window=60)).granted == 0
    log = f"{prefix}:signin:ann"
    assert [(await store.reserve(log, f"m{i}", 2, 60))[0] for i in range(3)] == [True, True, False]
    await store.release(log, "m0")
    assert (await store.reserve(log, "m3", 2, 60))[0] is True
    assert [(await store.hit(f"{prefix}:w", 1, 2, 60))[0] for _ in range(3)] == [True, True, False]


async def test_every_replica_hears_every_replica_on_a_cluster(cluster: RedisClusterServers) -> None:
    caches = [RedisCache(cluster.url, timeout=0.5) for _ in range(3)]
    try:
        for cache in caches:
            await cache.ping()  # in touch with the cluster: each listens on a node of its own
        subscriptions = [await cache.subscribe("events:product:1") for cache in caches]
        await caches[0].publish("events:product:1", b"changed")
        for subscription in subscriptions:
            async with asyncio.timeout(5):
                assert await anext(subscription) == b"changed"
            await subscription.aclose()
    finally:
        for cache in caches:
            await cache.close()


async def test_the_gateway_on_a_cluster(on_cluster: Settings, actors: Actors) -> None:
    admin = await actors.admin()
    async with app_client(on_cluster) as one, app_client(on_cluster) as two:
        first = await one.get("/api/v1/products/3")
        again = await two.get("/api/v1/products/3")
        assert (first.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "HIT")
        assert again.headers["x-query-count"] == "0"
        graph = await two.post("/graphql", json={"query": PRODUCT, "variables": {"id": "3"}})
        assert (
            await one.post("/graphql", json={"query": PRODUCT, "variables": {"id": "3"}})
        ).headers["x-cache"] == "HIT"
        assert graph.json()["data"]["product"]["name"] == "Clustered 3"
        # A write through one replica is read fresh through the other, in both styles.
        etag = first.headers["etag"]
        changed = await one.patch(
            "/api/v1/products/3",
            json={"name": "Renamed 3"},
            headers={**admin.headers, "If-Match": etag},
        )
        assert changed.status_code == 200
        assert (await two.get("/api/v1/products/3")).json()["data"]["name"] == "Renamed 3"
        graph = await two.post("/graphql", json={"query": PRODUCT, "variables": {"id": "3"}})
        assert graph.json()["data"]["product"]["name"] == "Renamed 3"
        # Idempotency: a retried order is replayed, not placed twice.
        customer = await actors.customer()
        order = {"items": [{"product_id": 5, "quantity": 1}]}
        headers = {**customer.headers, "Idempotency-Key": uuid.uuid4().hex}
        placed = await one.post("/api/v1/orders", json=order, headers=headers)
        replayed = await two.post("/api/v1/orders", json=order, headers=headers)
        assert placed.status_code == replayed.status_code == 201
        assert replayed.content == placed.content
        assert replayed.headers["idempotent-replayed"] == "true"
        # A persisted query registered through one replica runs by its hash on the other.
        digest = hashlib.sha256(PRODUCT.encode()).hexdigest()
        ask = {
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
            "variables": {"id": "4"},
        }
        assert (await one.post("/graphql", json=ask)).status_code == 400
        assert (await one.post("/graphql", json={**ask, "query": PRODUCT})).status_code == 200
        hit = await two.post("/graphql", json=ask)
        assert hit.json()["data"]["product"]["name"] == "Clustered 4"
    # One allowance across two processes (a fresh one: the requests above spent from the
    # first), and the sign-in limit.
    limited = replace(
        on_cluster,
        cache_prefix=f"{on_cluster.cache_prefix}-limited",
        rate_limit_per_minute=5,
        login_failures_per_account=2,
    )
    async with app_client(limited) as one, app_client(limited) as two:
        statuses = [(await (one, two)[i % 2].get("/api/v1/tags")).status_code for i in range(6)]
        assert statuses == [200] * 5 + [429]
    async with app_client(replace(limited, rate_limit_per_minute=1000)) as http:
        wrong = {"email": admin.email, "password": "not-the-password"}
        codes = [(await http.post("/api/v1/auth/login", json=wrong)).status_code for _ in range(3)]
        assert codes == [401, 401, 429]


async def test_a_master_killed_fails_over_and_nothing_stale_is_served(
    on_cluster: Settings, cluster: RedisClusterServers, actors: Actors
) -> None:
    admin = await actors.admin()
    watcher = RedisCache(cluster.url, timeout=0.5)
    # Every read asks Redis (no first level in the process, which would answer the hot
    # product without a round trip for as long as its own node stays up).
    try:
        async with app_client(on_cluster, cache_local_max_bytes=0) as http:
            await http.get("/api/v1/products/7")
            warm = await http.get("/api/v1/products/7")
            assert warm.headers["x-cache"] == "HIT"
            events = await watcher.subscribe("failover-check")
            # The master holding the answers' sequence, which every answer read asks for.
            victim = cluster.node_of(f"{on_cluster.cache_prefix}:a1:seq")
            victim.kill()
            seen: list[str] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                answer = await http.get("/api/v1/products/7")
                assert answer.status_code == 200
                assert answer.json()["data"]["name"] == "Clustered 7"
                seen.append(answer.headers["x-cache"])
                if seen[-1] == "HIT" and "BYPASS" in seen:
                    break
                await asyncio.sleep(0.1)
            assert "BYPASS" in seen and seen[-1] == "HIT", seen
            assert cluster.node_of(f"{on_cluster.cache_prefix}:a1:seq") is not victim
            # After the failover a write retires what it touched, and the change is read.
            current = await http.get("/api/v1/products/7")
            changed = await http.patch(
                "/api/v1/products/7",
                json={"price": 77},
                headers={**admin.headers, "If-Match": current.headers["etag"]},
            )
            assert changed.status_code == 200
            fresh = await http.get("/api/v1/products/7")
            assert fresh.json()["data"]["price"] == 77.0
            again = await http.get("/api/v1/products/7")
            assert (again.headers["x-cache"], again.json()["data"]["price"]) == ("HIT", 77.0)
            # The pub/sub fan-out reconnected wherever it was: a message still arrives.
            # (The watcher's own client may still be learning the new topology: its publish
            # is retried until the cluster routes it, as the gateway's callers would bypass.)
            async with asyncio.timeout(15):
                while True:
                    try:
                        await watcher.publish("failover-check", b"after")
                    except CacheUnavailable:
                        await asyncio.sleep(0.2)
                        continue
                    try:
                        async with asyncio.timeout(0.5):
                            assert await anext(events) == b"after"
                            break
                    except TimeoutError:
                        continue
            await events.aclose()
    finally:
        await watcher.close()


@pytest.fixture
def sentinel() -> Iterator[RedisSentinelServers]:
    servers = RedisSentinelServers()
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()
        with warnings.catch_warnings():  # as for the cluster, above
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


async def test_the_gateway_behind_a_sentinel_follows_a_failover(
    settings: Settings, shop: str, sentinel: RedisSentinelServers
) -> None:
    on_sentinel = replace(
        settings, redis_url=sentinel.url, cache_enabled=True, cache_local_max_bytes=0
    )
    async with app_client(on_sentinel) as http:
        await http.get("/api/v1/products/9")
        assert (await http.get("/api/v1/products/9")).headers["x-cache"] == "HIT"
        first_master = sentinel.master_port()
        sentinel.master.kill()
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = await http.get("/api/v1/products/9")
            assert answer.status_code == 200
            seen.append(answer.headers["x-cache"])
            if seen[-1] == "HIT" and "BYPASS" in seen:
                break
            await asyncio.sleep(0.1)
        assert "BYPASS" in seen and seen[-1] == "HIT", seen
        assert sentinel.master_port() == sentinel.replica.port != first_master
        ready = await http.get("/readyz")
        assert ready.status_code == 200

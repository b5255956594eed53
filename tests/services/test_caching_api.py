"""The read-through cache seen through the API: shared by both styles, never stale after a
committed write, never a cross-user leak, and harmless when Redis fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis.asyncio as redis_client

from gateway.cli.embedded import EmbeddedRedis
from gateway.settings import Settings
from tests.conftest import Actors, app_client, reference, run_sql

pytestmark = pytest.mark.anyio

FILL = """
INSERT INTO categories (slug, name) VALUES ('home', 'Home');
INSERT INTO products (sku, name, price, stock, category_id)
SELECT 'C-' || n, 'Cached ' || n, n, 10, 1 FROM generate_series(1, 30) n;
"""
PRODUCT = "query($id: ID!) { product(id: $id) { name price reviewCount ratingAvg } }"
LIST = "{ products(first: 10) { edges { node { id name price ratingAvg } } } }"


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, FILL)
    return database_url


@pytest.fixture
def cached(settings: Settings, shop: str) -> Settings:
    return replace(settings, cache_enabled=True)


@pytest.fixture
async def api(cached: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(cached) as http:
        yield http


async def gql(
    http: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )


async def test_repeated_reads_hit_and_say_so(api: httpx.AsyncClient) -> None:
    first = await api.get("/api/v1/products/3")
    second = await api.get("/api/v1/products/3")
    assert (first.headers["x-cache"], first.headers["x-query-count"]) == ("MISS", "1")
    assert (second.headers["x-cache"], second.headers["x-query-count"]) == ("HIT", "0")
    assert "cache;desc=hit" in second.headers["server-timing"]
    assert first.content == second.content
    # A GraphQL answer is another answer: its own entry, as fast to fill.
    graph = await gql(api, PRODUCT, id="3")
    assert (graph.headers["x-cache"], graph.headers["x-query-count"]) == ("MISS", "1")
    again = await gql(api, PRODUCT, id="3")
    assert (again.headers["x-cache"], again.headers["x-query-count"]) == ("HIT", "0")
    assert again.json()["data"]["product"]["name"] == "Cached 3"


async def test_the_services_cache_is_shared_by_both_styles(cached: Settings) -> None:
    # The resolvers and services (READ_PLANNER=false, and whatever the planner leaves to
    # them) cache entities: an entry REST filled is a hit for GraphQL.
    async with reference(cached) as services:
        await services.get("/api/v1/products/3")
        graph = await gql(services, PRODUCT, id="3")
    assert (graph.headers["x-cache"], graph.headers["x-query-count"]) == ("HIT", "0")
    assert graph.json()["data"]["product"]["name"] == "Cached 3"


async def test_graphql_request_with_a_hit_and_a_miss_is_mixed(cached: Settings) -> None:
    async with reference(cached) as resolvers:
        await resolvers.get("/api/v1/products/4")
        both = await resolvers.post(
            "/graphql",
            json={"query": '{ a: product(id: "4") { name } b: product(id: "5") { name } }'},
        )
    assert both.headers["x-cache"] == "MIXED"


async def test_a_graphql_write_is_read_fresh_through_rest(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    await api.get("/api/v1/products/6")
    listing = await api.get("/api/v1/products?limit=10")
    assert any(p["name"] == "Cached 6" for p in listing.json()["data"])
    changed = await gql(
        api,
        'mutation { updateProduct(id: "6", input: {name: "Renamed via GraphQL", price: 66}) { errors { code } } }',
        admin.headers,
    )
    assert changed.json()["data"]["updateProduct"]["errors"] == []
    detail = await api.get("/api/v1/products/6")
    assert detail.json()["data"]["name"] == "Renamed via GraphQL"
    assert detail.headers["x-cache"] == "MISS"
    names = [p["name"] for p in (await api.get("/api/v1/products?limit=10")).json()["data"]]
    assert "Renamed via GraphQL" in names and "Cached 6" not in names


async def test_a_rest_write_is_read_fresh_through_graphql(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    assert (await gql(api, PRODUCT, id="7")).json()["data"]["product"]["price"] == 7.0
    await gql(api, LIST)
    patched = await api.patch("/api/v1/products/7", json={"price": 77}, headers=admin.headers)
    assert patched.status_code == 200
    assert (await gql(api, PRODUCT, id="7")).json()["data"]["product"]["price"] == 77.0
    edges = (await gql(api, LIST)).json()["data"]["products"]["edges"]
    assert {"id": "7", "name": "Cached 7", "price": 77.0, "ratingAvg": None} in [
        e["node"] for e in edges
    ]


async def test_a_new_review_shows_in_cached_lists_at_once(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    reviewer = await actors.customer()
    before = (await api.get("/api/v1/products?limit=5")).json()["data"]
    assert before[1]["review_count"] == 0
    await api.get("/api/v1/products?limit=5")  # now cached
    posted = await api.post(
        "/api/v1/products/2/reviews", json={"rating": 4, "title": "Nice"}, headers=reviewer.headers
    )
    assert posted.status_code == 201
    after = await api.get("/api/v1/products?limit=5")
    assert after.json()["data"][1]["review_count"] == 1
    assert after.json()["data"][1]["rating_avg"] == 4.0
    graph = (await gql(api, PRODUCT, id="2")).json()["data"]["product"]
    assert (graph["reviewCount"], graph["ratingAvg"]) == (1, 4.0)


async def test_a_stampede_on_a_cold_key_runs_the_query_at_most_twice(
    api: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(*(api.get("/api/v1/products/9") for _ in range(200)))
    assert {r.status_code for r in responses} == {200}
    assert sum(int(r.headers["x-query-count"]) for r in responses) <= 2


async def test_per_user_data_is_never_shared(api: httpx.AsyncClient, actors: Actors) -> None:
    one, two = await actors.customer("One"), await actors.customer("Two")
    mine = await api.get("/api/v1/users/me", headers=one.headers)
    theirs = await api.get("/api/v1/users/me", headers=two.headers)
    assert mine.json()["data"]["display_name"] == "One"
    assert theirs.json()["data"]["display_name"] == "Two"
    assert "x-cache" not in mine.headers and "x-cache" not in theirs.headers
    orders_one = await api.get("/api/v1/orders", headers=one.headers)
    assert "x-cache" not in orders_one.headers
    graph = await gql(api, "{ me { displayName } }", two.headers)
    assert graph.json()["data"]["me"]["displayName"] == "Two"


# Redis failures -----------------------------------------------------------------------------


async def test_redis_killed_then_back_without_restarting_the_gateway(
    cached: Settings, own_redis: EmbeddedRedis
) -> None:
    async with app_client(cached, redis_url=own_redis.url) as http:
        await http.get("/api/v1/products/10")
        assert (await http.get("/api/v1/products/10")).headers["x-cache"] == "HIT"
        own_redis.kill()
        # The first level is dropped as soon as the process hears its connection break (its
        # listener is woken by the closed socket); until then it may still answer, which is
        # safe: without Redis no write can retire anything, and writes wait instead.
        await asyncio.sleep(0.3)
        for _ in range(5):
            started = time.monotonic()
            response = await http.get("/api/v1/products/10")
            assert time.monotonic() - started < 1.0
            assert response.status_code == 200
            assert response.headers["x-cache"] == "BYPASS"
            assert response.json()["data"]["name"] == "Cached 10"
        assert (await http.get("/readyz")).json()["status"] == "degraded"
        own_redis.start()
        deadline = time.monotonic() + 10
        outcomes = []
        while time.monotonic() < deadline and "HIT" not in outcomes:
            outcomes.append((await http.get("/api/v1/products/10")).headers["x-cache"])
            await asyncio.sleep(0.3)
        assert "HIT" in outcomes
        assert (await http.get("/readyz")).json()["status"] == "ok"


async def test_a_hung_redis_is_bypassed_within_the_timeout(
    cached: Settings, own_redis: EmbeddedRedis, actors: Actors
) -> None:
    """Redis stops answering with the first level holding product 11: reads of anything
    else bypass within the timeout; a write cannot invalidate, so it answers only once no
    first level can serve what it changed, and from then on nothing stale is served."""
    admin = await actors.admin()
    async with app_client(cached, redis_url=own_redis.url) as http:
        await http.get("/api/v1/products/11")
        warm = await http.get("/api/v1/products/11")
        assert warm.headers["x-cache"] == "HIT"
        control = redis_client.Redis.from_url(own_redis.url)
        try:
            await control.client_pause(3000, all=True)
            started = time.monotonic()
            other = await http.get("/api/v1/products/12")
            assert other.status_code == 200 and time.monotonic() - started < 1.0
            assert other.headers["x-cache"] == "BYPASS"
            patched = await http.patch(
                "/api/v1/products/11", json={"name": "Written while hung"}, headers=admin.headers
            )
            assert patched.status_code == 200
            during = await http.get("/api/v1/products/11")
            assert during.json()["data"]["name"] == "Written while hung"
            assert during.headers["x-cache"] == "BYPASS"
            await asyncio.sleep(3.5)  # the pause is over, and the breaker lets a probe through
            fresh = await http.get("/api/v1/products/11")
            assert fresh.json()["data"]["name"] == "Written while hung"
        finally:
            await control.aclose()

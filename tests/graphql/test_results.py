"""Whole answers to anonymous GraphQL queries, cached: served without SQL, never stale after
a committed write in either style, never shared with or from a signed-in caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.cli.embedded import EmbeddedRedis
from gateway.reads import dependencies
from gateway.settings import Settings
from tests.conftest import Actors, app_client, reference, run_sql

pytestmark = pytest.mark.anyio

FILL = """
INSERT INTO categories (slug, name) VALUES ('home', 'Home');
INSERT INTO products (sku, name, price, stock, category_id)
SELECT 'R-' || n, 'Page ' || n, n, 10, 1 FROM generate_series(1, 10) n;
INSERT INTO tags (name) VALUES ('red'), ('blue');
INSERT INTO product_tags (product_id, tag_id) SELECT p, t FROM generate_series(1, 10) p, (VALUES (1), (2)) v(t);
"""
PAGE = """query Page($id: ID!) {
  product(id: $id) {
    name price
    category { name }
    tags { name }
    reviews(first: 10) { edges { node { rating title author { displayName } } } }
  }
}"""


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


async def page(
    http: httpx.AsyncClient, product: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    response = await http.post(
        "/graphql", json={"query": PAGE, "variables": {"id": product}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response


def ran(response: httpx.Response) -> bool:
    """Whether the query was executed (its reviews always take SQL) rather than served whole."""
    return int(response.headers["x-query-count"]) > 0


def shown(response: httpx.Response) -> dict[str, Any]:
    product: dict[str, Any] = response.json()["data"]["product"]
    return product


async def test_a_repeated_anonymous_query_is_answered_whole_without_sql(
    api: httpx.AsyncClient,
) -> None:
    first, second = await page(api, "1"), await page(api, "1")
    # The first ran its SQL (the reviews below the product are not in the service cache).
    assert int(first.headers["x-query-count"]) >= 1
    assert (second.headers["x-cache"], second.headers["x-query-count"]) == ("HIT", "0")
    assert second.content == first.content
    assert sorted(t["name"] for t in shown(second)["tags"]) == ["blue", "red"]
    # Another product, or other variables, is another answer.
    other = await page(api, "2")
    assert ran(other) and shown(other)["name"] == "Page 2"


async def test_writes_in_either_style_are_seen_at_once(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    admin, reviewer = await actors.admin(), await actors.customer("Reviewer")
    await page(api, "3")
    assert (await page(api, "3")).headers["x-cache"] == "HIT"

    # A REST write to the product itself.
    patched = await api.patch("/api/v1/products/3", json={"price": 33}, headers=admin.headers)
    assert patched.status_code == 200
    assert shown(await page(api, "3"))["price"] == 33.0
    assert not ran(await page(api, "3"))

    # A review (SQL below the root: the page's reviews and their authors).
    posted = await api.post(
        "/api/v1/products/3/reviews",
        json={"rating": 5, "title": "Lovely"},
        headers=reviewer.headers,
    )
    assert posted.status_code == 201
    after = shown(await page(api, "3"))
    assert [e["node"] for e in after["reviews"]["edges"]] == [
        {"rating": 5, "title": "Lovely", "author": {"displayName": "Reviewer"}}
    ]
    assert (await page(api, "3")).headers["x-cache"] == "HIT"

    # A GraphQL write to a table the page reads through a join: deleting a tag.
    deleted = await api.post(
        "/graphql",
        json={"query": 'mutation { deleteTag(id: "2") { errors { code } } }'},
        headers=admin.headers,
    )
    assert deleted.json()["data"]["deleteTag"]["errors"] == []
    assert shown(await page(api, "3"))["tags"] == [{"name": "red"}]

    # The category, renamed.
    renamed = await api.patch("/api/v1/categories/1", json={"name": "House"}, headers=admin.headers)
    assert renamed.status_code == 200
    assert shown(await page(api, "3"))["category"] == {"name": "House"}


async def test_public_answers_are_shared_and_a_callers_own_never_are(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    # The planner knows what an answer read: a product page is the same for everyone, so a
    # signed-in caller's read fills the entry anonymous callers read, and the other way round.
    customer = await actors.customer()
    assert ran(await page(api, "4", customer.headers))
    assert not ran(await page(api, "4"))
    assert not ran(await page(api, "4", customer.headers))
    # What passes through a caller's own rules (their account, their orders) is theirs.
    mine = {"query": "{ me { displayName } orders(first: 2) { totalCount } }"}
    for _ in range(2):
        answer = await api.post("/graphql", json=mine, headers=customer.headers)
        assert answer.json()["data"]["orders"] == {"totalCount": 0}
        assert ran(answer)


async def test_signed_in_callers_neither_read_nor_fill_the_executors_answers(
    cached: Settings, actors: Actors
) -> None:
    # The executor (READ_PLANNER=false, and whatever the planner leaves to it) cannot tell
    # what an answer read, so it shares only what anonymous callers asked.
    customer = await actors.customer()
    async with reference(cached) as resolvers:
        for _ in range(2):
            assert ran(await page(resolvers, "4", customer.headers))
        # Nor did those fill the entry anonymous callers read; the first anonymous call does.
        assert ran(await page(resolvers, "4"))
        assert not ran(await page(resolvers, "4"))
        # And a filled entry is not served to a signed-in caller.
        assert ran(await page(resolvers, "4", customer.headers))


async def test_answers_with_errors_are_never_stored(api: httpx.AsyncClient) -> None:
    query = {
        "query": '{ me { displayName } product(id: "5") '
        "{ name reviews(first: 5) { edges { node { title } } } } }"
    }
    for _ in range(2):
        answer = await api.post("/graphql", json=query)
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert ran(answer)


async def test_another_replicas_invalidation_retires_the_answer(
    api: httpx.AsyncClient, cached: Settings
) -> None:
    """What a write committed by another replica does: it retires the tags it touched in
    Redis (and announces them). The answer built from product 6 must not be served after
    it, while one built without product 6 stays."""
    from gateway.cache import RedisCache
    from gateway.cache.answers import Answers

    await page(api, "6")
    await page(api, "7")
    assert not ran(await page(api, "6"))
    assert cached.redis_url is not None
    store = RedisCache(cached.redis_url)
    try:
        await Answers(store, cached.cache_prefix).invalidate(["Product:6"])
    finally:
        await store.close()
    assert ran(await page(api, "6"))
    assert not ran(await page(api, "6"))
    assert not ran(await page(api, "7"))


def test_every_table_has_its_cache_dependencies(shop: str) -> None:
    """A table missing from the map would let reads of it escape invalidation."""

    async def tables() -> set[str]:
        conn = await asyncpg.connect(shop)
        try:
            rows = await conn.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        finally:
            await conn.close()
        return {row["table_name"] for row in rows}

    import asyncio

    found = asyncio.run(tables()) - {"schema_migrations"}
    assert found == set(dependencies.TABLES)


# Redis failures -----------------------------------------------------------------------------


async def test_redis_down_means_the_query_runs(cached: Settings, own_redis: EmbeddedRedis) -> None:
    async with app_client(cached, redis_url=own_redis.url) as http:
        await page(http, "7")
        assert (await page(http, "7")).headers["x-cache"] == "HIT"
        own_redis.kill()
        # Until the process hears its connection break, its first level may still answer
        # (safely: without Redis no write can retire anything, and writes wait instead).
        await asyncio.sleep(0.3)
        down = await page(http, "7")
        assert down.headers["x-cache"] == "BYPASS"
        assert shown(down)["name"] == "Page 7"

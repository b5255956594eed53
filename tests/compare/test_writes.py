"""The write scenarios' plans: what each variant writes and reads back, that its cleanup
leaves the rows as they were, and what each preparation finds (or says it cannot find),
run through a real recorder as a signed-in customer against the app on the demo data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from gateway.compare import writes
from gateway.compare.recorder import Recorder
from gateway.compare.scenarios import Fixture, Made
from gateway.settings import Settings
from tests.compare.test_runner import seed_demo
from tests.conftest import Actors, app_client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def seeded(database_url: str) -> str:
    asyncio.run(seed_demo(database_url))
    return database_url


@pytest.fixture
async def http(seeded: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as client:
        yield client


async def value(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def capture(http: httpx.AsyncClient) -> list[httpx.Request]:
    sent: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        sent.append(request)

    http.event_hooks = {"request": [keep], "response": []}
    return sent


async def test_placing_an_order_reads_it_back_and_the_cleanup_cancels_it(
    http: httpx.AsyncClient, seeded: str, actors: Actors
) -> None:
    recorder = Recorder(http, token=(await actors.customer()).token)
    fixture: Fixture = {}
    assert writes.PLACE_ORDER.prepare is not None and writes.PLACE_ORDER.cleanup is not None
    await writes.PLACE_ORDER.prepare(recorder, fixture)
    product_id = fixture["order_product_id"]
    # The cheapest product in stock.
    cheapest = await value(
        seeded, "SELECT id FROM products WHERE stock > 0 ORDER BY price, id LIMIT 1"
    )
    assert product_id == cheapest
    stock = await value(seeded, "SELECT stock FROM products WHERE id = $1", product_id)
    sent = capture(http)
    for plan, read_back in (
        (writes.PLACE_ORDER.naive, ""),
        (writes.PLACE_ORDER.tuned, "?fields=id%2Cstatus%2Ctotal%2Ccreated_at%2Citems"),
    ):
        assert plan is not None
        made: Made = {}
        calls = len(recorder.calls)
        await plan(recorder, fixture, made)
        post, get = recorder.calls[calls:]
        assert (post.method, post.path, post.status) == ("POST", "/api/v1/orders", 201)
        assert orjson.loads(sent[-2].content) == {
            "items": [{"product_id": product_id, "quantity": 1}]
        }
        assert (get.path, get.status) == (f"/api/v1/orders/{made['order_id']}{read_back}", 200)
        assert await value(seeded, "SELECT stock FROM products WHERE id = $1", product_id) == (
            stock - 1
        )
        await writes.PLACE_ORDER.cleanup(recorder, fixture, made)
        assert recorder.calls[-1].path == f"/api/v1/orders/{made['order_id']}/cancel"
        status = await value(seeded, "SELECT status FROM orders WHERE id = $1", made["order_id"])
        assert status == "cancelled"
        assert await value(seeded, "SELECT stock FROM products WHERE id = $1", product_id) == stock
    # Only the tuned client makes its POST safe to retry.
    posts = [r for r in sent if r.method == "POST" and r.url.path == "/api/v1/orders"]
    assert ["idempotency-key" in r.headers for r in posts] == [False, True]
    assert len(posts[1].headers["idempotency-key"]) == 32


async def test_adding_a_review_moves_the_rating_and_the_cleanup_deletes_it(
    http: httpx.AsyncClient, seeded: str, actors: Actors
) -> None:
    customer = await actors.customer()
    recorder = Recorder(http, token=customer.token)
    fixture: Fixture = {}
    assert writes.ADD_REVIEW.prepare is not None and writes.ADD_REVIEW.cleanup is not None
    await writes.ADD_REVIEW.prepare(recorder, fixture)
    product_id = fixture["review_product_id"]
    count = "SELECT review_count FROM products WHERE id = $1"
    before = await value(seeded, count, product_id)
    assert before <= 20
    assert writes.ADD_REVIEW.tuned is not None
    for plan, read_back in (
        (writes.ADD_REVIEW.naive, ""),
        (writes.ADD_REVIEW.tuned, "?fields=id%2Crating_avg%2Creview_count"),
    ):
        made: Made = {}
        await plan(recorder, fixture, made)
        post, get = recorder.calls[-2:]
        assert (post.path, post.status) == (f"/api/v1/products/{product_id}/reviews", 201)
        assert get.path == f"/api/v1/products/{product_id}{read_back}"
        row = "SELECT author_id, rating, title FROM reviews WHERE id = $1"
        conn = await asyncpg.connect(seeded)
        try:
            written = await conn.fetchrow(row, made["review_id"])
        finally:
            await conn.close()
        assert tuple(written) == (customer.user_id, 4, "Measured by Compare")
        assert await value(seeded, count, product_id) == before + 1
        await writes.ADD_REVIEW.cleanup(recorder, fixture, made)
        assert (recorder.calls[-1].method, recorder.calls[-1].status) == ("DELETE", 204)
        assert await value(seeded, count, product_id) == before
        assert (
            await value(seeded, "SELECT count(*) FROM reviews WHERE id = $1", made["review_id"])
            == 0
        )


async def test_a_cleanup_with_nothing_made_sends_nothing(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    recorder = Recorder(http, token=(await actors.customer()).token)
    for scenario in (writes.PLACE_ORDER, writes.ADD_REVIEW):
        assert scenario.cleanup is not None
        await scenario.cleanup(recorder, {}, {"product_id": 1})
    assert recorder.calls == []


async def test_an_empty_history_gets_one_cancelled_order_to_show(
    http: httpx.AsyncClient, seeded: str, actors: Actors
) -> None:
    customer = await actors.customer()
    recorder = Recorder(http, token=customer.token)
    assert writes.ORDER_HISTORY.prepare is not None
    orders = "SELECT array_agg(status) FROM orders WHERE customer_id = $1"
    await writes.ORDER_HISTORY.prepare(recorder, {})
    assert await value(seeded, orders, customer.user_id) == ["cancelled"]
    # A history that has an order is left alone.
    await writes.ORDER_HISTORY.prepare(recorder, {})
    assert await value(seeded, orders, customer.user_id) == ["cancelled"]
    naive, tuned = Recorder(http, token=customer.token), Recorder(http, token=customer.token)
    await writes.ORDER_HISTORY.naive(naive, {}, {})
    assert writes.ORDER_HISTORY.tuned is not None
    await writes.ORDER_HISTORY.tuned(tuned, {}, {})
    assert [c.path for c in naive.calls + tuned.calls] == [
        "/api/v1/orders?limit=10",
        "/api/v1/orders?limit=10&fields=id%2Cstatus%2Ctotal%2Ccreated_at%2Citems",
    ]


async def test_preparation_says_what_is_missing_on_an_empty_catalogue(
    fresh_database_url: str, settings: Settings
) -> None:
    empty = replace(settings, database_url=fresh_database_url)
    actors = Actors(fresh_database_url, empty)
    async with app_client(empty) as http:
        recorder = Recorder(http, token=(await actors.customer()).token)
        assert writes.PLACE_ORDER.prepare is not None and writes.ADD_REVIEW.prepare is not None
        with pytest.raises(
            LookupError, match="^no product is in stock, so no order can be placed$"
        ):
            await writes.PLACE_ORDER.prepare(recorder, {})
        with pytest.raises(LookupError, match="^every candidate product already has a review"):
            await writes.ADD_REVIEW.prepare(recorder, {})
        # An empty history cannot be given an order either.
        assert writes.ORDER_HISTORY.prepare is not None
        with pytest.raises(LookupError, match="^no product is in stock"):
            await writes.ORDER_HISTORY.prepare(recorder, {})

"""Compare's runner against the real app: its figures agree with the server's own counters.

The module's database holds the small demo data set with the development passwords,
as `gateway serve` sets it up, and the runner talks to the app over httpx's ASGI
transport (every byte it counts is what httpx sends and receives).
"""

from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import httpx
import orjson
import pytest

from gateway.compare import measure
from gateway.compare.catalogue import SCENARIOS
from gateway.compare.recorder import Call
from gateway.compare.report import markdown, reading, scenario_dict, table
from gateway.compare.runner import Runner
from gateway.db import Database
from gateway.revocation import AccountStates
from gateway.seed import Scale, seed
from gateway.servers import DEVELOPMENT_ACCOUNTS
from gateway.services import accounts
from gateway.settings import Settings
from gateway.types import Resources
from tests.conftest import STATEMENTS, Actors, app_client

pytestmark = pytest.mark.anyio


async def seed_demo(database_url: str) -> None:
    """The small demo data set plus the development accounts' passwords."""
    db = Database(database_url, STATEMENTS, min_size=0, max_size=2)
    await db.connect()
    try:
        await seed(db, Scale.parse("small"))
        # set_password needs nothing but the database (and a session cache to drop from).
        resources = cast(Resources, SimpleNamespace(db=db, accounts=AccountStates()))
        for email, password in DEVELOPMENT_ACCOUNTS:
            await accounts.set_password(resources, email, password)
    finally:
        await db.disconnect()


@pytest.fixture(scope="module")
def seeded(database_url: str) -> str:
    asyncio.run(seed_demo(database_url))
    return database_url


async def sql_statements_total(client: httpx.AsyncClient) -> float:
    """The app's own count of SQL statements run for requests (Prometheus, all routes)."""
    text = (await client.get("/metrics")).text
    return sum(
        float(m.group(1))
        for m in re.finditer(r"^gateway_sql_statements_total\{.*\} (\S+)$", text, re.M)
    )


def all_calls(result: Any) -> list[Call]:
    return [c for v in result.variants for r in v.runs for c in r.calls]


async def test_sql_statements_agree_with_the_servers_counter(
    seeded: str, client: httpx.AsyncClient
) -> None:
    runner = Runner(client)
    for name in ("product-page", "category-tree", "order-history"):
        scenario = SCENARIOS[name]
        fixture = await runner.prepare(scenario)
        before = await sql_statements_total(client)
        result = await runner.measure(scenario, fixture, repeat=2)
        after = await sql_statements_total(client)
        measured = sum(c.sql for c in all_calls(result))
        assert measured > 0
        assert measured == after - before, name
        # ...and the figures are the sums of those calls.
        for variant in result.variants:
            for run in variant.runs:
                assert run.figures.sql == sum(c.sql for c in run.calls)
                assert run.figures.requests == len(run.calls)


async def test_naive_rest_product_page_needs_more_requests_than_graphql(
    seeded: str, client: httpx.AsyncClient
) -> None:
    result = await Runner(client).run(SCENARIOS["product-page"], repeat=1)
    naive = result.variant("rest_naive").figures
    graphql = result.variant("graphql").figures
    assert graphql.requests == 1
    assert naive.requests > graphql.requests
    # The naive client walked up the category tree, one request per level.
    paths = [c.path for c in result.variant("rest_naive").runs[0].calls]
    assert any(p.startswith("/api/v1/categories/") for p in paths)
    assert reading(result)[0].startswith("GraphQL: 1 request instead of")


async def test_over_fetch_is_computed_from_the_bodies(
    seeded: str, client: httpx.AsyncClient
) -> None:
    result = await Runner(client).run(SCENARIOS["product-cards"], repeat=1)
    shares = {v.variant: v.figures.overfetch for v in result.variants}
    assert all(0 <= share < 1 for share in shares.values())
    # The plain list sends every field; the card needs id, name and price.
    assert shares["rest_naive"] > 0.6
    assert shares["graphql"] < shares["rest_naive"]
    assert shares["rest_tuned"] < shares["rest_naive"]
    assert len(set(shares.values())) == 3
    naive = result.variant("rest_naive").runs[0].calls[0]
    assert 0 < naive.needed_bytes < naive.json_bytes


def test_projection_keeps_needed_fields_of_each_entity() -> None:
    needs = {"product": frozenset({"name"}), "user": frozenset({"display_name"})}
    rest = {
        "data": {
            "id": 1,
            "name": "Lamp",
            "price": 9.5,
            "reviews": [{"id": 7, "author": {"id": 2, "display_name": "Ada"}}],
        }
    }
    kept = {"data": {"name": "Lamp", "reviews": [{"author": {"display_name": "Ada"}}]}}
    assert measure.needed_bytes(rest, "product", needs) == len(orjson.dumps(kept))
    graphql = {"data": {"product": {"name": "Lamp", "reviews": {"edges": []}}}}
    assert measure.needed_bytes(graphql, None, needs) == len(
        orjson.dumps({"data": {"product": {"name": "Lamp"}}})
    )
    assert measure.needed_bytes({"page": {"limit": 20}}, "product", needs) == 0
    assert measure.entity_of_path("/api/v1/products/3/reviews?limit=5") == "review"
    assert measure.snake("ratingAvg") == "rating_avg"


def test_wire_bytes_count_the_request_line_headers_and_body() -> None:
    request = httpx.Request(
        "POST", "http://h/graphql?x=1", content=b"{}", headers={"Content-Type": "a/b"}
    )
    head = b"POST /graphql?x=1 HTTP/1.1\r\n" + b"".join(
        name + b": " + value + b"\r\n" for name, value in request.headers.raw
    )
    assert measure.request_wire_bytes(request) == len(head) + 2 + 2
    response = httpx.Response(
        200, stream=httpx.ByteStream(b"hello"), headers={"X-Cache": "HIT"}, request=request
    )
    response.read()
    expected = len(b"HTTP/1.1 200 OK\r\n") + sum(
        len(n) + len(v) + 4 for n, v in response.headers.raw
    )
    assert measure.response_wire_bytes(response) == expected + 2 + 5
    assert measure.cache_outcome(response) == "HIT"
    assert measure.cache_outcome(httpx.Response(200)) == "none"


async def test_every_scenario_runs_cleanly_and_leaves_the_data_as_it_was(
    seeded: str, client: httpx.AsyncClient
) -> None:
    async def snapshot() -> tuple[Any, ...]:
        conn = await asyncpg.connect(seeded)
        try:
            return (
                await conn.fetchval("SELECT count(*) FROM reviews"),
                await conn.fetchval("SELECT sum(stock) FROM products"),
                await conn.fetchval("SELECT sum(review_count) FROM products"),
                await conn.fetchval("SELECT count(*) FROM orders WHERE status <> 'cancelled'"),
            )
        finally:
            await conn.close()

    before = await snapshot()
    runner = Runner(client)
    results = [await runner.run(scenario, repeat=1) for scenario in SCENARIOS.values()]
    assert await snapshot() == before
    assert len(results) >= 8
    for result in results:
        for variant in result.variants:
            statuses = {c.status for r in variant.runs for c in r.calls}
            assert statuses and max(statuses) < 400, (result.scenario.name, variant.title)
    cache = next(r for r in results if r.scenario.name == "cache-cold-warm")
    assert {v.pass_ for v in cache.variants} == {"cold", "warm"}
    # Every rendering carries every scenario, and JSON survives a round trip.
    rendered = markdown(results)
    assert rendered.count("\n") == 2 + sum(len(r.variants) for r in results)
    assert all(name in table(results) for name in SCENARIOS)
    orjson.loads(orjson.dumps([scenario_dict(r) for r in results]))


async def test_production_runs_only_the_anonymous_read_scenarios(
    settings: Settings, actors: Actors
) -> None:
    admin = await actors.admin()
    async with app_client(settings, env="production") as http:
        page = await http.get("/compare")
        assert '<option value="place-order" disabled>' in page.text
        refused = await http.post(
            "/compare/run", json={"scenario": "place-order"}, headers=admin.headers
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        # And in production nobody but an admin runs anything (tests/test_compare_page.py).
        anonymous = await http.post("/compare/run", json={"scenario": "search"})
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "UNAUTHENTICATED")

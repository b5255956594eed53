"""Compare's runner against the real app: its figures agree with the server's own counters.

The module's database holds the small demo data set with the development passwords,
as `gateway serve` sets it up, and the runner talks to the app over httpx's ASGI
transport (every byte it counts is what httpx sends and receives).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs

import asyncpg
import httpx
import orjson
import pytest

from gateway.cli.backends import DEVELOPMENT_ACCOUNTS
from gateway.compare import measure
from gateway.compare.catalogue import SCENARIOS
from gateway.compare.custom import Custom
from gateway.compare.options import RunOptions, networks
from gateway.compare.recorder import Call
from gateway.compare.report import markdown, reading, run_document, scenario_dict, table
from gateway.compare.runner import Runner
from gateway.compare.scenarios import VARIANTS
from gateway.db import Database
from gateway.db.seed import Scale, seed
from gateway.revocation import AccountStates
from gateway.services import accounts
from gateway.services.resources import Resources
from gateway.settings import Settings
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
            # No request at all only where the client's own cache answered everything.
            assert statuses or variant.figures.from_cache, (result.scenario.name, variant.title)
            assert max(statuses, default=200) < 400, (result.scenario.name, variant.title)
    cache = next(r for r in results if r.scenario.name == "cache-cold-warm")
    assert {v.pass_ for v in cache.variants} == {"cold", "warm"}
    # Every rendering carries every scenario, and JSON survives a round trip.
    rendered = markdown(results)
    # A heading and a blank line, the table's head and rule, then a row per variant.
    assert rendered.count("\n") == 4 + sum(len(r.variants) for r in results)
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
        # And in production nobody but an admin runs anything (tests/compare/test_page.py).
        anonymous = await http.post("/compare/run", json={"scenario": "search"})
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "UNAUTHENTICATED")
        # Nor gets a seal: the cache bypass and the SQL text are an admin's there.
        no_seal = await http.post("/compare/seal", json={"cache": "cold"})
        assert (no_seal.status_code, no_seal.json()["code"]) == (401, "UNAUTHENTICATED")
        customer = await actors.customer()
        refused = await http.post("/compare/seal", json={}, headers=customer.headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        sealed = await http.post("/compare/seal", json={"cache": "cold"}, headers=admin.headers)
        assert sealed.status_code == 200
        assert sealed.json()["data"]["header"] == "X-Gateway-Compare"
        assert sealed.json()["data"]["seal"].startswith("cold|")


# -- cold and warm, and what ran -------------------------------------------------------------


async def test_cold_runs_show_sql_where_warm_runs_show_none(
    seeded: str, settings: Settings
) -> None:
    async with app_client(settings, cache_enabled=True) as http:
        runner = Runner(http)
        scenario = SCENARIOS["product-cards"]
        warm = await runner.run(scenario, repeat=2, cache="warm")
        cold = await runner.run(scenario, repeat=2, cache="cold")
        # The cache is as warm as ever after the cold run: a cold call neither read nor
        # replaced it, and the next warm run finds it.
        again = await runner.run(scenario, repeat=1, cache="warm")
    for variant in scenario.variants:
        assert cold.variant(variant).figures.sql > 0, variant
        assert warm.variant(variant).figures.sql == 0, variant
        assert warm.variant(variant).figures.cache == {"HIT": 1}, variant
        assert again.variant(variant).figures.sql == 0, variant
        assert all(
            c.sql > 0 and c.cache != "HIT" for r in cold.variant(variant).runs for c in r.calls
        )
    assert reading(cold)[1].startswith("Fewest requests: all 3 (tie);")
    assert "fewest SQL statements: all 3 (tie)" in reading(cold)[1]
    assert reading(warm)[0].endswith("0 SQL statements, like both REST variants.")


async def test_each_call_shows_the_statements_the_server_ran(
    seeded: str, settings: Settings
) -> None:
    async with app_client(settings, cache_enabled=True) as http:
        result = await Runner(http).run(SCENARIOS["product-page"], repeat=1, cache="cold")
    for variant in result.variants:
        for call in variant.runs[0].calls:
            assert call.statements is not None, (variant.title, call.path)
            assert len(call.statements) == call.sql > 0
            # Every read of the product page is the planner's one statement.
            assert {s["name"] for s in call.statements} == {"reads.plan"}
            assert all(s["sql"].lstrip().upper().startswith("SELECT") for s in call.statements)
    (graphql,) = result.variant("graphql").runs[0].calls
    assert graphql.statements is not None
    assert "FROM products" in graphql.statements[0]["sql"]
    # Response bytes per request, as received.
    assert all(
        c.response_bytes > c.json_bytes > 0 for c in result.variant("rest_naive").runs[0].calls
    )
    described = scenario_dict(result)["variants"][0]["calls"][0]
    assert described["statements"][0]["name"] == "reads.plan"


async def test_a_forged_or_missing_seal_neither_bypasses_the_cache_nor_reads_statements(
    seeded: str, settings: Settings
) -> None:
    async with app_client(settings, cache_enabled=True) as http:
        await http.get("/api/v1/products/1")
        assert (await http.get("/api/v1/products/1")).headers["x-cache"] == "HIT"
        seal = (await http.post("/compare/seal", json={"cache": "cold"})).json()["data"]["seal"]
        _, expires, mac = seal.split("|")
        forged = [f"cold|{expires}|{'0' * len(mac)}", f"cold|{int(expires) + 1}|{mac}", "cold"]
        for value in forged:
            answer = await http.get(
                "/api/v1/products/1", headers={"X-Gateway-Compare": value, "X-Request-ID": "f-1"}
            )
            assert (answer.headers["x-cache"], answer.headers["x-query-count"]) == ("HIT", "0")
            refused = await http.post("/compare/statements", json={"seal": value, "ids": ["f-1"]})
            assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        # The real seal bypasses, and its holder may read what the call ran.
        cold = await http.get(
            "/api/v1/products/1", headers={"X-Gateway-Compare": seal, "X-Request-ID": "c-1"}
        )
        assert cold.headers["x-query-count"] == "1" and "x-cache" not in cold.headers
        assert "reads.plan" not in cold.text and "SELECT" not in str(cold.headers)
        records = (
            await http.post("/compare/statements", json={"seal": seal, "ids": ["c-1"]})
        ).json()
        assert records["data"]["c-1"]["statements"][0]["name"] == "reads.plan"


async def test_a_warm_seal_traces_without_bypassing(seeded: str, settings: Settings) -> None:
    async with app_client(settings, cache_enabled=True) as http:
        seal = (await http.post("/compare/seal", json={"cache": "warm"})).json()["data"]["seal"]
        await http.get("/api/v1/tags")
        warm = await http.get(
            "/api/v1/tags", headers={"X-Gateway-Compare": seal, "X-Request-ID": "w-1"}
        )
        assert warm.headers["x-cache"] == "HIT"
        record = (
            await http.post("/compare/statements", json={"seal": seal, "ids": ["w-1", "nope"]})
        ).json()
        assert record["data"] == {
            "w-1": {"queries": 0, "db_ms": 0.0, "statements": [], "omitted": 0},
            "nope": None,
        }


async def test_http_caching_reuses_fresh_answers_revalidates_stale_ones_and_never_posts(
    seeded: str, client: httpx.AsyncClient
) -> None:
    result = await Runner(client).run(SCENARIOS["http-caching"], repeat=1)

    def calls(variant: str, visit: str) -> list[Call]:
        return result.variant(variant, visit).runs[0].calls

    first, fresh, stale = SCENARIOS["http-caching"].passes
    for variant in ("rest_tuned", "graphql_get"):
        assert {c.status for c in calls(variant, first)} == {200}
        assert {c.status for c in calls(variant, stale)} == {304}, variant
        again = result.variant(variant, stale).figures
        assert again.overfetch == 0 and again.from_cache == 0
        assert again.response_bytes < result.variant(variant, first).figures.response_bytes
    # REST's answers are public for 30 s: within them the client asks nothing at all.
    assert calls("rest_tuned", fresh) == []
    within = result.variant("rest_tuned", fresh).figures
    assert (within.requests, within.from_cache, within.round_trips) == (0, 3, 0)
    # GraphQL GET answers are no-cache: always revalidated, one round trip.
    assert [c.status for c in calls("graphql_get", fresh)] == [304]
    # A POST is never cached.
    for visit in (first, fresh, stale):
        assert [c.status for c in calls("graphql", visit)] == [200]
    (get,) = calls("graphql_get", first)
    assert get.method == "GET" and get.path.startswith("/graphql?query=")
    first_visit, within_30s, after = reading(result)
    assert first_visit.startswith("First visit: REST GET 3 requests, ")
    assert within_30s.startswith(
        "Within 30 s: REST GET 0 requests (3 answers fresh in the client's cache), 0 B received"
    )
    assert "; GraphQL GET 1 request (1 answered 304), " in within_30s
    assert after.startswith("After 30 s: REST GET 3 requests (3 answered 304), ")


async def test_the_cache_scenario_measures_its_own_cold_and_warm_passes(
    seeded: str, settings: Settings
) -> None:
    async with app_client(settings, cache_enabled=True) as http:
        result = await Runner(http).run(SCENARIOS["cache-cold-warm"], repeat=1, cache="warm")
    for variant in VARIANTS:
        assert result.variant(variant, "cold").figures.sql > 0
        assert result.variant(variant, "warm").figures.sql == 0
    assert reading(result)[-1].startswith("From cold to warm: REST naive ")


# -- keep and share ------------------------------------------------------------------------


async def test_a_run_exports_as_csv_and_json_with_a_link_and_a_command(
    seeded: str, client: httpx.AsyncClient
) -> None:
    scenario = SCENARIOS["search"]
    options = RunOptions("search", ("loopback",), "cold", 2)
    result = await Runner(client).run(scenario, repeat=2)
    document = run_document([result], [options])
    (entry,) = document["scenarios"]
    assert entry["link"] == "/compare?scenario=search&network=loopback&cache=cold&repeat=2"
    assert entry["command"] == (
        "gateway compare --scenario search --network loopback --cache cold --repeat 2"
    )
    rows = list(csv.DictReader(io.StringIO(document["csv"])))
    assert [r["variant"] for r in rows] == list(VARIANTS)
    graphql = rows[2]
    figures = result.variant("graphql").figures
    assert (graphql["network"], graphql["cache_mode"], graphql["repeat"]) == (
        "loopback",
        "cold",
        "2",
    )
    assert int(graphql["requests"]) == figures.requests == 1
    assert int(graphql["response_bytes"]) == figures.response_bytes
    assert float(graphql["wall_ms"]) == pytest.approx(figures.wall_ms, abs=0.01)
    orjson.loads(orjson.dumps(document))


def test_options_name_networks_and_round_trip_through_the_link() -> None:
    assert networks(["4g,loopback"]) == ("loopback", "4g")
    assert networks(["all"]) == ("loopback", "broadband", "4g", "slow-3g")
    with pytest.raises(ValueError, match="unknown network '5g'"):
        networks(["5g"])
    given = Custom("{ tags { edges { node { name } } } }", (("/api/v1/tags",),), {"a": 1})
    options = RunOptions("custom", ("4g",), "warm", 1, given)
    query = parse_qs(options.query())
    assert query["scenario"] == ["custom"] and query["network"] == ["4g"]
    assert query["graphql"] == [given.graphql] and query["rest"] == ["/api/v1/tags"]
    assert orjson.loads(query["variables"][0]) == {"a": 1}
    assert options.command().startswith(
        "gateway compare --graphql query.graphql --rest /api/v1/tags"
    )

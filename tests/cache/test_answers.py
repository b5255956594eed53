"""The answer cache (gateway.cache.answers): answers retired by what a write touched, a first
level in each process kept coherent over Redis pub/sub, and never a stale answer when Redis
is killed or hangs."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as redis_client

from gateway.cache import RedisCache
from gateway.cache.answers import ENTRY_OVERHEAD, TAG_OVERHEAD, Answers, Local
from gateway.cli.embedded import EmbeddedRedis
from gateway.settings import PROJECT_ROOT, Settings
from gateway.tokens import TokenIssuer
from tests import support
from tests.conftest import TEST_JWT_SECRET, Actors, app_client, run_sql
from tests.processes import Served, base_env

pytestmark = pytest.mark.anyio

FILL = """
INSERT INTO categories (slug, name) VALUES ('home', 'Home'), ('garden', 'Garden');
INSERT INTO tags (name) VALUES ('red'), ('blue');
INSERT INTO products (sku, name, price, stock, category_id)
SELECT 'A-' || n, 'Answer ' || n, n, 100, 1 + n % 2 FROM generate_series(1, 50) n;
INSERT INTO product_tags (product_id, tag_id) VALUES (41, 1), (41, 2), (40, 1);
"""
PRODUCT = (
    "query($id: ID!) { product(id: $id) { name stock ratingAvg reviewCount"
    " category { name } tags { name } reviews(first: 5) { edges { node { rating title } } } } }"
)
FIRST = "{ products(first: 20) { edges { node { id name stock } } } }"
IN_STOCK = "/api/v1/products?in_stock=true&limit=5&sort=-price"


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, FILL)
    return database_url


@pytest.fixture
def cached(settings: Settings, shop: str) -> Settings:
    return replace(settings, cache_enabled=True)


async def gql(http: httpx.AsyncClient, query: str, **variables: Any) -> httpx.Response:
    response = await support.gql(http, query, **variables)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response


def hit(response: httpx.Response) -> bool:
    return bool(response.headers.get("x-cache") == "HIT")


# Targeted invalidation ----------------------------------------------------------------------


async def test_an_order_for_product_41_leaves_the_other_answers_cached(
    cached: Settings, actors: Actors
) -> None:
    customer = await actors.customer()
    async with app_client(cached) as api:
        reads: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "rest 41": lambda: api.get("/api/v1/products/41"),
            "rest 40": lambda: api.get("/api/v1/products/40"),
            "rest first page": lambda: api.get("/api/v1/products?limit=20"),
            "rest in stock": lambda: api.get(IN_STOCK),
            "graphql 41": lambda: gql(api, PRODUCT, id="41"),
            "graphql 40": lambda: gql(api, PRODUCT, id="40"),
            "graphql first page": lambda: gql(api, FIRST),
        }
        for read in reads.values():
            await read()
        assert all([hit(await read()) for read in reads.values()])
        stock = (await api.get("/api/v1/products/41")).json()["data"]["stock"]
        order = await api.post(
            "/api/v1/orders",
            json={"items": [{"product_id": 41, "quantity": 2}]},
            headers=customer.headers,
        )
        assert order.status_code == 201, order.text
        after = {name: await read() for name, read in reads.items()}
        # What shows product 41, or a list that stock decides, is built again...
        assert not hit(after["rest 41"])
        assert after["rest 41"].json()["data"]["stock"] == stock - 2
        assert not hit(after["graphql 41"])
        assert after["graphql 41"].json()["data"]["product"]["stock"] == stock - 2
        assert not hit(after["rest in stock"])
        # ...and everything else is still served from the cache.
        assert hit(after["rest 40"]) and hit(after["graphql 40"])
        assert hit(after["rest first page"]) and hit(after["graphql first page"])


async def test_a_review_retires_its_product_and_the_lists_rating_orders(
    cached: Settings, actors: Actors
) -> None:
    author = await actors.customer("Reviewer")
    async with app_client(cached) as api:
        by_rating = "/api/v1/products?sort=-rating_avg&limit=5"
        for url in ("/api/v1/products/30", "/api/v1/products/31", by_rating):
            await api.get(url)
        await gql(api, PRODUCT, id="30")
        review = await api.post(
            "/api/v1/products/30/reviews",
            json={"rating": 5, "title": "Great", "body": "Really."},
            headers=author.headers,
        )
        assert review.status_code == 201, review.text
        product = await api.get("/api/v1/products/30")
        assert not hit(product)
        assert (product.json()["data"]["review_count"], product.json()["data"]["rating_avg"]) == (
            1,
            5.0,
        )
        graph = (await gql(api, PRODUCT, id="30")).json()["data"]["product"]
        assert graph["reviews"]["edges"][0]["node"] == {"rating": 5, "title": "Great"}
        ranked = await api.get(by_rating)
        assert not hit(ranked) and ranked.json()["data"][0]["id"] == 30
        assert hit(await api.get("/api/v1/products/31"))


async def test_a_product_change_retires_only_the_lists_it_moves(
    cached: Settings, actors: Actors
) -> None:
    admin = await actors.admin()
    first, by_price = "/api/v1/products?limit=5", "/api/v1/products?sort=-price&limit=5"
    async with app_client(cached) as api:

        async def cached_now() -> dict[str, bool]:
            return {url: hit(await api.get(url)) for url in (first, by_price, IN_STOCK)}

        await cached_now()
        assert await cached_now() == {first: True, by_price: True, IN_STOCK: True}
        stock = await api.patch("/api/v1/products/41", json={"stock": 0}, headers=admin.headers)
        assert stock.status_code == 200, stock.text
        # Stock moves only the lists filtered by it.
        assert await cached_now() == {first: True, by_price: True, IN_STOCK: False}
        price = await api.patch("/api/v1/products/41", json={"price": 1000}, headers=admin.headers)
        assert price.status_code == 200, price.text
        after = await api.get(by_price)
        assert not hit(after) and after.json()["data"][0]["id"] == 41
        assert hit(await api.get(first))


async def test_declared_tags_cover_every_write_of_the_services() -> None:
    """Each service write declares what it touched (no regex over SQL): the statement files
    that write a shared type are each named in a `caching.touched` call."""
    services = PROJECT_ROOT / "gateway" / "services"
    declared = set()
    for path in services.glob("*.py"):
        declared.update(re.findall(r'touched\(\s*"(\w+)"', path.read_text()))
    assert {"products", "categories", "tags", "reviews", "orders"} <= declared


def test_no_write_changes_a_public_profile() -> None:
    """Why writes to users retire no answer (gateway.services.caching): no statement
    changes a display name once the account exists."""
    text = (PROJECT_ROOT / "sql" / "queries" / "users.sql").read_text()
    for statement in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        if re.search(r"\bUPDATE\s+users\b", statement, re.IGNORECASE):
            assert "display_name =" not in statement, statement


# The shared level: a fill racing a write ----------------------------------------------------


async def test_an_answer_built_while_a_write_committed_is_never_served(
    cached: Settings,
) -> None:
    assert cached.redis_url is not None
    store, other = RedisCache(cached.redis_url), RedisCache(cached.redis_url)
    answers = Answers(store, cached.cache_prefix, local_bytes=0)
    replica = Answers(other, cached.cache_prefix, local_bytes=0)
    loads = 0

    async def racing() -> tuple[bytes, frozenset[str]]:
        nonlocal loads
        loads += 1
        # Another replica's write commits while this answer is being built from older rows.
        await replica.invalidate(["Product:1"])
        return b'{"old":true}', frozenset({"Product:1", "Product:*"})

    async def plain() -> tuple[bytes, frozenset[str]]:
        nonlocal loads
        loads += 1
        return b'{"new":true}', frozenset({"Product:1", "Product:*"})

    try:
        key = answers.key("race")
        assert await answers.read(key, racing, ttl=60) == b'{"old":true}'
        assert await answers.read(key, plain, ttl=60) == b'{"new":true}'
        assert await answers.read(key, plain, ttl=60) == b'{"new":true}'
        assert loads == 2
        # A tag it does not carry leaves it alone; one it carries retires it.
        await replica.invalidate(["Product:2", "list:Product"])
        assert await answers.read(key, plain, ttl=60) == b'{"new":true}'
        assert loads == 2
        await replica.invalidate(["Product:*"])
        await answers.read(key, plain, ttl=60)
        assert loads == 3
    finally:
        await store.close()
        await other.close()


# The first level ----------------------------------------------------------------------------


def test_the_first_level_stays_within_its_bound() -> None:
    local = Local(max_bytes=64 * 1024, liveness=60)
    local.enable(0)
    body = b"x" * 1000
    for n in range(500):
        local.put(f"k{n}", body, [f"Product:{n}", "Product:*"], 0)
        assert local.size <= 64 * 1024
    assert len(local) == 64 * 1024 // (1000 + len("k499") + ENTRY_OVERHEAD + 2 * TAG_OVERHEAD)
    assert local.get("k499") == body and local.get("k0") is None
    # An announcement drops what carries its tags, and refuses a late fill it made stale.
    local.drop(1, ["Product:499"])
    assert local.get("k499") is None and local.get("k498") == body
    local.put("k499", body, ["Product:499"], 0)
    assert local.get("k499") is None
    local.put("k499", body, ["Product:499"], 1)
    assert local.get("k499") == body


async def test_a_local_hit_costs_no_round_trip(cached: Settings) -> None:
    """The second read is served by the process itself: Redis sees no command for it."""
    assert cached.redis_url is not None
    async with app_client(cached) as api:
        # The first level fills once this process hears the invalidation channel.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rest = await api.get("/api/v1/products/7")
            graph = await gql(api, PRODUCT, id="7")
            levels = {rest.headers.get("x-cache-level"), graph.headers.get("x-cache-level")}
            if levels == {"local"}:
                break
            await asyncio.sleep(0.05)
        monitor = await _Monitor.start(cached.redis_url)
        try:
            for _ in range(5):
                rest = await api.get("/api/v1/products/7")
                graph = await gql(api, PRODUCT, id="7")
                assert rest.headers["x-cache-level"] == "local"
                assert graph.headers["x-cache-level"] == "local"
            seen = await monitor.stop()
        finally:
            await monitor.close()
    answer_commands = [line for line in seen if f"{cached.cache_prefix}:a1:" in line]
    assert answer_commands == [], answer_commands[:5]


class _Monitor:
    """Redis MONITOR on a connection of its own: every command the server runs."""

    def __init__(self, client: redis_client.Redis, task: asyncio.Task[None]) -> None:
        self.client = client
        self.task = task
        self.lines: list[str] = []

    @classmethod
    async def start(cls, url: str) -> _Monitor:
        client = redis_client.Redis.from_url(url)
        ready = asyncio.Event()
        holder: list[_Monitor] = []

        async def run() -> None:
            async with client.monitor() as monitor:
                ready.set()
                async for command in monitor.listen():
                    holder[0].lines.append(str(command.get("command", "")))

        task = asyncio.create_task(run())
        found = cls(client, task)
        holder.append(found)
        await asyncio.wait_for(ready.wait(), 5)
        await asyncio.sleep(0.1)
        return found

    async def stop(self) -> list[str]:
        await asyncio.sleep(0.2)
        self.task.cancel()
        return self.lines

    async def close(self) -> None:
        self.task.cancel()
        await self.client.aclose()


async def _two(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with app_client(settings) as one, app_client(settings) as two:
        yield one, two


async def _warm_local(http: httpx.AsyncClient, url: str) -> None:
    """Read `url` until this process's own first level serves it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if (await http.get(url)).headers.get("x-cache-level") == "local":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never reached the first level")


async def test_redis_killed_with_the_first_level_full_serves_nothing_stale(
    cached: Settings, own_redis: EmbeddedRedis, actors: Actors
) -> None:
    admin = await actors.admin()
    settings = replace(cached, redis_url=own_redis.url)
    async with app_client(settings) as one, app_client(settings) as two:
        await _warm_local(two, "/api/v1/products/21")
        own_redis.stop()
        patched = await one.patch(
            "/api/v1/products/21", json={"name": "Written with Redis gone"}, headers=admin.headers
        )
        assert patched.status_code == 200
        read = await two.get("/api/v1/products/21")
        assert read.json()["data"]["name"] == "Written with Redis gone"
        assert read.headers["x-cache"] == "BYPASS"


async def test_redis_hung_with_the_first_level_full_serves_nothing_stale(
    cached: Settings, own_redis: EmbeddedRedis, actors: Actors
) -> None:
    admin = await actors.admin()
    settings = replace(cached, redis_url=own_redis.url)
    async with app_client(settings) as one, app_client(settings) as two:
        await _warm_local(two, "/api/v1/products/22")
        await _warm_local(two, "/api/v1/products/23")
        control = redis_client.Redis.from_url(own_redis.url)
        try:
            await control.client_pause(4000, all=True)
            patched = await one.patch(
                "/api/v1/products/22", json={"name": "Written while hung"}, headers=admin.headers
            )
            assert patched.status_code == 200
            read = await two.get("/api/v1/products/22")
            assert read.json()["data"]["name"] == "Written while hung"
            # The first level was dropped as a whole: it can no longer hear invalidations.
            assert (await two.get("/api/v1/products/23")).headers["x-cache"] != "HIT"
        finally:
            await control.aclose()


# Two gateway processes sharing one Redis ----------------------------------------------------


@pytest.mark.slow
async def test_every_kind_of_write_is_seen_across_processes_and_styles(
    fresh_database_url: str, redis_url: str, settings: Settings
) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:
        await conn.execute(FILL)
        admin_id, customer_id = [
            await conn.fetchval(
                "INSERT INTO users (email, display_name, password_hash, role)"
                " VALUES ($1, $2, '!', $3) RETURNING id",
                f"{role}@example.com",
                role.title(),
                role,
            )
            for role in ("admin", "customer")
        ]
    finally:
        await conn.close()
    issuer = TokenIssuer(
        TEST_JWT_SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=600
    )
    admin = {"Authorization": f"Bearer {issuer.issue(admin_id, 'admin')}"}
    customer = {"Authorization": f"Bearer {issuer.issue(customer_id, 'customer')}"}
    env = base_env(
        DATABASE_URL=fresh_database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:two:{time.monotonic_ns()}",
        DB_POOL_MIN_SIZE="0",
    )
    one, two = Served(env), Served(env)
    try:
        async with (
            httpx.AsyncClient(base_url=one.url) as a,
            httpx.AsyncClient(base_url=two.url) as b,
        ):

            async def product(
                http: httpx.AsyncClient, headers: dict[str, str] | None = None
            ) -> Any:
                rest = await http.get("/api/v1/products/41?include=tags", headers=headers or {})
                graph = await http.post(
                    "/graphql",
                    json={"query": PRODUCT, "variables": {"id": "41"}},
                    headers=headers or {},
                )
                data = rest.json()["data"]
                return data, graph.json()["data"]["product"]

            async def seen_by_b(check: Callable[[Any, Any], bool]) -> None:
                # The writer itself reads its write at once, through the other process...
                assert check(*await product(b, customer)), await product(b, customer)
                # ...and so does anyone else, once the announcement has arrived (it was
                # sent before the write answered; a few milliseconds on loopback).
                deadline = time.monotonic() + 1.0
                while not check(*await product(b)):
                    assert time.monotonic() < deadline, await product(b)
                    await asyncio.sleep(0.01)

            async def warm() -> None:
                for _ in range(2):
                    await product(b)
                    await b.get("/api/v1/products/40")
                assert (await b.get("/api/v1/products/40")).headers["x-cache"] == "HIT"

            await warm()
            order = await a.post(
                "/api/v1/orders",
                json={"items": [{"product_id": 41, "quantity": 3}]},
                headers=customer,
            )
            assert order.status_code == 201, order.text
            await seen_by_b(lambda r, g: r["stock"] == 97 and g["stock"] == 97)
            assert (await b.get("/api/v1/products/40")).headers["x-cache"] == "HIT"

            await warm()
            review = await a.post(
                "/api/v1/products/41/reviews",
                json={"rating": 4, "title": "Fine", "body": "ok"},
                headers=customer,
            )
            assert review.status_code == 201, review.text
            review_id = review.json()["data"]["id"]
            await seen_by_b(
                lambda r, g: (
                    r["rating_avg"] == 4.0 and g["reviews"]["edges"][0]["node"]["title"] == "Fine"
                )
            )

            await warm()
            edited = await a.patch(
                f"/api/v1/reviews/{review_id}", json={"rating": 2}, headers=customer
            )
            assert edited.status_code == 200, edited.text
            await seen_by_b(lambda r, g: r["rating_avg"] == 2.0 and g["ratingAvg"] == 2.0)

            await warm()
            gone = await a.delete(f"/api/v1/reviews/{review_id}", headers=customer)
            assert gone.status_code == 204, gone.text
            await seen_by_b(lambda r, g: r["review_count"] == 0 and g["reviews"]["edges"] == [])

            await warm()
            renamed = await a.patch(
                "/api/v1/products/41", json={"name": "Renamed 41"}, headers=admin
            )
            assert renamed.status_code == 200, renamed.text
            await seen_by_b(lambda r, g: r["name"] == "Renamed 41" == g["name"])

            await warm()
            category = await a.patch("/api/v1/categories/2", json={"name": "Yard"}, headers=admin)
            assert category.status_code == 200, category.text
            await seen_by_b(lambda r, g: g["category"]["name"] == "Yard")

            await warm()
            tag = await a.delete("/api/v1/tags/2", headers=admin)
            assert tag.status_code == 204, tag.text
            await seen_by_b(
                lambda r, g: (
                    [t["name"] for t in g["tags"]] == ["red"]
                    and [t["name"] for t in r["tags"]] == ["red"]
                )
            )

            await warm()
            order_id = order.json()["data"]["id"]
            cancelled = await a.post(f"/api/v1/orders/{order_id}/cancel", headers=customer)
            assert cancelled.status_code == 200, cancelled.text
            await seen_by_b(lambda r, g: r["stock"] == 100 and g["stock"] == 100)
            assert (await b.get("/api/v1/products/40")).headers["x-cache"] == "HIT"
    finally:
        assert one.stop() == 0
        assert two.stop() == 0


async def test_a_mutation_over_the_websocket_retires_what_it_touched(
    cached: Settings, actors: Actors
) -> None:
    from tests.graphql.test_subscriptions import replica

    author = await actors.customer("Socket")
    async with replica(cached) as running:
        http = running.http
        await http.get("/api/v1/products/35")
        assert hit(await http.get("/api/v1/products/35"))
        async with running.socket(author) as socket:
            mutation = (
                'mutation { addReview(productId: "35", input: {rating: 3, title: "Socket",'
                ' body: "sent over graphql-ws"}) { review { id } } }'
            )
            await socket.send({"id": "m", "type": "subscribe", "payload": {"query": mutation}})
            answer = await socket.receive()
            assert answer["type"] == "next" and "errors" not in answer["payload"], answer
        after = await http.get("/api/v1/products/35")
        assert not hit(after)
        assert after.json()["data"]["review_count"] == 1


async def test_a_timeout_without_a_cancellation_is_not_taken_for_one() -> None:
    # The reconnecting loops stop on a cancellation a timeout turned into an error, and only
    # then (tests/cache/test_listener.py holds the loop that ends; this, the one that goes on).
    from gateway.cache.listener import stop_if_cancelled

    async def timed_out() -> str:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(1)
        except TimeoutError as exc:
            stop_if_cancelled(exc)  # returns: nobody cancelled this task
        return "went on"

    assert await asyncio.wait_for(asyncio.create_task(timed_out()), 5) == "went on"

"""Read replica routing on a real streaming replica (tests/replication.py): a primary and a hot
standby made with pg_basebackup -R, the standby's lag set with recovery_min_apply_delay. Which
server answered a read shows in its statement log; what a caller sees shows in the bodies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Actors, app_client
from tests.processes import free_port
from tests.replication import Node, Replication, arun, binaries_missing, eventually

pytestmark = pytest.mark.anyio

PRODUCT = "/api/v1/products/1"
NAME_QUERY = '{ product(id: "1") { name } }'
RENAME = """mutation ($name: String!) {
  updateProduct(id: "1", input: {name: $name}) { product { name } errors { code } }
}"""


def _started() -> Replication:
    missing = binaries_missing()
    if missing is not None:
        pytest.skip(f"no PostgreSQL binaries to start a primary and a standby: {missing}")
    return Replication.start()


async def _seed(pair: Replication) -> None:
    await arun(
        pair.primary.url,
        "WITH c AS (INSERT INTO categories (slug, name) VALUES ('c', 'C') RETURNING id) "
        "INSERT INTO products (sku, name, price, stock, category_id) "
        "SELECT 'P1', 'Old', 10, 5, id FROM c",
    )
    await pair.sync()


@pytest.fixture(scope="module")
def replication() -> Iterator[Replication]:
    pair = _started()
    try:
        asyncio.run(_seed(pair))
        yield pair
    finally:
        pair.stop()


@pytest.fixture
async def pair(replication: Replication) -> AsyncIterator[Replication]:
    """The module's pair with product 1 named 'Old' on both servers and no lag; the test
    sets the lag it needs, and the standby is started again if the test stopped it."""
    yield replication
    replication.standby.server.start()
    await replication.delay(0)
    await arun(replication.primary.url, "UPDATE products SET name = 'Old' WHERE id = 1")
    await replication.sync()


def _settings(settings: Settings, pair: Replication, **overrides: Any) -> Settings:
    urls = {"database_url": pair.primary.url, "database_read_url": pair.standby.url}
    return replace(settings, **{**urls, **overrides})


async def _name(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    response = await http.get(PRODUCT, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["name"])


def _reads(node: Node) -> int:
    """Statements of the gateway that read products on `node`."""
    return node.statements("products", "SELECT") - node.statements("products", "UPDATE")


async def test_reads_go_to_the_standby_and_writes_to_the_primary(
    pair: Replication, settings: Settings
) -> None:
    admin = await Actors(pair.primary.url, settings).admin()
    config = _settings(settings, pair, cache_enabled=False)
    async with app_client(config) as http:
        on_standby, on_primary = _reads(pair.standby), _reads(pair.primary)
        assert await _name(http) == "Old"
        graph = await http.post("/graphql", json={"query": NAME_QUERY})
        assert graph.json() == {"data": {"product": {"name": "Old"}}}
        assert _reads(pair.standby) == on_standby + 2
        assert _reads(pair.primary) == on_primary

        updates = pair.primary.statements("UPDATE products")
        renamed = await http.patch(PRODUCT, json={"name": "New"}, headers=admin.headers)
        assert renamed.status_code == 200, renamed.text
        assert pair.primary.statements("UPDATE products") == updates + 1
        await pair.sync()
        assert await _name(http) == "New"  # anonymous, so from the standby
        assert _reads(pair.standby) == on_standby + 3


async def test_a_writer_reads_its_writes_across_the_lag_in_both_styles(
    pair: Replication, settings: Settings
) -> None:
    await pair.delay(2)
    admin = await Actors(pair.primary.url, settings).admin()
    # READ_AFTER_WRITE_SECONDS must outlast the lag: 3 s against the standby's 2 s.
    config = _settings(settings, pair, cache_enabled=True, read_after_write_seconds=3)
    async with app_client(config) as http:
        assert await _name(http) == "Old"  # cached now
        renamed = await http.patch(PRODUCT, json={"name": "Rest"}, headers=admin.headers)
        assert renamed.status_code == 200, renamed.text
        # Everyone else reads the lagging standby, and that stale answer lands in the cache
        # under the generation the write just bumped.
        assert await _name(http) == "Old"
        stale = await http.get(PRODUCT)
        assert (stale.headers["x-cache"], stale.json()["data"]["name"]) == ("HIT", "Old")
        # The writer reads from the primary, past that cached entry, in either style.
        assert await _name(http, admin.headers) == "Rest"
        graph = await http.post("/graphql", json={"query": NAME_QUERY}, headers=admin.headers)
        assert graph.json() == {"data": {"product": {"name": "Rest"}}}

        changed = await http.post(
            "/graphql",
            json={"query": RENAME, "variables": {"name": "Graph"}},
            headers=admin.headers,
        )
        assert changed.json()["data"]["updateProduct"]["errors"] == [], changed.text
        assert await _name(http, admin.headers) == "Graph"
        graph = await http.post("/graphql", json={"query": NAME_QUERY}, headers=admin.headers)
        assert graph.json() == {"data": {"product": {"name": "Graph"}}}
        assert await _name(http) == "Old"  # the standby has not replayed it yet

        # Once the standby has replayed the writes and READ_AFTER_WRITE_SECONDS has passed,
        # the entries filled from the standby meanwhile are retired: nobody reads "Old".
        await pair.sync()
        await asyncio.sleep(3.2)
        assert await _name(http) == "Graph"


async def test_sign_in_reads_never_come_from_the_standby(
    pair: Replication, settings: Settings
) -> None:
    await pair.delay(2)
    async with app_client(_settings(settings, pair)) as http:
        body = {"email": "new@example.com", "password": "a long password", "display_name": "N"}
        registered = await http.post("/api/v1/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        login = await http.post(
            "/api/v1/auth/login", json={"email": body["email"], "password": body["password"]}
        )
        assert login.status_code == 200, login.text  # the standby has not heard of it yet
        assert (
            await arun(
                pair.standby.url, "SELECT count(*) FROM users WHERE email = $1", body["email"]
            )
            == 0
        )
        token = login.json()["data"]["access_token"]
        me = await http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["data"]["email"] == "new@example.com"


async def test_a_standby_beyond_the_staleness_bound_is_left_until_it_catches_up(
    pair: Replication, settings: Settings
) -> None:
    await pair.delay(4)
    config = _settings(settings, pair, cache_enabled=False, database_read_max_lag_seconds=1)
    async with app_client(config) as http:
        await arun(pair.primary.url, "UPDATE products SET name = 'Direct' WHERE id = 1")

        async def fresh() -> bool:
            return await _name(http) == "Direct"

        # Within the standby's 4 s delay the gateway sees it lag more than 1 s behind and
        # reads from the primary instead...
        await eventually(fresh, 3.5, "reads leave a standby that lags beyond the bound")
        on_standby = _reads(pair.standby)
        assert await _name(http) == "Direct"
        assert await arun(pair.standby.url, "SELECT name FROM products WHERE id = 1") == "Old"
        assert _reads(pair.standby) == on_standby

        # ...and goes back to it once it has caught up, without a restart.
        await pair.sync()

        async def on_the_standby() -> bool:
            before = _reads(pair.standby)
            return await _name(http) == "Direct" and _reads(pair.standby) > before

        await eventually(on_the_standby, 5, "reads return to the standby once it caught up")


async def test_reads_survive_the_standby_going_down_and_return_when_it_is_back(
    pair: Replication, settings: Settings
) -> None:
    config = _settings(settings, pair, cache_enabled=False, db_pool_timeout=1.0)
    async with app_client(config) as http:
        on_standby = _reads(pair.standby)
        assert await _name(http) == "Old"
        assert _reads(pair.standby) == on_standby + 1

        pair.standby.server.stop()
        on_primary = _reads(pair.primary)
        for _ in range(5):
            response = await http.get(PRODUCT)
            assert response.status_code == 200, response.text
            graph = await http.post("/graphql", json={"query": NAME_QUERY})
            assert graph.json() == {"data": {"product": {"name": "Old"}}}
        assert _reads(pair.primary) >= on_primary + 10

        pair.standby.server.start()  # same port, same data: the app is not restarted

        async def on_the_standby() -> bool:
            before = _reads(pair.standby)
            return await _name(http) == "Old" and _reads(pair.standby) > before

        await eventually(on_the_standby, 10, "reads return to the standby once it is back")


@pytest.fixture
def own_pair() -> Iterator[Replication]:
    """A pair of this test's own, for a test that promotes the standby."""
    pair = _started()
    try:
        asyncio.run(_seed(pair))
        yield pair
    finally:
        pair.stop()


async def test_a_promoted_standby_takes_over_through_a_multi_host_url(
    own_pair: Replication, settings: Settings
) -> None:
    pair = own_pair
    admin = await Actors(pair.primary.url, settings).admin()
    await pair.sync()
    hosts = f"127.0.0.1:{pair.primary.port},127.0.0.1:{pair.standby.port}"
    both = f"postgresql://postgres@{hosts}/shop?target_session_attrs=read-write"
    config = _settings(settings, pair, database_url=both, db_pool_timeout=1.0)
    async with app_client(config) as http:
        first = await http.patch(PRODUCT, json={"name": "Before"}, headers=admin.headers)
        assert first.status_code == 200, first.text
        await pair.sync()

        pair.primary.server.stop()
        pair.standby.server.promote()

        async def written() -> bool:
            response = await http.patch(PRODUCT, json={"name": "After"}, headers=admin.headers)
            # While the pool still holds connections to the old primary: 503, not a hang.
            assert response.status_code in (200, 503), response.text
            return response.status_code == 200

        await eventually(written, 10, "writes reach the promoted standby")
        assert await arun(pair.standby.url, "SELECT pg_is_in_recovery()") is False
        assert await arun(pair.standby.url, "SELECT name FROM products WHERE id = 1") == "After"
        assert await _name(http) == "After"
        graph = await http.post("/graphql", json={"query": NAME_QUERY})
        assert graph.json() == {"data": {"product": {"name": "After"}}}


async def test_an_unreachable_replica_falls_back_to_the_primary(
    fresh_database_url: str, settings: Settings
) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:
        await conn.execute(
            "INSERT INTO categories (slug, name) VALUES ('c', 'C');"
            "INSERT INTO products (sku, name, price, stock, category_id) "
            "VALUES ('P1', 'Fresh', 10, 5, 1)"
        )
    finally:
        await conn.close()
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    async with app_client(
        settings, database_url=fresh_database_url, database_read_url=down, db_pool_timeout=0.5
    ) as http:
        response = await http.get(PRODUCT)
        assert response.status_code == 200
        assert response.json()["data"]["name"] == "Fresh"

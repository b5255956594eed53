"""Read replica routing: read-only statements go to the replica, except when that could show
a caller stale data. The "replica" here is a second database whose rows differ on purpose,
standing in for replication lag, so every routing decision shows in the response."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from gateway.settings import Settings
from tests.conftest import Actors, app_client, create_database, drop_database, with_database
from tests.processes import free_port

pytestmark = pytest.mark.anyio

ROWS = """
INSERT INTO categories (slug, name) VALUES ('c', 'C');
INSERT INTO products (sku, name, price, stock, category_id) VALUES ('P1', '{name}', 10, 5, 1);
"""


async def run(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def replica_url(pg_admin_url: str, template_database: str) -> Iterator[str]:
    name = create_database(pg_admin_url, template_database)
    try:
        yield with_database(pg_admin_url, name)
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
async def both(fresh_database_url: str, replica_url: str) -> tuple[str, str]:
    await run(fresh_database_url, ROWS.format(name="Fresh"))
    await run(replica_url, ROWS.format(name="Stale"))
    return fresh_database_url, replica_url


async def test_reads_use_the_replica_and_writers_read_their_writes(
    both: tuple[str, str], settings: Settings, actors: Actors
) -> None:
    primary, replica = both
    # On the primary: a token is honoured only while its account exists there.
    admin = await Actors(primary, settings).admin()
    async with app_client(
        settings, database_url=primary, database_read_url=replica, read_after_write_seconds=1
    ) as http:
        assert (await http.get("/api/v1/products/1")).json()["data"]["name"] == "Stale"
        # Writes and what they read back run on the primary, in their transaction.
        renamed = await http.patch(
            "/api/v1/products/1", json={"name": "Renamed"}, headers=admin.headers
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["data"]["name"] == "Renamed"
        # The writer's next reads, in either style, go to the primary for a while...
        rest = await http.get("/api/v1/products/1", headers=admin.headers)
        graph = await http.post(
            "/graphql", json={"query": '{ product(id: "1") { name } }'}, headers=admin.headers
        )
        assert rest.json()["data"]["name"] == "Renamed"
        assert graph.json()["data"]["product"]["name"] == "Renamed"
        # ...while everyone else reads the (lagging) replica.
        assert (await http.get("/api/v1/products/1")).json()["data"]["name"] == "Stale"
        await asyncio.sleep(1.2)
        later = await http.get("/api/v1/products/1", headers=admin.headers)
        assert later.json()["data"]["name"] == "Stale"


async def test_sign_in_reads_never_come_from_the_replica(
    both: tuple[str, str], settings: Settings
) -> None:
    primary, replica = both
    async with app_client(settings, database_url=primary, database_read_url=replica) as http:
        body = {"email": "new@example.com", "password": "a long password", "display_name": "N"}
        registered = await http.post("/api/v1/auth/register", json=body)
        assert registered.status_code == 201
        login = await http.post(
            "/api/v1/auth/login", json={"email": body["email"], "password": body["password"]}
        )
        assert login.status_code == 200, login.text  # the replica has never heard of it
        token = login.json()["data"]["access_token"]
        me = await http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["data"]["email"] == "new@example.com"


async def test_an_unreachable_replica_falls_back_to_the_primary(
    both: tuple[str, str], settings: Settings
) -> None:
    primary, _ = both
    port = free_port()
    down = f"postgresql://postgres@127.0.0.1:{port}/nothing"
    async with app_client(
        settings, database_url=primary, database_read_url=down, db_pool_timeout=0.5
    ) as http:
        response = await http.get("/api/v1/products/1")
        assert response.status_code == 200
        assert response.json()["data"]["name"] == "Fresh"

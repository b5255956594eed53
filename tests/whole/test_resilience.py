"""Graceful failure: the database stops and comes back, statements time out, the pool runs
dry, the process is told to stop; and two processes behave as one service."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway.cli.embedded import EmbeddedPostgres
from gateway.settings import PROJECT_ROOT, Settings
from gateway.tokens import TokenIssuer
from tests.conftest import FAST_PG, STATEMENTS, TEST_JWT_SECRET, app_client
from tests.processes import Served, base_env

pytestmark = pytest.mark.anyio

FILL = """
INSERT INTO users (email, display_name, password_hash, role) VALUES ('ops@example.com', 'Ops', '!', 'admin');
INSERT INTO categories (slug, name) VALUES ('c', 'C');
INSERT INTO products (sku, name, price, stock, category_id) VALUES ('P1', 'One', 10, 5, 1), ('P2', 'Two', 20, 5, 1);
"""


def admin_headers(settings: Settings) -> dict[str, str]:
    issuer = TokenIssuer(
        TEST_JWT_SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=600
    )
    return {"Authorization": f"Bearer {issuer.issue(1, 'admin')}"}


async def fill(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(FILL)
    finally:
        await conn.close()


class RowLock:
    """Hold a row lock on product 1 from outside the gateway, like a long transaction."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> RowLock:
        self.conn = await asyncpg.connect(self.url)
        self.tx = self.conn.transaction()
        await self.tx.start()
        await self.conn.execute("SELECT id FROM products WHERE id = 1 FOR UPDATE")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.tx.rollback()
        await self.conn.close()


async def gateway_backends(url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT state, query FROM pg_stat_activity "
            "WHERE application_name = 'gateway' AND state <> 'idle' AND datname = current_database()"
        )
        return [(r["state"], r["query"]) for r in rows]
    finally:
        await conn.close()


# Database restarts ---------------------------------------------------------------------------


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, which it may stop and start."""
    folder = Path(tempfile.mkdtemp(prefix="gateway-test-own-pg-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder, options=FAST_PG)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


async def migrated(server: EmbeddedPostgres) -> str:
    from gateway.db import Database
    from gateway.db.migrations import migrate

    url = server.url
    db = Database(url, STATEMENTS, min_size=0, max_size=1)
    await db.connect()
    try:
        await migrate(db, PROJECT_ROOT / "sql" / "migrations")
    finally:
        await db.disconnect()
    await fill(url)
    return url


async def eventually(http: httpx.AsyncClient, path: str, status: int, within: float = 10) -> float:
    started = time.monotonic()
    while True:
        response = await http.get(path)
        if response.status_code == status:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"{path} still {response.status_code}: {response.text}")
        await asyncio.sleep(0.2)


async def test_database_outage_is_503_then_recovers_without_restart(
    own_postgres: EmbeddedPostgres, settings: Settings
) -> None:
    url = await migrated(own_postgres)
    async with app_client(settings, database_url=url, db_pool_timeout=1.0) as http:
        assert (await http.get("/api/v1/products")).status_code == 200
        own_postgres.stop()
        started = time.monotonic()
        rest = await http.get("/api/v1/products")
        graph = await http.post("/graphql", json={"query": "{ products { totalCount } }"})
        assert time.monotonic() - started < 5
        assert rest.status_code == 503 and rest.headers["retry-after"] == "5"
        assert rest.json()["code"] == "DB_UNAVAILABLE"
        assert graph.status_code == 503
        assert graph.json()["errors"][0]["extensions"]["code"] == "DB_UNAVAILABLE"
        assert (await http.get("/livez")).status_code == 200
        assert (await http.get("/readyz")).status_code == 503
        own_postgres.start()
        await eventually(http, "/readyz", 200)
        products = await http.get("/api/v1/products")
        assert products.status_code == 200 and len(products.json()["data"]) == 2


async def test_starts_while_the_database_is_down_and_becomes_ready(
    own_postgres: EmbeddedPostgres, settings: Settings
) -> None:
    url = await migrated(own_postgres)
    own_postgres.stop()
    async with app_client(settings, database_url=url, db_pool_timeout=1.0) as http:
        assert (await http.get("/livez")).status_code == 200
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/api/v1/products/1")).status_code == 503
        own_postgres.start()
        await eventually(http, "/readyz", 200)
        assert (await http.get("/api/v1/products/1")).json()["data"]["name"] == "One"


# Timeouts and the pool --------------------------------------------------------------------


async def test_a_slow_statement_is_504_and_cancelled_in_postgres(
    fresh_database_url: str, settings: Settings
) -> None:
    await fill(fresh_database_url)
    slow = replace(settings, database_url=fresh_database_url, db_statement_timeout=0.5)
    async with app_client(slow) as http, RowLock(fresh_database_url):
        started = time.monotonic()
        response = await http.patch(
            "/api/v1/products/1", json={"price": 11}, headers=admin_headers(settings)
        )
        assert response.status_code == 504
        assert response.json()["code"] == "QUERY_TIMEOUT"
        assert time.monotonic() - started < 3
        assert await gateway_backends(fresh_database_url) == []
    conn = await asyncpg.connect(fresh_database_url)
    try:
        assert await conn.fetchval("SELECT price FROM products WHERE id = 1") == 10
    finally:
        await conn.close()


async def test_an_exhausted_pool_is_503_within_the_acquire_timeout(
    fresh_database_url: str, settings: Settings
) -> None:
    await fill(fresh_database_url)
    tight = replace(
        settings,
        database_url=fresh_database_url,
        db_pool_max_size=1,
        db_pool_timeout=0.3,
        db_statement_timeout=3,
    )
    async with app_client(tight) as http:
        async with RowLock(fresh_database_url):
            blocked = asyncio.create_task(
                http.patch(
                    "/api/v1/products/1", json={"price": 12}, headers=admin_headers(settings)
                )
            )
            await asyncio.sleep(0.3)
            started = time.monotonic()
            refused = await http.get("/api/v1/products")
            assert time.monotonic() - started < 1.5
            assert refused.status_code == 503
            assert refused.json()["code"] == "POOL_EXHAUSTED"
            assert refused.headers["retry-after"] == "1"
        # Once the lock goes, the waiting write completes and the pool serves again.
        assert (await blocked).status_code == 200
        assert (await http.get("/api/v1/products")).status_code == 200


# Real processes ----------------------------------------------------------------------------


def process_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:{uuid.uuid4().hex[:8]}",
        DB_POOL_MIN_SIZE="0",
        **extra,
    )


@pytest.mark.slow
async def test_sigterm_drains_and_lets_in_flight_requests_finish(
    fresh_database_url: str, redis_url: str, settings: Settings
) -> None:
    await fill(fresh_database_url)
    served = Served(process_env(fresh_database_url, redis_url, GATEWAY_DRAIN_SECONDS="1"))
    results: dict[str, int] = {}

    def write() -> None:
        response = httpx.patch(
            served.url + "/api/v1/products/1",
            json={"price": 13},
            headers=admin_headers(settings),
            timeout=20,
        )
        results["write"] = response.status_code

    try:
        async with RowLock(fresh_database_url):
            writer = threading.Thread(target=write)
            writer.start()
            await asyncio.sleep(0.5)  # the write is now waiting on the lock, in flight
            served.terminate()
            await asyncio.sleep(0.2)
            # Readiness turns 503 at once, while the process still serves.
            ready = httpx.get(served.url + "/readyz", timeout=2)
            assert ready.status_code == 503 and ready.json() == {"status": "draining"}
            assert httpx.get(served.url + "/livez", timeout=2).status_code == 200
            await asyncio.sleep(0.3)
        writer.join(timeout=20)
        assert results == {"write": 200}
        started = time.monotonic()
        assert served.wait(timeout=30) == 0
        assert time.monotonic() - started < 30
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
    log = served.output()
    # The lifespan ran to its end: the pool was closed before the process exited.
    assert "Disconnected from database" in log
    assert "Application shutdown complete" in log
    conn = await asyncpg.connect(fresh_database_url)
    try:
        assert await conn.fetchval("SELECT price FROM products WHERE id = 1") == 13
    finally:
        await conn.close()


@pytest.mark.slow
async def test_two_processes_behave_as_one_service(
    fresh_database_url: str, redis_url: str, settings: Settings
) -> None:
    await fill(fresh_database_url)
    env = process_env(fresh_database_url, redis_url, RATE_LIMIT_PER_MINUTE="6")
    one, two = Served(env), Served(env)
    try:
        # A write through one is read fresh through the other.
        before = httpx.get(two.url + "/api/v1/products/2").json()["data"]["price"]
        changed = httpx.patch(
            one.url + "/api/v1/products/2", json={"price": 21.5}, headers=admin_headers(settings)
        )
        assert (before, changed.status_code) == (20.0, 200)
        assert httpx.get(two.url + "/api/v1/products/2").json()["data"]["price"] == 21.5
        # One allowance across both processes: 6 per minute for this anonymous caller,
        # two of which the reads above already used.
        statuses = [httpx.get(one.url + "/api/v1/products").status_code for _ in range(2)]
        statuses += [httpx.get(two.url + "/api/v1/products").status_code for _ in range(3)]
        assert statuses == [200, 200, 200, 200, 429]
    finally:
        assert one.stop() == 0
        assert two.stop() == 0

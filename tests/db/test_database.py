"""The data layer: named statements, counting, transactions, and failures in our own vocabulary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gateway import telemetry
from gateway.db import ConstraintViolation, Database, statements
from gateway.errors import DBUnavailable, PoolExhausted, QueryTimeout
from gateway.settings import Settings
from tests.conftest import STATEMENTS, app_client
from tests.processes import free_port

pytestmark = pytest.mark.anyio

TEST_SQL = """
-- name: sleep
-- Sleep for :seconds, to provoke timeouts.
SELECT pg_sleep(:seconds)

-- name: add_category
-- Insert a category.
INSERT INTO categories (slug, name) VALUES (:slug, :name) RETURNING id

-- name: count_categories
-- How many categories there are.
SELECT count(*) FROM categories

-- name: application_name
-- The session's application_name setting.
SELECT current_setting('application_name')

-- name: settings
-- The settings the gateway's connections ask for.
SELECT current_setting('jit') AS jit, current_setting('plan_cache_mode') AS plan_cache_mode

-- name: try_lock
-- Take session advisory lock 42 if it is free.
SELECT pg_try_advisory_lock(42)

-- name: backend
-- The server process serving this connection.
SELECT pg_backend_pid()
"""


@pytest.fixture
def registry(tmp_path: Path) -> dict[str, statements.Statement]:
    (tmp_path / "t.sql").write_text(TEST_SQL)
    return {**STATEMENTS, **statements.load(tmp_path)}


@pytest.fixture
async def tdb(
    fresh_database_url: str, registry: dict[str, statements.Statement]
) -> AsyncIterator[Database]:
    db = Database(
        fresh_database_url,
        registry,
        min_size=0,
        max_size=2,
        pool_timeout=0.3,
        statement_timeout=0.5,
    )
    await db.connect()
    yield db
    await db.disconnect()


async def test_statements_are_counted_per_request(tdb: Database) -> None:
    stats = telemetry.begin("test")
    await tdb.fetch_val("t.count_categories")
    await tdb.fetch_one("products.by_id", {"id": 1})
    assert stats.queries == 2
    assert stats.statements == ["t.count_categories", "products.by_id"]
    assert stats.db_seconds > 0


async def test_transaction_commits_or_rolls_back_as_a_whole(tdb: Database) -> None:
    async with tdb.transaction():
        await tdb.fetch_val("t.add_category", {"slug": "a", "name": "A"})
    with pytest.raises(RuntimeError, match="boom"):
        async with tdb.transaction():
            await tdb.fetch_val("t.add_category", {"slug": "b", "name": "B"})
            raise RuntimeError("boom")
    assert await tdb.fetch_val("t.count_categories") == 1


async def test_constraint_violation_is_translated_without_leaking(tdb: Database) -> None:
    await tdb.fetch_val("t.add_category", {"slug": "dup", "name": "A"})
    with pytest.raises(ConstraintViolation) as caught:
        await tdb.fetch_val("t.add_category", {"slug": "dup", "name": "B"})
    assert caught.value.kind == "unique"
    assert caught.value.constraint == "categories_slug_key"
    with pytest.raises(ConstraintViolation) as bad:
        await tdb.fetch_val("t.add_category", {"slug": "Not A Slug", "name": "B"})
    assert bad.value.kind == "check"


async def test_statement_timeout_cancels_the_query_in_postgres(
    tdb: Database, fresh_database_url: str
) -> None:
    with pytest.raises(QueryTimeout):
        await tdb.fetch_val("t.sleep", {"seconds": 5})
    conn = await asyncpg.connect(fresh_database_url)
    try:
        running = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'"
        )
    finally:
        await conn.close()
    assert running == 0
    # The connection went back to the pool healthy.
    assert await tdb.fetch_val("t.count_categories") == 0


async def test_connections_come_back_without_session_state(
    fresh_database_url: str, registry: dict[str, statements.Statement]
) -> None:
    """Released connections skip asyncpg's reset query; the only places that may leave
    session state behind (scripts, pinned sessions) reset their connection themselves."""
    db = Database(fresh_database_url, registry, min_size=1, max_size=1)
    await db.connect()
    try:
        backend = await db.fetch_val("t.backend")
        await db.run_script("SET application_name = 'leaked'")
        assert await db.fetch_val("t.application_name") == "gateway"
        async with db.session():
            assert await db.fetch_val("t.try_lock") is True
        # The pool's one connection is still open, yet its advisory lock is gone.
        assert await db.fetch_val("t.backend") == backend
        other = await asyncpg.connect(fresh_database_url)
        try:
            assert await other.fetchval("SELECT pg_try_advisory_lock(42)") is True
        finally:
            await other.close()
    finally:
        await db.disconnect()


async def test_waiting_callers_are_served_in_turn(
    fresh_database_url: str, registry: dict[str, statements.Statement]
) -> None:
    """Callers arriving while a connection is being handed back must not take it from one
    already waiting: under a steady stream of newcomers the waiter is served in turn."""
    db = Database(fresh_database_url, registry, min_size=1, max_size=1, pool_timeout=1.0)
    await db.connect()
    stop = asyncio.Event()
    newcomers: list[asyncio.Task[Any]] = []

    async def stream() -> None:
        # A new caller every loop turn, as requests arrive under load.
        while not stop.is_set():
            newcomers.append(asyncio.create_task(db.fetch_val("t.sleep", {"seconds": 0.002})))
            await asyncio.sleep(0)

    try:
        hog = asyncio.create_task(db.fetch_val("t.sleep", {"seconds": 0.05}))
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        waiter = asyncio.create_task(db.fetch_val("t.count_categories"))
        await asyncio.sleep(0)
        arrivals = asyncio.create_task(stream())
        # Only the hog (50 ms) is ahead of the waiter.
        assert await waiter == 0
        waited = asyncio.get_running_loop().time() - started
        stop.set()
        await arrivals
        await hog
        await asyncio.gather(*newcomers, return_exceptions=True)
        assert waited < 0.5
    finally:
        stop.set()
        await db.disconnect()


async def test_pool_exhaustion_fails_fast(tdb: Database) -> None:
    async def hold() -> None:
        await tdb.fetch_val("t.sleep", {"seconds": 0.4})

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    await asyncio.sleep(0.1)
    started = asyncio.get_running_loop().time()
    with pytest.raises(PoolExhausted):
        await tdb.fetch_val("t.count_categories")
    assert asyncio.get_running_loop().time() - started < 1.0
    await asyncio.gather(*holders)


async def test_unreachable_database_is_db_unavailable() -> None:
    db = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/x", STATEMENTS, min_size=1)
    await db.connect()
    try:
        with pytest.raises(DBUnavailable):
            await db.fetch_val("health.ping")
    finally:
        await db.disconnect()


async def test_a_bad_statement_fails_the_start_up_check(
    fresh_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "bad.sql").write_text("-- name: q\n-- Broken.\nSELECT no_such_column FROM products")
    db = Database(fresh_database_url, statements.load(tmp_path), min_size=0)
    await db.connect()
    try:
        with pytest.raises(statements.StatementError, match="bad.q"):
            await db.check_statements()
    finally:
        await db.disconnect()


async def test_app_with_database_down_answers_503_in_both_styles(settings: Settings) -> None:
    down = replace(settings, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    async with app_client(down) as http:
        rest = await http.get("/api/v1/products")
        assert rest.status_code == 503
        assert rest.headers["retry-after"] == "5"
        assert rest.json()["code"] == "DB_UNAVAILABLE"
        graph = await http.post("/graphql", json={"query": "{ products { totalCount } }"})
        assert graph.status_code == 503
        assert graph.headers["retry-after"] == "5"
        assert graph.json()["errors"][0]["extensions"]["code"] == "DB_UNAVAILABLE"
        assert (await http.get("/livez")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unavailable"


async def test_app_with_redis_down_is_ready_but_degraded(settings: Settings) -> None:
    async with app_client(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0") as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["cache"] == {"kind": "redis", "status": "unavailable"}
        assert (await http.get("/api/v1/products")).status_code == 200


async def test_app_refuses_a_database_without_migrations(
    settings: Settings, empty_database_url: str
) -> None:
    with pytest.raises(RuntimeError, match="run `gateway migrate`"):
        async with app_client(settings, database_url=empty_database_url):
            pass


async def test_connections_plan_once_and_never_compile(
    fresh_database_url: str, registry: dict[str, statements.Statement]
) -> None:
    """A generic plan's costs cross PostgreSQL's JIT thresholds; compiling cost 200-300 ms
    for statements that run in under a millisecond, so the gateway's sessions turn JIT off."""
    # The pool's default waits: `tdb`'s 0.3 s (for the exhaustion tests) can run out while
    # a busy machine opens the first connection.
    db = Database(fresh_database_url, registry, min_size=0, max_size=1)
    await db.connect()
    try:
        row = await db.fetch_one("t.settings")
    finally:
        await db.disconnect()
    assert row is not None
    assert (row["jit"], row["plan_cache_mode"]) == ("off", "force_generic_plan")

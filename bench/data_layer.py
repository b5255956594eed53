"""Data-layer overhead per statement: gateway.db vs raw asyncpg vs databases' own API.

Measures CPU time (process_time) for N fetch_one calls of the same primary-key SELECT on
one pooled connection's worth of work, in one run, and prints ratios against raw asyncpg.
Usage: python bench/data_layer.py [--url URL] [-n 5000]
Without --url it starts an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import databases

from gateway import statements
from gateway.db import Database
from gateway.embedded import EmbeddedPostgres
from gateway.migrations import migrate
from gateway.seed import Scale, seed
from gateway.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"


async def timed(label: str, n: int, call: Callable[[int], Awaitable[object]]) -> float:
    for i in range(200):  # warm up: statement caches, pool connections
        await call(1 + i % 100)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        await call(1 + i % 100)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    print(f"  {label:<34} {cpu / n * 1e6:8.1f} µs CPU/stmt  {wall / n * 1e6:8.1f} µs wall/stmt")
    return cpu / n


async def run(url: str, n: int) -> None:
    registry = statements.load(SQL_DIR / "queries")
    statement = registry["products.by_id"]
    ours = Database(url, registry, min_size=1, max_size=1)
    await ours.connect()
    await migrate(ours, SQL_DIR / "migrations")
    if not await ours.fetch_val("seed.has_data"):
        await seed(ours, Scale.parse("small"))

    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    legacy = databases.Database(url, min_size=1, max_size=1)
    await legacy.connect()
    # databases' text() path cannot parse `:id` next to `::` casts; by_id has none.
    text = statement.text

    async def raw(i: int) -> object:
        async with pool.acquire() as conn:
            return await conn.fetchrow(statement.sql, i)

    async def gateway_db(i: int) -> object:
        return await ours.fetch_one("products.by_id", {"id": i})

    async def databases_api(i: int) -> object:
        return await legacy.fetch_one(text, {"id": i})

    print(f"products.by_id, {n} calls each, one connection")
    base = await timed("raw asyncpg (pool.acquire + fetchrow)", n, raw)
    mine = await timed("gateway.db.Database.fetch_one", n, gateway_db)
    theirs = await timed("databases.Database.fetch_one", n, databases_api)
    print(f"  gateway.db / raw asyncpg:  {mine / base:.2f}x CPU  (target ≤ 1.25x)")
    print(f"  databases  / raw asyncpg:  {theirs / base:.2f}x CPU")
    await legacy.disconnect()
    await pool.close()
    await ours.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url, args.n))
        return
    folder = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder, options={"fsync": "off"})
    try:
        asyncio.run(run(server.start(), args.n))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Data-layer overhead per statement: gateway.db vs raw asyncpg (vs databases' own API).

For each of the SELECTs the read paths run most (a product, a page of products, a page of
reviews, categories and tags by ids), measures CPU time (process_time) per call through
gateway.db's Database and through raw asyncpg on a one-connection pool (configured like
gateway.db's: no reset query on release), the same SQL with the same values, in one
process, one after the other; the ratio is the data layer's own cost. `python -m bench`
runs it on the bench database; on its own:

    python bench/data_layer.py [--url URL] [-n 5000]

Without --url it starts an embedded PostgreSQL in a temporary folder and seeds it small.
Both paths run on uvloop, as the gateway does in production.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import databases
import uvloop

from gateway.cli.embedded import EmbeddedPostgres
from gateway.db import Database, statements
from gateway.db.migrations import migrate
from gateway.db.seed import Scale, seed
from gateway.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
T = TypeVar("T")
WARM_UP = 200

# (statement, how gateway.db fetches it); statements that no longer exist are skipped.
STATEMENTS = (
    ("products.by_id", "fetch_one"),
    ("product_pages.by_id", "fetch_all"),
    ("reviews.page_by_created_at_desc", "fetch_all"),
    ("categories.by_ids", "fetch_all"),
    ("tags.of_products", "fetch_all"),
)


def _values(params: tuple[str, ...], i: int) -> dict[str, Any]:
    """Values for a statement's parameters: the first page of whatever it reads around `i`."""
    known: dict[str, Any] = {
        "id": i,
        "ids": [i, i + 1, i + 2],
        "product_ids": [i],
        "roots": [0],
        "limit": 21,
        "after_id": 0,
        "after_key": datetime(9999, 12, 31, tzinfo=UTC),
    }
    return {name: known.get(name) for name in params}


async def _no_reset(connection: asyncpg.Connection) -> None:
    """asyncpg still rolls back an open transaction; nothing else, as in gateway.db."""


async def _timed(n: int, call: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    """(CPU µs, wall µs) per call over n calls after a warm-up."""
    for i in range(WARM_UP):  # statement caches, pool connections
        await call(1 + i % 100)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        await call(1 + i % 100)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    return cpu / n * 1e6, wall / n * 1e6


async def measure(url: str, n: int, *, echo: bool = True) -> dict[str, Any]:
    """Per statement: CPU and wall µs per call for raw asyncpg and gateway.db, and ratios."""
    registry = statements.load(SQL_DIR / "queries")
    ours = Database(url, registry, min_size=1, max_size=1)
    await ours.connect()
    # Configured as gateway.db configures its pool (no reset query on release), so the
    # ratio is the data layer's own code, not a pool setting either side could choose.
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1, reset=_no_reset)
    legacy = databases.Database(url, min_size=1, max_size=1)
    await legacy.connect()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    try:
        for name, method in STATEMENTS:
            statement = registry.get(name)
            if statement is None:
                skipped.append(f"{name}: no such statement")
                continue
            row = await _measure_one(statement, method, ours, pool, legacy, n)
            rows.append(row)
            if echo:
                _print_row(row)
    finally:
        await legacy.disconnect()
        await pool.close()
        await ours.disconnect()
    raw = sum(row["raw_cpu_us"] for row in rows)
    mine = sum(row["gateway_cpu_us"] for row in rows)
    result = {
        "calls_per_statement": n,
        "statements": rows,
        "skipped": skipped,
        "ratio": mine / raw if raw else None,
    }
    if echo and result["ratio"] is not None:
        print(f"  all statements: gateway.db / raw asyncpg {result['ratio']:.2f}x CPU (≤ 1.25x)")
    return result


async def _measure_one(
    statement: statements.Statement,
    method: str,
    ours: Database,
    pool: asyncpg.Pool,
    legacy: databases.Database,
    n: int,
) -> dict[str, Any]:
    raw_method = "fetchrow" if method == "fetch_one" else "fetch"
    fetch = getattr(ours, method)
    # Values are built before timing, so both sides pay only for running the statement.
    values = {i: _values(statement.params, i) for i in range(1, 101)}
    args = {i: statement.args(value) for i, value in values.items()}

    async def raw(i: int) -> object:
        async with pool.acquire() as conn:
            return await getattr(conn, raw_method)(statement.sql, *args[i])

    async def gateway_db(i: int) -> object:
        return await fetch(statement.name, values[i])

    raw_cpu, raw_wall = await _timed(n, raw)
    our_cpu, our_wall = await _timed(n, gateway_db)
    row: dict[str, Any] = {
        "statement": statement.name,
        "raw_cpu_us": raw_cpu,
        "raw_wall_us": raw_wall,
        "gateway_cpu_us": our_cpu,
        "gateway_wall_us": our_wall,
        "ratio": our_cpu / raw_cpu,
        "databases_cpu_us": None,
    }
    # databases' own text() path cannot parse `:name` next to `::` casts; only try it bare.
    if "::" not in statement.text:

        async def databases_api(i: int) -> object:
            return await legacy.fetch_one(statement.text, values[i])

        row["databases_cpu_us"] = (await _timed(n, databases_api))[0]
    return row


def _print_row(row: dict[str, Any]) -> None:
    theirs = row["databases_cpu_us"]
    extra = f"  databases API {theirs:7.1f} µs" if theirs is not None else ""
    print(
        f"  {row['statement']:<34} raw {row['raw_cpu_us']:7.1f} µs  "
        f"gateway.db {row['gateway_cpu_us']:7.1f} µs CPU/stmt  {row['ratio']:.2f}x{extra}"
    )


async def _prepare_and_measure(url: str, n: int) -> None:
    db = Database(url, statements.load(SQL_DIR / "queries"), min_size=1, max_size=1)
    await db.connect()
    try:
        await migrate(db, SQL_DIR / "migrations")
        if not await db.fetch_val("seed.has_data"):
            await seed(db, Scale.parse("small"))
    finally:
        await db.disconnect()
    print(f"CPU per statement, {n} calls each, one connection")
    await measure(url, n)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop, the event loop the gateway is served on (uvicorn --loop
    uvloop): asyncio's default loop costs both sides more per await and per timer."""
    return uvloop.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()
    if args.url:
        run(_prepare_and_measure(args.url, args.n))
        return
    folder = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder, options={"fsync": "off"})
    try:
        run(_prepare_and_measure(server.start(), args.n))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Keyset cursors stay exact while rows are being inserted: no row seen twice, none skipped."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import app_client, app_settings

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def api(database_url: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            INSERT INTO categories (slug, name) VALUES ('all', 'All');
            INSERT INTO products (sku, name, price, stock, category_id)
            SELECT 'S-' || n, 'Product ' || (n * 7919 % 150), (n * 37 % 50) + 0.5, 1, 1
            FROM generate_series(1, 150) n;
            """
        )
    finally:
        await conn.close()
    settings = app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
    )
    async with app_client(settings) as http:
        yield http


async def snapshot(url: str) -> set[int]:
    conn = await asyncpg.connect(url)
    try:
        return {row["id"] for row in await conn.fetch("SELECT id FROM products")}
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("price", lambda p: (p["price"], p["id"])),
        ("-name", lambda p: (p["name"], p["id"])),
        ("created_at", lambda p: (p["created_at"], p["id"])),
    ],
)
async def test_a_walk_sees_every_existing_row_once_while_rows_arrive(
    api: httpx.AsyncClient, database_url: str, sort: str, key: Any
) -> None:
    before = await snapshot(database_url)
    walking = asyncio.Event()
    done = asyncio.Event()
    inserted: list[int] = []
    rng = random.Random(sort)

    async def insert_while_walking() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await walking.wait()
            # Bounded: rows created now sort after every page of an ascending walk by time,
            # so an endless stream would keep that walk going for ever.
            while not done.is_set() and len(inserted) < 40:
                tag = uuid.uuid4().hex[:10]
                inserted.append(
                    await conn.fetchval(
                        "INSERT INTO products (sku, name, price, stock, category_id) "
                        "VALUES ($1, $2, $3, 1, 1) RETURNING id",
                        f"NEW-{tag}",
                        f"Product {rng.randrange(150)}",
                        rng.randrange(50) + 0.25,
                    )
                )
                await asyncio.sleep(0.001)
        finally:
            await conn.close()

    async def walk() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        url: str | None = f"/api/v1/products?sort={sort}&limit=9"
        walking.set()
        try:
            while url:
                response = await api.get(url)
                assert response.status_code == 200
                seen += response.json()["data"]
                link = response.headers.get("link")
                url = link[1 : link.index(">")] if link else None
                await asyncio.sleep(0.002)  # let the inserter land rows between pages
        finally:
            done.set()
        return seen

    _, seen = await asyncio.gather(insert_while_walking(), walk())
    ids = [p["id"] for p in seen]
    assert len(ids) == len(set(ids)), "a row was served twice"
    assert before <= set(ids), f"rows skipped: {sorted(before - set(ids))}"
    assert set(ids) <= before | set(inserted)
    descending = sort.startswith("-")
    keys = [key(p) for p in seen]
    assert keys == sorted(keys, reverse=descending)
    assert len(inserted) > 10, "rows were inserted during the walk"

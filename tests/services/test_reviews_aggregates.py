"""The denormalized review_count / rating_avg stay exact under every kind of review write."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture
async def conn(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(fresh_database_url)
    await connection.execute(
        """
        INSERT INTO users (email, display_name, password_hash)
        SELECT 'u' || n || '@example.com', 'User ' || n, '!' FROM generate_series(1, 60) n;
        INSERT INTO categories (slug, name) VALUES ('c', 'C');
        INSERT INTO products (sku, name, price, category_id)
        SELECT 'p' || n, 'Product ' || n, 10, 1 FROM generate_series(1, 3) n;
        """
    )
    yield connection
    await connection.close()


async def mismatches(conn: asyncpg.Connection) -> list[tuple[int, int, Decimal | None]]:
    """Products whose stored aggregates differ from a fresh aggregate over reviews."""
    rows = await conn.fetch(
        """
        SELECT p.id, p.review_count, p.rating_avg
        FROM products p
        LEFT JOIN LATERAL (
            SELECT count(*)::int AS n, round(avg(r.rating)::numeric, 2) AS a
            FROM reviews r WHERE r.product_id = p.id
        ) agg ON true
        WHERE p.review_count <> agg.n OR p.rating_avg IS DISTINCT FROM agg.a
        """
    )
    return [tuple(r) for r in rows]


async def stored(conn: asyncpg.Connection, product_id: int) -> tuple[int, Decimal | None]:
    row = await conn.fetchrow(
        "SELECT review_count, rating_avg FROM products WHERE id = $1", product_id
    )
    assert row is not None
    return row["review_count"], row["rating_avg"]


async def test_insert_update_move_and_delete(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO reviews (product_id, author_id, rating, title) "
        "VALUES (1, 1, 5, 'a'), (1, 2, 4, 'b'), (1, 3, 1, 't'), (2, 1, 3, 'c')"
    )
    assert await stored(conn, 1) == (3, Decimal("3.33"))
    assert await stored(conn, 2) == (1, Decimal("3.00"))

    await conn.execute("UPDATE reviews SET rating = 2 WHERE product_id = 1 AND author_id = 1")
    assert await stored(conn, 1) == (3, Decimal("2.33"))

    # Moving a review to another product changes both.
    await conn.execute("UPDATE reviews SET product_id = 2 WHERE product_id = 1 AND author_id = 2")
    assert await stored(conn, 1) == (2, Decimal("1.50"))
    assert await stored(conn, 2) == (2, Decimal("3.50"))

    await conn.execute("DELETE FROM reviews WHERE product_id = 2")
    assert await stored(conn, 2) == (0, None)

    # A title-only edit leaves the aggregates alone.
    await conn.execute("UPDATE reviews SET title = 'edited'")
    assert await mismatches(conn) == []


async def test_deleting_a_user_cascades_into_the_aggregates(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO reviews (product_id, author_id, rating, title) "
        "VALUES (1, 1, 5, 'a'), (1, 2, 1, 'b')"
    )
    await conn.execute("DELETE FROM users WHERE id = 2")
    assert await stored(conn, 1) == (1, Decimal("5.00"))


async def test_bulk_statement_is_exact(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO reviews (product_id, author_id, rating, title) "
        "SELECT 1 + (n % 3), n, 1 + (n * 7 % 5), 't' FROM generate_series(1, 60) n"
    )
    assert await mismatches(conn) == []
    await conn.execute("UPDATE reviews SET rating = 6 - rating WHERE author_id % 2 = 0")
    assert await mismatches(conn) == []


async def test_concurrent_reviews_of_one_product_lose_nothing(
    conn: asyncpg.Connection, fresh_database_url: str
) -> None:
    pool = await asyncpg.create_pool(fresh_database_url, min_size=10, max_size=10)
    try:

        async def review(author: int) -> None:
            async with pool.acquire() as c, c.transaction():
                await c.execute(
                    "INSERT INTO reviews (product_id, author_id, rating, title) "
                    "VALUES (1, $1, $2, 't')",
                    author,
                    1 + author % 5,
                )
                await asyncio.sleep(0.001)

        await asyncio.gather(*(review(a) for a in range(1, 61)))
        await asyncio.gather(
            *(pool.execute("DELETE FROM reviews WHERE author_id = $1", a) for a in range(1, 31))
        )
    finally:
        await pool.close()
    assert await stored(conn, 1) == (30, Decimal("3.00"))
    assert await mismatches(conn) == []

"""Demo data: deterministic, shaped as advertised, exact aggregates, and safe to re-run."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from gateway.db import ConstraintViolation, Database
from gateway.db.seed import Scale, SeedError, SeedReport, seed
from tests.conftest import STATEMENTS, create_database, drop_database, with_database

SMALL = Scale.parse("small")
# Each domain table and the key that orders its rows for a checksum.
KEYS = {
    "users": "id",
    "categories": "id",
    "products": "id",
    "tags": "id",
    "product_tags": "product_id, tag_id",
    "reviews": "id",
    "orders": "id",
    "order_items": "order_id, product_id",
}


async def run_seed(url: str, scale: Scale = SMALL, **options: Any) -> SeedReport:
    db = Database(url, STATEMENTS, min_size=0, max_size=2)
    await db.connect()
    try:
        return await seed(db, scale, **options)
    finally:
        await db.disconnect()


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def value(url: str, sql: str, *args: Any) -> Any:
    (row,) = await fetch(url, sql, *args)
    return row[0]


async def checksums(url: str) -> dict[str, str]:
    """An md5 of every domain table's full contents, generated columns included."""
    sql = " UNION ALL ".join(
        f"SELECT '{table}', md5(coalesce(string_agg(t::text, '|' ORDER BY {key}), ''))"
        f" FROM {table} t"
        for table, key in KEYS.items()
    )
    return {row[0]: row[1] for row in await fetch(url, sql)}


async def row_counts(url: str) -> dict[str, int]:
    sql = " UNION ALL ".join(f"SELECT '{table}', count(*) FROM {table}" for table in KEYS)
    return {row[0]: row[1] for row in await fetch(url, sql)}


@pytest.fixture
def other_database_url(pg_admin_url: str, template_database: str) -> Iterator[str]:
    """A second migrated, empty database for this test."""
    name = create_database(pg_admin_url, template_database)
    try:
        yield with_database(pg_admin_url, name)
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
async def seeded_url(database_url: str) -> str:
    """This module's database holding the small data set, for read-only checks."""
    await run_seed(database_url)
    return database_url


@pytest.mark.anyio
async def test_same_scale_and_seed_give_identical_contents(
    fresh_database_url: str, other_database_url: str
) -> None:
    first = await run_seed(fresh_database_url)
    second = await run_seed(other_database_url)
    assert first.counts == second.counts
    assert await checksums(fresh_database_url) == await checksums(other_database_url)


@pytest.mark.anyio
async def test_counts_match_the_scale(seeded_url: str) -> None:
    counts = await row_counts(seeded_url)
    for table in ("categories", "products", "users", "tags", "reviews", "orders"):
        assert counts[table] == getattr(SMALL, table), table
    assert 0 < counts["product_tags"] <= 5 * SMALL.products
    assert SMALL.orders <= counts["order_items"] <= 5 * SMALL.orders


@pytest.mark.anyio
async def test_report_counts_what_was_loaded(fresh_database_url: str) -> None:
    report = await run_seed(fresh_database_url)
    assert report.counts == await row_counts(fresh_database_url)
    assert report.seconds > 0


@pytest.mark.anyio
async def test_categories_form_three_levels_and_products_sit_in_leaves(seeded_url: str) -> None:
    depths = await fetch(
        seeded_url,
        """
        WITH RECURSIVE tree AS (
            SELECT id, 1 AS depth FROM categories WHERE parent_id IS NULL
            UNION ALL
            SELECT c.id, t.depth + 1 FROM categories c JOIN tree t ON c.parent_id = t.id
        )
        SELECT t.depth, EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = t.id) AS inner
        FROM tree t
        """,
    )
    assert len(depths) == SMALL.categories  # every category is reachable from a root
    assert {row["depth"] for row in depths} == {1, 2, 3}
    assert all(row["inner"] == (row["depth"] < 3) for row in depths)
    misplaced = await value(
        seeded_url,
        "SELECT count(*) FROM products p"
        " WHERE EXISTS (SELECT 1 FROM categories c WHERE c.parent_id = p.category_id)",
    )
    assert misplaced == 0
    slugs = [row[0] for row in await fetch(seeded_url, "SELECT slug FROM categories ORDER BY id")]
    assert "home" in slugs
    assert "home-lighting" in slugs
    assert "home-lighting-desk-lamps" in slugs


@pytest.mark.anyio
async def test_review_aggregates_equal_a_fresh_count(seeded_url: str) -> None:
    rows = await fetch(
        seeded_url,
        """
        SELECT p.id, p.review_count, p.rating_total, p.rating_avg,
               count(r.id) AS n, coalesce(sum(r.rating), 0) AS total,
               round(avg(r.rating), 2) AS average
        FROM products p LEFT JOIN reviews r ON r.product_id = p.id
        GROUP BY p.id
        """,
    )
    assert len(rows) == SMALL.products
    for row in rows:
        assert (row["review_count"], row["rating_total"], row["rating_avg"]) == (
            row["n"],
            row["total"],
            row["average"],
        ), row["id"]
    assert any(row["n"] == 0 for row in rows)  # some products have no reviews yet
    average = await value(seeded_url, "SELECT avg(rating) FROM reviews")
    assert average > Decimal("3.5")  # ratings skew positive


@pytest.mark.anyio
async def test_content_is_realistic(seeded_url: str) -> None:
    users = await fetch(seeded_url, "SELECT id, email, role, password_hash FROM users ORDER BY id")
    assert (users[0]["email"], users[0]["role"]) == ("admin@example.com", "admin")
    assert all(u["email"] == f"user{u['id']}@example.com" for u in users[1:])
    assert all(u["role"] == "customer" for u in users[1:])
    assert {u["password_hash"] for u in users} == {"!"}

    (low, high, least, most), *_ = await fetch(
        seeded_url, "SELECT min(price), max(price), min(stock), max(stock) FROM products"
    )
    assert low >= Decimal("1.00")
    assert high <= Decimal("999.99")
    assert least == 0  # some products are out of stock
    assert 0 < most <= 500

    lamps = await fetch(
        seeded_url,
        "SELECT name FROM products WHERE search @@ websearch_to_tsquery('english', 'lamp')",
    )
    assert lamps
    assert all("Lamp" in row["name"] for row in lamps)

    most_tags = await value(
        seeded_url,
        "SELECT max(n) FROM (SELECT count(*) AS n FROM product_tags GROUP BY product_id) s",
    )
    assert most_tags <= 5


@pytest.mark.anyio
async def test_orders_are_consistent(seeded_url: str) -> None:
    statuses = await fetch(seeded_url, "SELECT DISTINCT status FROM orders")
    assert {row[0] for row in statuses} == {"pending", "paid", "shipped", "cancelled"}
    wrong_price = await value(
        seeded_url,
        "SELECT count(*) FROM order_items i JOIN products p ON p.id = i.product_id"
        " WHERE i.unit_price <> p.price OR i.quantity NOT BETWEEN 1 AND 3",
    )
    assert wrong_price == 0
    sizes = await fetch(
        seeded_url,
        "SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM order_items GROUP BY order_id) s",
    )
    assert (sizes[0][0], sizes[0][1]) == (1, 5)
    empty = await value(
        seeded_url,
        "SELECT count(*) FROM orders o"
        " WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
    )
    assert empty == 0


@pytest.mark.anyio
async def test_refuses_to_seed_over_data_and_changes_nothing(fresh_database_url: str) -> None:
    await run_seed(fresh_database_url)
    before = await checksums(fresh_database_url)
    with pytest.raises(SeedError, match=r"already holds data \(200 products, .*--reset"):
        await run_seed(fresh_database_url)
    assert await checksums(fresh_database_url) == before


@pytest.mark.anyio
async def test_a_single_row_anywhere_counts_as_data(fresh_database_url: str) -> None:
    await fetch(fresh_database_url, "INSERT INTO tags (name) VALUES ('mine')")
    with pytest.raises(SeedError, match=r"\(1 tags\)"):
        await run_seed(fresh_database_url)
    assert await row_counts(fresh_database_url) == {table: int(table == "tags") for table in KEYS}


@pytest.mark.anyio
async def test_reset_replaces_the_data(fresh_database_url: str) -> None:
    migrations = "SELECT count(*) FROM schema_migrations"
    applied = await value(fresh_database_url, migrations)
    await run_seed(fresh_database_url)
    first = await checksums(fresh_database_url)

    await run_seed(fresh_database_url, reset=True, rng_seed=7)
    other = await checksums(fresh_database_url)
    assert other["products"] != first["products"]
    assert other["reviews"] != first["reviews"]

    await run_seed(fresh_database_url, reset=True)
    assert await checksums(fresh_database_url) == first
    assert await value(fresh_database_url, migrations) == applied > 0


@pytest.mark.anyio
async def test_a_failed_seed_leaves_the_database_as_it_was(fresh_database_url: str) -> None:
    await run_seed(fresh_database_url)
    before = await checksums(fresh_database_url)
    # A rule the data set breaks, so the load fails after the truncate has run.
    await fetch(
        fresh_database_url,
        "ALTER TABLE reviews ADD CONSTRAINT no_ones CHECK (rating > 1) NOT VALID",
    )
    with pytest.raises(ConstraintViolation):
        await run_seed(fresh_database_url, reset=True)
    assert await checksums(fresh_database_url) == before


@pytest.mark.anyio
async def test_new_rows_after_seeding_get_the_next_ids(fresh_database_url: str) -> None:
    await run_seed(fresh_database_url)
    url = fresh_database_url
    user = await value(
        url,
        "INSERT INTO users (email, display_name, password_hash)"
        " VALUES ('new@example.com', 'New', '!') RETURNING id",
    )
    category = await value(
        url, "INSERT INTO categories (slug, name) VALUES ('new', 'New') RETURNING id"
    )
    product = await value(
        url,
        "INSERT INTO products (sku, name, price, category_id)"
        " VALUES ('NEW-1', 'New Lamp', 1.00, $1) RETURNING id",
        category,
    )
    tag = await value(url, "INSERT INTO tags (name) VALUES ('brand-new') RETURNING id")
    review = await value(
        url,
        "INSERT INTO reviews (product_id, author_id, rating, title)"
        " VALUES ($1, $2, 5, 'Great') RETURNING id",
        product,
        user,
    )
    order = await value(url, "INSERT INTO orders (customer_id) VALUES ($1) RETURNING id", user)
    assert (user, category, product, tag, review, order) == (
        SMALL.users + 1,
        SMALL.categories + 1,
        SMALL.products + 1,
        SMALL.tags + 1,
        SMALL.reviews + 1,
        SMALL.orders + 1,
    )


@pytest.mark.anyio
async def test_the_smallest_scale_seeds(fresh_database_url: str) -> None:
    scale = Scale.parse("1")
    report = await run_seed(fresh_database_url, scale)
    assert report.counts["products"] == 1
    assert report.counts["reviews"] == scale.reviews
    assert await value(fresh_database_url, "SELECT review_count FROM products") == scale.reviews


def test_scale_presets() -> None:
    assert Scale.parse("small") == SMALL
    assert (SMALL.categories, SMALL.products, SMALL.users) == (12, 200, 50)
    assert (SMALL.tags, SMALL.reviews, SMALL.orders) == (25, 1_000, 300)
    bench = Scale.parse("bench")
    assert (bench.categories, bench.products, bench.users) == (100, 10_000, 2_000)
    assert (bench.reviews, bench.orders) == (100_000, 20_000)
    assert Scale.parse(" Bench ") == bench
    assert Scale.parse("10000") == bench  # numbers follow bench's ratios


def test_scale_from_a_number_of_products() -> None:
    scale = Scale.parse("500")
    assert scale == Scale(
        categories=12, products=500, users=100, tags=10, reviews=5_000, orders=1_000
    )
    assert Scale.parse("1").products == 1


@pytest.mark.parametrize("text", ["", "tiny", "0", "-5", "1.5", "1e3", "10k", "½"])
def test_scale_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid scale .*'small', 'bench' or a positive"):
        Scale.parse(text)


def test_scale_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="categories"):
        Scale(categories=2, products=1, users=1, tags=0, reviews=0, orders=0)
    with pytest.raises(ValueError, match="reviews"):
        Scale(categories=3, products=2, users=2, tags=0, reviews=5, orders=0)

"""gateway/reads/lists.py: page and count statements composed from the read model, run on
PostgreSQL: their rows, windows, batches, owner rule, and what a fetch records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway import telemetry
from gateway.db import Database
from gateway.reads import lists
from gateway.reads.ordering import orders_of
from tests.conftest import run_sql

pytestmark = pytest.mark.anyio

SHOP = """
INSERT INTO categories (id, slug, name, parent_id) OVERRIDING SYSTEM VALUE VALUES
    (1, 'home', 'Home', NULL), (2, 'lamps', 'Lamps', 1), (3, 'garden', 'Garden', NULL);
INSERT INTO products (id, sku, name, price, stock, category_id) OVERRIDING SYSTEM VALUE VALUES
    (1, 'P-1', 'Anvil', 5.00, 0, 2), (2, 'P-2', 'Bulb', 1.50, 4, 2),
    (3, 'P-3', 'Chair', 5.00, 2, 1), (4, 'P-4', 'Daisy', 2.25, 9, 3);
INSERT INTO users (id, email, display_name, password_hash) OVERRIDING SYSTEM VALUE VALUES
    (1, 'a@example.com', 'Ann', '!'), (2, 'b@example.com', 'Bob', '!');
INSERT INTO reviews (product_id, author_id, rating, title, created_at) VALUES
    (1, 1, 5, 'Heavy', '2026-01-01T00:00:00Z'), (1, 2, 3, 'Dense', '2026-01-02T00:00:00Z'),
    (2, 1, 4, 'Bright', '2026-01-03T00:00:00Z');
INSERT INTO orders (id, customer_id) OVERRIDING SYSTEM VALUE VALUES (1, 1), (2, 2), (3, 1);
"""


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, SHOP)
    return database_url


async def test_a_page_returns_every_field_and_its_sort_key_in_order(
    shop: str, db: Database
) -> None:
    sql = lists.rows_sql(lists.Rows("Product", "-price"))
    rows = await db.fetch_read_all("test", sql, [10])
    # Equal prices: the id breaks the tie, in the same direction.
    assert [(r["id"], r["sort_key"]) for r in rows] == [
        (3, Decimal("5.00")),
        (1, Decimal("5.00")),
        (4, Decimal("2.25")),
        (2, Decimal("1.50")),
    ]
    first = rows[0]
    assert first["name"] == "Chair" and first["in_stock"] is True and first["rating_avg"] is None


async def test_a_keyset_position_and_a_limit_window_the_rows(shop: str, db: Database) -> None:
    order = orders_of("Product")["-price"]
    sql = lists.rows_sql(lists.Rows("Product", "-price", after=True))
    first = await db.fetch_read_all("test", lists.rows_sql(lists.Rows("Product", "-price")), [2])
    assert [r["id"] for r in first] == [3, 1]
    after = order.position(order.cursor(first[-1]))
    rest = await db.fetch_read_all("test", sql, [*after, 10])
    assert [r["id"] for r in rest] == [4, 2]


async def test_filters_bind_their_values_in_order(shop: str, db: Database) -> None:
    shape = lists.Rows("Product", "id", ("category_slug", "in_stock", "max_price"))
    sql = lists.rows_sql(shape)
    assert "$1::text" in sql and "$2::boolean" in sql and "$3::numeric" in sql
    # `home` holds `lamps`: a category filter reads the subtree.
    rows = await db.fetch_read_all("test", sql, ["home", True, Decimal(5), 10])
    assert [r["id"] for r in rows] == [2, 3]
    count = lists.count_sql(lists.Count("Product", ("category_slug",)))
    assert [dict(r) for r in await db.fetch_read_all("test", count, ["home"])] == [{"count": 3}]


async def test_a_batch_reads_a_page_per_parent_in_one_statement(shop: str, db: Database) -> None:
    shape = lists.Rows(
        "Review", "-created_at", batch="Product.reviews", pulls=("author.display_name",)
    )
    rows = await db.fetch_read_all("test", lists.rows_sql(shape), [[1, 2, 4], 1])
    assert [(r["parent_id"], r["title"], r["author_display_name"]) for r in rows] == [
        (1, "Dense", "Bob"),
        (2, "Bright", "Ann"),
    ]
    counts = lists.count_sql(lists.Count("Review", batch="Product.reviews"))
    totals = await db.fetch_read_all("test", counts, [[1, 2, 4]])
    assert {r["parent_id"]: r["total"] for r in totals} == {1: 2, 2: 1, 4: 0}


def test_a_relation_that_cannot_batch_the_type_is_refused() -> None:
    with pytest.raises(ValueError, match="Product.tags cannot batch Tag rows"):
        lists.rows_sql(lists.Rows("Tag", "name", batch="Product.tags"))
    with pytest.raises(ValueError, match="Product.reviews cannot batch Order rows"):
        lists.count_sql(lists.Count("Order", batch="Product.reviews"))
    with pytest.raises(KeyError):
        lists.rows_sql(lists.Rows("Product", "stock"))


async def test_owned_rows_are_only_the_callers_own(shop: str, db: Database) -> None:
    sql = lists.rows_sql(lists.Rows("Order", "-created_at", owned=True))
    assert [r["id"] for r in await db.fetch_read_all("test", sql, [10, 1])] == [3, 1]
    count = lists.count_sql(lists.Count("Order", owned=True))
    assert (await db.fetch_read_all("test", count, [2]))[0]["count"] == 1


async def test_a_fetch_records_the_generations_its_shape_reads(shop: str, db: Database) -> None:
    stats = telemetry.begin("t")
    shape = lists.Rows("Review", "rating", pulls=("author.display_name",))
    await lists.fetch(db, shape, [10])
    assert stats.depends_on == {"reviews", "products", "users"}
    assert stats.queries == 1
    stats = telemetry.begin("t")
    await lists.fetch(db, lists.Count("Product", ("tag",)), ["warm"])
    assert stats.depends_on == {"products", "tags"}
    # The same shape is composed once, whatever its values.
    assert lists.rows_sql(lists.Rows("Tag", "name")) is lists.rows_sql(lists.Rows("Tag", "name"))

"""gateway/services/product_lists.py: product lists called directly, on real PostgreSQL.

What a list checks before any SQL (filters, includes, sorts, cursors), how many statements
a page costs (the page, a slug lookup, a count, one per embedded relation), categories
by id or slug with their subtree, a page per category in one statement, and the newest
reviews a product embeds.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from gateway import telemetry
from gateway.cache import RedisCache
from gateway.db import Database
from gateway.errors import InvalidParameter, NotFound
from gateway.reads.pagination import Page
from gateway.services import product_lists
from gateway.services.products import Product
from gateway.services.resources import Resources
from gateway.settings import Settings
from tests.conftest import STATEMENTS, TEST_JWT_SECRET, run_sql, service_resources

pytestmark = pytest.mark.anyio

SHOP = """
INSERT INTO categories (slug, name, parent_id) VALUES
    ('home', 'Home', NULL), ('lamps', 'Lamps', 1), ('desk-lamps', 'Desk lamps', 2),
    ('garden', 'Garden', NULL);
INSERT INTO products (sku, name, description, price, stock, category_id) VALUES
    ('P-1', 'Brass lamp', 'Warm light', 20.00, 3, 3),
    ('P-2', 'Floor lamp', 'Tall', 20.00, 0, 2),
    ('P-3', 'Rug', 'Soft wool', 35.00, 5, 1),
    ('P-4', 'Spade', 'Steel', 12.00, 7, 4),
    ('P-5', 'Desk lamp', 'Bright light', 15.00, 1, 3);
INSERT INTO tags (name) VALUES ('warm'), ('metal');
INSERT INTO product_tags VALUES (1, 1), (1, 2), (4, 2);
INSERT INTO users (email, display_name, password_hash)
SELECT 'u' || n || '@example.com', 'User ' || n, '!' FROM generate_series(1, 11) n;
INSERT INTO reviews (product_id, author_id, rating, title, created_at)
SELECT 1, n, 1 + n % 5, 'Review ' || n, timestamptz '2026-01-01 00:00:00+00' + n * interval '1 h'
FROM generate_series(1, 11) n;
"""


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, SHOP)
    return database_url


@pytest.fixture
async def resources(shop: str, redis_url: str) -> AsyncIterator[Resources]:
    prefix = f"gwtest:{uuid.uuid4().hex[:8]}"
    cache = RedisCache(redis_url, timeout=0.5)
    db = Database(shop, STATEMENTS, min_size=0, max_size=2)
    await db.connect()
    # The cache off, so every call shows the statements it costs.
    settings = Settings(cache_prefix=prefix, jwt_secret=TEST_JWT_SECRET, cache_enabled=False)
    yield service_resources(cache, settings, db=db)
    await cache.close()
    await db.disconnect()


def _ids(page: Page[Product]) -> list[int]:
    return [item["id"] for item in page.items]


def test_a_filter_is_checked_whole_before_any_sql() -> None:
    assert product_lists.check_filter(None) is product_lists.NO_FILTER
    same = product_lists.check_filter({"min_price": "20", "max_price": 20})
    assert same.min_price == same.max_price == Decimal(20)
    with pytest.raises(InvalidParameter, match="max_price: must not be below min_price"):
        product_lists.check_filter({"min_price": "20.01", "max_price": "20"})
    with pytest.raises(InvalidParameter, match="colour: unknown parameter; allowed: category,"):
        product_lists.check_filter({"colour": "red"})
    with pytest.raises(InvalidParameter, match="category: string should match pattern"):
        product_lists.check_filter({"category": "Desk Lamps"})
    conditions = product_lists.ProductConditions.model_validate({"in_stock": "true"})
    converted = product_lists.check_filter(conditions)
    assert isinstance(converted, product_lists.ProductFilter) and converted.in_stock is True


def test_includes_come_in_a_fixed_order_and_sorts_with_their_cursors() -> None:
    assert product_lists.check_includes(["reviews", "category"]) == ("category", "reviews")
    assert product_lists.check_includes([]) == ()
    with pytest.raises(InvalidParameter, match="include: must be among category, tags, reviews"):
        product_lists.check_includes(["tags", "orders"])
    product_lists.check_position(None, "-rating_avg")
    with pytest.raises(InvalidParameter, match="sort: must be one of id, -id, price"):
        product_lists.check_position(None, "stock")


async def test_a_page_costs_one_statement_more_per_count_slug_and_include(
    resources: Resources,
) -> None:
    stats = telemetry.begin("plain")
    plain = await product_lists.list_products(resources, limit=2, sort="-price")
    assert _ids(plain) == [3, 2] and plain.next_cursor is not None and stats.queries == 1
    stats = telemetry.begin("everything")
    page = await product_lists.list_products(
        resources,
        limit=5,
        filters={"category": "lamps", "in_stock": True},
        count=True,
        include=["tags", "category"],
    )
    assert _ids(page) == [1, 5] and page.total == 2
    assert page.items[0]["category"]["slug"] == "desk-lamps"
    assert [t["name"] for t in page.items[0]["tags"]] == ["metal", "warm"]
    assert stats.queries == 5, "slug, page, count, categories, tags"


async def test_equal_keys_page_through_every_product_once(resources: Resources) -> None:
    seen: list[int] = []
    after = None
    while True:
        page = await product_lists.list_products(resources, limit=2, sort="price", after=after)
        seen += _ids(page)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [4, 5, 1, 2, 3], "20.00 twice: the id breaks the tie"


async def test_a_category_nobody_has_matches_nothing_in_a_filter(resources: Resources) -> None:
    for ref in ("no-such-slug", "999"):
        page = await product_lists.list_products(
            resources, limit=5, filters={"category": ref}, count=True
        )
        assert (page.items, page.total) == ([], 0)
        assert await product_lists.count_products(resources, {"category": ref}) == 0
    assert await product_lists.count_products(resources, {"category": "1"}) == 4
    assert await product_lists.count_products(resources, {"q": "lights"}) == 2


async def test_a_categorys_products_are_its_subtree_by_id_or_slug(resources: Resources) -> None:
    by_slug = await product_lists.category_products(resources, "lamps", limit=10, count=True)
    by_id = await product_lists.category_products(resources, 2, limit=10, count=True)
    assert _ids(by_slug) == _ids(by_id) == [1, 2, 5] and by_id.total == 3
    with pytest.raises(NotFound):
        await product_lists.category_products(resources, "no-such-slug", limit=10)
    with pytest.raises(InvalidParameter, match="category: not allowed here"):
        await product_lists.category_products(
            resources, 2, limit=10, filters={"category": "garden"}
        )


async def test_a_page_per_category_in_one_statement(resources: Resources) -> None:
    stats = telemetry.begin("batch")
    pages = await product_lists.pages_for_categories(
        resources, [4, 1, 999, 4], limit=2, sort="-price", filters={"max_price": 30}
    )
    assert [_ids(page) for page in pages] == [[4], [2, 1], [], [4]]
    assert pages[1].next_cursor is not None and pages[0].next_cursor is None
    assert stats.queries == 1
    counts = await product_lists.counts_for_categories(resources, [1, 3, 999], {"in_stock": True})
    assert counts == [3, 2, 0] and stats.queries == 2


async def test_a_product_embeds_its_newest_reviews(resources: Resources) -> None:
    product = await product_lists.get_product(resources, 1, include=["reviews"])
    titles = [review["title"] for review in product["reviews"]]
    assert len(titles) == product_lists.EMBEDDED_REVIEWS == 10
    assert titles[0] == "Review 11" and "Review 1" not in titles
    assert "reviews" not in await product_lists.get_product(resources, 1)
    with pytest.raises(NotFound):
        await product_lists.get_product(resources, 999, include=["reviews"])

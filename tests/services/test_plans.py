"""gateway/services/plans.py: running a planned read, one statement or the cached answer.

On real PostgreSQL and Redis: a REST read's body and next cursor, an absent resource as
None; an answer nobody owns is kept (no SQL the second time, no entity markers left in
it); one read by a caller's own rules, one inside a transaction, and a GraphQL answer with
an absent root are never served from the cache.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import orjson
import pytest

from gateway import telemetry
from gateway.cache import RedisCache
from gateway.db import Database
from gateway.reads.shape import (
    Caller,
    Envelope,
    Listing,
    Lookup,
    Node,
    Query,
    Scalar,
    Slot,
    Window,
)
from gateway.services import plans
from gateway.services.resources import Resources
from gateway.settings import Settings
from tests.conftest import STATEMENTS, TEST_JWT_SECRET, run_sql, service_resources

pytestmark = pytest.mark.anyio

SHOP = """
INSERT INTO categories (slug, name) VALUES ('home', 'Home');
INSERT INTO products (sku, name, price, stock, category_id) VALUES
    ('P-1', 'Lamp', 1.50, 1, 1), ('P-2', 'Rug', 2.50, 0, 1), ('P-3', 'Vase', 3.50, 2, 1);
INSERT INTO users (email, display_name, password_hash) VALUES
    ('a@example.com', 'Ann', '!'), ('b@example.com', 'Bob', '!');
INSERT INTO orders (customer_id) VALUES (1), (2);
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
    settings = Settings(cache_prefix=prefix, jwt_secret=TEST_JWT_SECRET)
    resources = service_resources(cache, settings, db=db)
    yield resources
    await resources.reads.close()
    await cache.close()
    await db.disconnect()


def _product(style: str = "rest") -> Query:
    node = Node("Product", "rest" if style == "rest" else "graphql", (Scalar("name", "name"),))
    return Query((Lookup("data", "Product", "{t}.id = {v}", Slot("id", "bigint"), node),))


def _order(caller: Caller) -> Query:
    node = Node("Order", "rest", (Scalar("id", "id"),))
    return Query((Lookup("data", "Order", "{t}.id = {v}", Slot("id", "bigint"), node),), caller)


def _cheap(limit_name: str = "limit") -> Query:
    node = Node("Product", "rest", (Scalar("id", "id"),))
    window = Window(
        "price",
        Slot(limit_name, "integer"),
        filters=(("min_price", Slot("min", "numeric")),),
    )
    return Query((Listing("data", "Product", window, Envelope(node)),))


async def test_a_rest_read_is_one_statement_then_the_cached_body(resources: Resources) -> None:
    stats = telemetry.begin("first")
    found = await plans.single(resources, _product(), {"id": 1})
    assert found == plans.Single(b'{"name":"Lamp"}') and stats.queries == 1
    stats = telemetry.begin("second")
    assert await plans.single(resources, _product(), {"id": 1}) == found
    assert stats.queries == 0 and stats.cache_hits == 1
    assert (await plans.single(resources, _product(), {"id": 2})).body == b'{"name":"Rug"}'


async def test_an_absent_resource_is_none(resources: Resources) -> None:
    telemetry.begin("t")
    assert await plans.single(resources, _product(), {"id": 99}) == plans.Single(None)


async def test_a_listing_says_where_the_next_page_starts(resources: Resources) -> None:
    telemetry.begin("t")
    page = await plans.single(resources, _cheap(), {"limit": 1, "min": Decimal("2")})
    assert page.body is not None and page.next_cursor is not None
    assert orjson.loads(page.body)["data"] == [{"id": 2}]
    last = await plans.single(resources, _cheap(), {"limit": 5, "min": Decimal("2")})
    assert last.next_cursor is None


async def test_values_that_differ_are_different_entries(resources: Resources) -> None:
    telemetry.begin("t")
    one = await plans.single(resources, _cheap(), {"limit": 5, "min": Decimal("2.5")})
    stats = telemetry.begin("t")
    two = await plans.single(resources, _cheap(), {"limit": 5, "min": Decimal("2.50")})
    three = await plans.single(resources, _cheap(), {"limit": 5, "min": Decimal("3")})
    assert one.body is not None and two.body is not None and three.body is not None
    assert (
        orjson.loads(one.body)["data"] == orjson.loads(two.body)["data"] == [{"id": 2}, {"id": 3}]
    )
    assert orjson.loads(three.body)["data"] == [{"id": 3}]
    assert stats.queries == 2, "2.50 is written apart from 2.5, so it is its own entry"


async def test_a_read_by_a_callers_own_rules_is_never_cached(resources: Resources) -> None:
    stats = telemetry.begin("t")
    for _ in range(2):
        mine = await plans.single(resources, _order("user"), {"id": 1, "user": 1})
        assert mine.body == b'{"id":1}'
    assert await plans.single(resources, _order("user"), {"id": 1, "user": 2}) == plans.Single(None)
    assert stats.queries == 3 and stats.cache_hits == 0


async def test_inside_a_transaction_the_cache_is_not_used(resources: Resources) -> None:
    telemetry.begin("warm")
    await plans.single(resources, _product(), {"id": 3})
    stats = telemetry.begin("write")
    async with resources.db.transaction():
        await resources.db.fetch_read("test", "UPDATE products SET name = 'Urn' WHERE id = 3", [])
        found = await plans.single(resources, _product(), {"id": 3})
        assert found.body == b'{"name":"Urn"}', "it reads back what it wrote"
        await resources.db.fetch_read("test", "UPDATE products SET name = 'Vase' WHERE id = 3", [])
    assert stats.cache_hits == 0 and stats.queries == 3


async def test_a_graphql_answer_is_cached_unless_a_root_is_absent(resources: Resources) -> None:
    query = _product("graphql")
    stats = telemetry.begin("t")
    found = await plans.answer(resources, query, {"id": 1})
    assert found == plans.Answer(b'{"data":{"name":"Lamp"}}')
    assert b"\x01" not in found.data, "entity markers never leave the service"
    again = await plans.answer(resources, query, {"id": 1})
    assert again == found and stats.queries == 1
    for _ in range(2):
        missing = await plans.answer(resources, query, {"id": 99})
        assert missing == plans.Answer(b'{"data":null}', (0,))
    assert stats.queries == 3, "an answer with an absent root is read again"

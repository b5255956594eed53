"""gateway/services/tags.py: the tag service called directly, on real PostgreSQL.

Pages in name order both ways with their cursors and count; one tag or NotFound; tags per
product for a DataLoader batch; the admin's writes, who may make them, what a name may
be, and what each write declares it changed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from gateway import telemetry
from gateway.cache import RedisCache
from gateway.db import Database
from gateway.errors import (
    Conflict,
    Forbidden,
    InvalidParameter,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from gateway.principal import ANONYMOUS, Principal
from gateway.reads.pagination import Page
from gateway.services import tags
from gateway.services.resources import Resources
from gateway.settings import Settings
from tests.conftest import STATEMENTS, TEST_JWT_SECRET, run_sql, service_resources

pytestmark = pytest.mark.anyio

ADMIN = Principal(1, "admin")
CUSTOMER = Principal(2, "customer")

SHOP = """
INSERT INTO categories (slug, name) VALUES ('home', 'Home');
INSERT INTO products (sku, name, price, stock, category_id) VALUES
    ('P-1', 'Lamp', 1, 1, 1), ('P-2', 'Rug', 2, 1, 1), ('P-3', 'Vase', 3, 1, 1);
INSERT INTO tags (name) VALUES ('warm'), ('bright'), ('cosy'), ('antique');
INSERT INTO product_tags VALUES (1, 1), (1, 2), (2, 3);
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
    # The cache off: pages here are read right after writes, which the pipeline (not the
    # service) would retire.
    settings = Settings(cache_prefix=prefix, jwt_secret=TEST_JWT_SECRET, cache_enabled=False)
    yield service_resources(cache, settings, db=db)
    await cache.close()
    await db.disconnect()


def _names(page: Page[tags.Tag]) -> list[str]:
    return [tag["name"] for tag in page.items]


async def test_pages_walk_every_tag_in_name_order_and_back(resources: Resources) -> None:
    first = await tags.list_tags(resources, limit=2, count=True)
    assert _names(first) == ["antique", "bright"] and first.total == 4
    second = await tags.list_tags(resources, limit=2, after=first.next_cursor)
    assert _names(second) == ["cosy", "warm"] and second.next_cursor is None
    assert second.total is None, "counted only when asked"
    backwards = await tags.list_tags(resources, limit=3, sort="-name")
    assert _names(backwards) == ["warm", "cosy", "bright"]


async def test_a_list_refuses_bad_limits_sorts_and_cursors(resources: Resources) -> None:
    for kwargs, parameter in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": 5, "sort": "id"}, "sort"),
        ({"limit": 5, "after": "garbage"}, "after"),
    ):
        with pytest.raises(InvalidParameter) as caught:
            await tags.list_tags(resources, **kwargs)
        assert caught.value.parameter == parameter
    assert len((await tags.list_tags(resources, limit=100)).items) == 4
    page = await tags.list_tags(resources, limit=1)
    with pytest.raises(InvalidParameter, match="another sort order"):
        await tags.list_tags(resources, limit=1, sort="-name", after=page.next_cursor)


async def test_one_tag_or_not_found(resources: Resources) -> None:
    assert await tags.get_tag(resources, 2) == {"id": 2, "name": "bright"}
    with pytest.raises(NotFound, match="Tag 999 does not exist."):
        await tags.get_tag(resources, 999)


async def test_tags_per_product_in_name_order_one_list_per_id_asked(
    resources: Resources,
) -> None:
    stats = telemetry.begin("batch")
    found = await tags.of_products(resources, [1, 3, 2, 1])
    assert [[t["name"] for t in one] for one in found] == [
        ["bright", "warm"],
        [],
        ["cosy"],
        ["bright", "warm"],
    ]
    assert stats.queries == 1


async def test_only_an_admin_creates_a_tag(resources: Resources) -> None:
    with pytest.raises(Unauthenticated):
        await tags.create_tag(resources, ANONYMOUS, {"name": "new"})
    with pytest.raises(Forbidden):
        await tags.create_tag(resources, CUSTOMER, {"name": "new"})
    stats = telemetry.begin("write")
    made = await tags.create_tag(resources, ADMIN, {"name": "hand-made"})
    assert made["name"] == "hand-made"
    assert await tags.get_tag(resources, made["id"]) == made
    assert stats.touched == {f"Tag:{made['id']}", "list:Tag"} and stats.declared == {"tags"}
    with pytest.raises(Conflict, match="A tag named 'hand-made' already exists."):
        await tags.create_tag(resources, ADMIN, {"name": "hand-made"})


@pytest.mark.parametrize(
    ("name", "field_message"),
    [
        ("", "String should have at least 1 character"),
        ("a" * 51, "String should have at most 50 characters"),
        ("Warm", "must be lowercase letters and digits, words joined by single hyphens"),
        ("two--hyphens", "must be lowercase letters and digits, words joined by single hyphens"),
        ("-edge", "must be lowercase letters and digits, words joined by single hyphens"),
        ("nul\x00", "must not contain NUL characters"),
    ],
)
async def test_a_name_is_lowercase_words_joined_by_hyphens_up_to_50(
    resources: Resources, name: str, field_message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await tags.create_tag(resources, ADMIN, {"name": name})
    assert [(e.field, e.message) for e in caught.value.errors] == [("name", field_message)]


async def test_a_name_of_exactly_50_and_no_other_field(resources: Resources) -> None:
    longest = "-".join(["abcd"] * 10)[:50].rstrip("-")
    longest = longest + "x" * (50 - len(longest))
    assert len(longest) == 50
    assert (await tags.create_tag(resources, ADMIN, {"name": longest}))["name"] == longest
    with pytest.raises(ValidationFailed) as caught:
        await tags.create_tag(resources, ADMIN, {"name": "ok", "id": 7})
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("id", "unknown or read-only field")
    ]


async def test_deleting_a_tag_takes_it_off_every_product(resources: Resources) -> None:
    made = await tags.create_tag(resources, ADMIN, {"name": "doomed"})
    await resources.db.fetch_read(
        "test", "INSERT INTO product_tags VALUES (3, $1) RETURNING tag_id", [made["id"]]
    )
    assert await tags.of_products(resources, [3]) == [[made]]
    with pytest.raises(Forbidden):
        await tags.delete_tag(resources, CUSTOMER, made["id"])
    stats = telemetry.begin("delete")
    assert await tags.delete_tag(resources, ADMIN, made["id"]) == made["id"]
    assert stats.touched == {f"Tag:{made['id']}", "list:Tag", "list:Product@tag"}
    assert await tags.of_products(resources, [3]) == [[]]
    with pytest.raises(NotFound):
        await tags.delete_tag(resources, ADMIN, made["id"])
    left = await resources.db.fetch_read_all("test", "SELECT 1 FROM tags WHERE name = 'doomed'", [])
    assert left == []

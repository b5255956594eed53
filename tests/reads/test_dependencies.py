"""gateway/reads/dependencies.py: which cache generations a read of each table depends on."""

from __future__ import annotations

import pytest

from gateway.db import Database
from gateway.reads.dependencies import GENERATIONS, TABLES, generations_read

pytestmark = pytest.mark.anyio


async def test_every_table_of_the_migrated_schema_is_declared(db: Database) -> None:
    rows = await db.fetch_read_all(
        "test",
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        [],
    )
    schema = {row["table_name"] for row in rows} - {"schema_migrations"}
    assert schema == set(TABLES)


def test_a_table_depends_on_the_writes_that_change_or_delete_its_rows() -> None:
    # Reviews vanish with their product (cascade) and their author; tags of a product
    # change with a product write or a tag's deletion.
    assert generations_read(["reviews"]) == {"reviews", "products", "users"}
    assert generations_read(["product_tags"]) == {"products", "tags"}
    assert generations_read(["order_items"]) == {"orders"}
    assert generations_read(["products"]) == {"products"}


def test_several_tables_give_the_union_and_unknown_names_add_nothing() -> None:
    assert generations_read(["tags", "orders", "no_such_table"]) == {"tags", "orders"}
    assert generations_read([]) == frozenset()
    assert generations_read(["no_such_table"]) == frozenset()


def test_generations_are_every_name_any_read_depends_on_sorted_once() -> None:
    assert list(GENERATIONS) == sorted(set(GENERATIONS))
    assert set(GENERATIONS) == generations_read(TABLES)
    # Link tables have no generation of their own: their writes are their owners'.
    assert "product_tags" not in GENERATIONS and "order_items" not in GENERATIONS

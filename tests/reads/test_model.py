"""gateway/reads/model.py: the read model's declarations, checked as the planner uses them.

Every declared field, relation, sort and filter compiles and runs on PostgreSQL in both
styles; the visibility rules give each caller what the model says (an admin everything, a
user their own, nobody else anything); a type refuses to be declared inconsistently.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from gateway.db import Database
from gateway.reads import lists
from gateway.reads.model import MODEL, Field, Model, Type
from gateway.reads.planner import compile_query
from gateway.reads.shape import (
    Caller,
    Items,
    Lookup,
    Many,
    Node,
    One,
    Query,
    Scalar,
    Slot,
    Style,
    Window,
)
from tests.conftest import run_sql

pytestmark = pytest.mark.anyio

SHOP = """
INSERT INTO categories (id, slug, name, parent_id) OVERRIDING SYSTEM VALUE VALUES
    (1, 'home', 'Home', NULL), (2, 'lamps', 'Lamps', 1), (3, 'desk-lamps', 'Desk lamps', 2);
INSERT INTO products (id, sku, name, description, price, stock, category_id) OVERRIDING SYSTEM VALUE VALUES
    (1, 'P-1', 'Brass lamp', 'A lamp of brass', 12.50, 3, 3), (2, 'P-2', 'Rug', 'Soft', 40.00, 0, 1);
INSERT INTO tags (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'warm'), (2, 'bright');
INSERT INTO product_tags VALUES (1, 1), (1, 2);
INSERT INTO users (id, email, display_name, password_hash, role) OVERRIDING SYSTEM VALUE VALUES
    (1, 'ann@example.com', 'Ann', '!', 'customer'), (2, 'bob@example.com', 'Bob', '!', 'customer'),
    (3, 'root@example.com', 'Root', '!', 'admin');
INSERT INTO reviews (id, product_id, author_id, rating, title, body) OVERRIDING SYSTEM VALUE VALUES
    (1, 1, 1, 4, 'Good', 'Bright enough'), (2, 1, 2, 2, 'Meh', 'Dim');
INSERT INTO orders (id, customer_id, status) OVERRIDING SYSTEM VALUE VALUES (1, 1, 'paid'), (2, 2, 'pending');
INSERT INTO order_items VALUES (1, 1, 2, 12.50), (1, 2, 1, 40.00), (2, 2, 1, 40.00);
"""

# Who each caller is, and the value of the `user` slot they bind.
USERS: dict[Caller, int | None] = {"anonymous": None, "user": 1, "admin": 3}


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, SHOP)
    return database_url


def _node(type_name: str, style: Style) -> Node:
    owner = MODEL[type_name]
    fields = [f for f in owner.fields if style == "rest" or f.graphql is not None]
    return Node(type_name, style, tuple(Scalar(f.name, f.name) for f in fields))


def _lookup(type_name: str, node: Node, by: str = "{t}.id = {v}") -> Lookup:
    return Lookup("data", type_name, by, Slot("id", "bigint"), node)


async def _read(db: Database, query: Query, row_id: int, user: int | None = None) -> Any:
    plan = compile_query(query, "single")
    values: dict[str, object] = {"id": row_id, "user": user}
    row = await db.fetch_read("test", plan.sql, plan.args(values))
    assert row is not None
    return None if row["body"] is None else orjson.loads(row["body"])


async def test_every_field_of_every_type_reads_in_both_styles(shop: str, db: Database) -> None:
    keys = {"OrderItem": ("{t}.order_id = {v} AND {t}.product_id = 1", 1)}
    for type_name, owner in MODEL.types.items():
        by, row_id = keys.get(type_name, ("{t}.id = {v}", 1))
        for style in ("rest", "graphql"):
            node = _node(type_name, style)
            found = await _read(db, Query((_lookup(type_name, node, by),), "admin"), row_id, 3)
            assert list(found) == [m.key for m in node.members], (type_name, style)
            for field in owner.fields:
                if field.name in found and not field.nullable:
                    assert found[field.name] is not None, (type_name, field.name)


async def test_values_are_written_as_each_style_types_them(shop: str, db: Database) -> None:
    rest = await _read(db, Query((_lookup("Order", _node("Order", "rest")),), "admin"), 1, 3)
    graphql = await _read(db, Query((_lookup("Order", _node("Order", "graphql")),), "admin"), 1, 3)
    assert (rest["id"], rest["status"], rest["total"]) == (1, "paid", 65.0)
    assert (graphql["id"], graphql["status"]) == ("1", "PAID")
    product = await _read(db, Query((_lookup("Product", _node("Product", "rest")),)), 2)
    assert (product["in_stock"], product["rating_avg"], product["price"]) == (False, None, 40.0)


async def test_every_relation_reads_its_rows(shop: str, db: Database) -> None:
    expected = {
        ("Product", "category"): {"id": 3},
        ("Product", "tags"): [{"id": 2}, {"id": 1}],  # name order: bright, warm
        ("Product", "reviews"): [{"id": 2}, {"id": 1}],  # newest first
        ("Category", "parent"): {"id": 2},
        ("Category", "children"): [],
        ("Category", "ancestors"): [{"id": 1}, {"id": 2}],  # from the top down
        ("Category", "products"): [{"id": 1}],
        ("Review", "product"): {"id": 1},
        ("Review", "author"): {"id": 1},
        ("Order", "customer"): {"id": 1},
        ("Order", "items"): [{"product_id": 1}, {"product_id": 2}],
        ("OrderItem", "product"): {"id": 1},
    }
    starts = {"Category": 3, "OrderItem": 1}
    declared = {(t.name, r.name) for t in MODEL.types.values() for r in t.relations}
    assert declared == set(expected)
    for (type_name, name), want in expected.items():
        relation, target = MODEL.target(MODEL[type_name], name)
        key = "product_id" if target.name == "OrderItem" else "id"
        node = Node(target.name, "rest", (Scalar(key, key),))
        member = Many(name, name, Window(), Items(node)) if relation.many else One(name, name, node)
        by = "{t}.id = {v}"
        if type_name == "OrderItem":
            by = "{t}.order_id = {v} AND {t}.product_id = 1"
        root = _lookup(type_name, Node(type_name, "rest", (member,)), by)
        found = await _read(db, Query((root,), "admin"), starts.get(type_name, 1), 3)
        assert found[name] == want, (type_name, name)


async def test_every_sort_and_filter_runs_on_its_index_expression(shop: str, db: Database) -> None:
    samples = {"bigint": 1, "text": "warm", "numeric": Decimal(3), "boolean": True}
    for owner in MODEL.types.values():
        for sort in owner.sort_names:
            sql = lists.rows_sql(lists.Rows(owner.name, sort, owned=bool(owner.owner)))
            args: list[object] = [100, 1] if owner.owner else [100]
            assert len(await db.fetch_read_all("test", sql, args)) >= 1, (owner.name, sort)
        for condition in owner.filters:
            sql = lists.count_sql(lists.Count(owner.name, (condition.name,)))
            await db.fetch_read_all("test", sql, [samples[condition.type]])
    found = await db.fetch_read_all(
        "test", lists.count_sql(lists.Count("Product", ("q",))), ["brass lamps"]
    )
    assert found[0]["count"] == 1, "full-text search stems and matches name and description"


@pytest.mark.parametrize(
    ("caller", "visible"), [("anonymous", False), ("user", True), ("admin", True)]
)
async def test_an_order_is_visible_to_its_customer_and_admins_only(
    shop: str, db: Database, caller: Caller, visible: bool
) -> None:
    query = Query((_lookup("Order", _node("Order", "rest")),), caller)
    assert compile_query(query, "single").per_user
    own = await _read(db, query, 1, USERS[caller])
    assert (own is not None) == visible
    # Bob's order: only the admin sees it.
    assert (await _read(db, query, 2, USERS[caller]) is not None) == (caller == "admin")


@pytest.mark.parametrize(
    ("caller", "user", "email"),
    [
        ("anonymous", None, None),
        ("user", 2, None),
        ("user", 1, "ann@example.com"),
        ("admin", 3, "ann@example.com"),
    ],
)
async def test_an_accounts_email_is_its_owners_and_admins_only(
    shop: str, db: Database, caller: Caller, user: int | None, email: str | None
) -> None:
    query = Query((_lookup("Account", _node("Account", "graphql")),), caller)
    plan = compile_query(query, "single")
    assert plan.per_user and plan.primary, "sign-in data is read from the primary, per caller"
    found = await _read(db, query, 1, user)
    assert found["email"] == email and found["display_name"] == "Ann"


def test_public_types_read_by_no_rule_and_from_any_replica() -> None:
    for type_name in ("Product", "Category", "Tag", "User", "Review"):
        plan = compile_query(Query((_lookup(type_name, _node(type_name, "rest")),)), "single")
        assert not plan.per_user and not plan.primary, type_name
    # The public profile never holds the email.
    assert not any(f.name == "email" for f in MODEL["User"].fields)
    with pytest.raises(ValueError, match="only a signed-in caller has an id"):
        compile_query(Query((_lookup("Order", _node("Order", "rest"), "{t}.id = {user}"),)))


def test_a_type_refuses_a_name_declared_twice_or_one_it_does_not_declare() -> None:
    name = Field("name", "{t}.name", "text")
    with pytest.raises(ValueError, match="Thing: a name is declared twice"):
        Type("Thing", "things", "things", fields=(name, name))
    with pytest.raises(ValueError, match="Thing: colour is neither a field nor a relation"):
        Type("Thing", "things", "things", fields=(name,), rest_shape=("name", "colour"))
    with pytest.raises(ValueError, match="Thing: size is neither a field nor a relation"):
        Type("Thing", "things", "things", fields=(name,), rest_fields=("size",))


def test_lookups_by_name_and_their_refusals() -> None:
    product = MODEL["Product"]
    sort, descending = product.sort("-rating_avg")
    assert (sort.field, sort.sql, descending) == ("rating_avg", "COALESCE({t}.rating_avg, 0)", True)
    assert product.sort_names[:4] == ("id", "-id", "price", "-price")
    assert product.has_relation("reviews") and not product.has_relation("orders")
    assert MODEL.by_rest_name("items") is MODEL["OrderItem"]
    assert MODEL.by_rest_name("accounts") is MODEL["Account"]
    assert MODEL.by_rest_name("nothing") is None
    for lookup, message in (
        (lambda: product.field("colour"), "Product has no field colour"),
        (lambda: product.relation("orders"), "Product has no relation orders"),
        (lambda: product.sort("stock"), "Product cannot be sorted by stock"),
        (lambda: product.filter("colour"), "Product has no filter colour"),
    ):
        with pytest.raises(KeyError, match=message):
            lookup()
    with pytest.raises(KeyError):
        Model({})["Product"]


def test_every_declaration_points_at_something_declared() -> None:
    for owner in MODEL.types.values():
        for relation in owner.relations:
            assert relation.target in MODEL.types, (owner.name, relation.name)
        if owner.sorts:
            owner.sort(owner.default_sort)
        for field in owner.fields:
            assert not field.choices or field.kind == "enum", (owner.name, field.name)

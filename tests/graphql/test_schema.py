"""The executable schema: every field that needs a resolver has one, a resolver for a field
the SDL lacks stops start-up, and nested fields batch (no N+1)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from ariadne import ObjectType, SubscriptionType
from ariadne.resolvers import is_default_resolver
from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema, get_named_type, is_object_type

from gateway.app import create_app
from gateway.graphql import schema as schema_module
from gateway.graphql.schema import BINDABLES, build_schema
from gateway.settings import PROJECT_ROOT, Settings
from tests.conftest import run_sql

ROOTS = {"Query", "Mutation", "Subscription"}
# Object fields the services embed in the parent's row (joined in SQL): no resolver needed.
EMBEDDED = {("Review", "author"), ("Order", "customer")}
# Types whose values connections.py and payloads.py build whole, as plain dicts.
WRAPPERS = ("Connection", "Edge", "Payload")


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(PROJECT_ROOT / "schema.graphql")


def needs_resolver(owner: GraphQLObjectType, name: str, field: GraphQLField) -> bool:
    """The rule: the default resolver reads the snake_case key of the parent's dict, so a
    field needs its own resolver when that cannot work: a root field (no parent), a field
    with arguments (the default resolver ignores them), or a relation to another object
    that the parent's row holds only by id."""
    if owner.name in ROOTS or field.args:
        return True
    if owner.name.endswith(WRAPPERS) or owner.name == "PageInfo":
        return False
    return is_object_type(get_named_type(field.type)) and (owner.name, name) not in EMBEDDED


def test_every_field_that_needs_a_resolver_has_one_and_no_other_does(
    schema: GraphQLSchema,
) -> None:
    missing, unexpected = [], []
    for owner in schema.type_map.values():
        if not isinstance(owner, GraphQLObjectType) or owner.name.startswith("__"):
            continue
        for name, field in owner.fields.items():
            has = not is_default_resolver(field.resolve)
            if owner.name == "Subscription":
                has = has and field.subscribe is not None
            if needs_resolver(owner, name, field) and not has:
                missing.append(f"{owner.name}.{name}")
            if has and not needs_resolver(owner, name, field):
                unexpected.append(f"{owner.name}.{name}")
    assert missing == []
    assert unexpected == []


@pytest.mark.parametrize(("type_name", "field"), [("Product", "colour"), ("Gadget", "name")])
def test_a_resolver_for_something_not_in_the_sdl_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, type_name: str, field: str
) -> None:
    bindable = ObjectType(type_name)
    bindable.set_field(field, lambda *_: "red")
    monkeypatch.setattr(schema_module, "BINDABLES", [*BINDABLES, bindable])
    with pytest.raises(ValueError, match="not defined"):
        create_app(settings)


def test_a_subscription_source_for_an_unknown_field_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    extra = SubscriptionType()
    extra.set_source("priceDropped", lambda *_: iter(()))
    monkeypatch.setattr(schema_module, "BINDABLES", [*BINDABLES, extra])
    with pytest.raises(ValueError, match="priceDropped"):
        create_app(settings)


# No N+1 ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    """60 products in 6 subcategories of 3 top-level ones, 3 tags and 6 reviews each."""

    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name)
        SELECT 'top-' || n, 'Top ' || n FROM generate_series(1, 3) n;
        INSERT INTO categories (slug, name, parent_id)
        SELECT 'sub-' || n, 'Sub ' || n, 1 + n % 3 FROM generate_series(1, 6) n;
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'P-' || n, 'P' || n, n, 5, 4 + n % 6 FROM generate_series(1, 60) n;
        INSERT INTO tags (name) SELECT 'tag-' || n FROM generate_series(1, 9) n;
        INSERT INTO product_tags (product_id, tag_id)
        SELECT p, 1 + (p + k) % 9 FROM generate_series(1, 60) p, generate_series(0, 2) k;
        INSERT INTO users (email, display_name, password_hash)
        SELECT 'u' || n || '@example.com', 'User ' || n, '!' FROM generate_series(1, 6) n;
        INSERT INTO reviews (product_id, author_id, rating, title)
        SELECT p, u, 1 + (p + u) % 5, 'ok' FROM generate_series(1, 60) p,
            generate_series(1, 6) u;
        """,
    )
    return database_url


DEEP = """
query($n: Int!) {
  products(first: $n) { edges { node {
    category { name parent { name } }
    tags { name }
    reviews(first: 5) { edges { node { rating author { displayName } } } }
  } } }
}
"""


@pytest.mark.anyio
async def test_nested_fields_cost_the_same_statements_for_5_and_50_rows(
    api: httpx.AsyncClient,
) -> None:
    small = await api.post("/graphql", json={"query": DEEP, "variables": {"n": 5}})
    large = await api.post("/graphql", json={"query": DEEP, "variables": {"n": 50}})
    assert small.status_code == large.status_code == 200
    edges = large.json()["data"]["products"]["edges"]
    assert len(edges) == 50
    node = edges[0]["node"]
    assert node["category"]["parent"]["name"].startswith("Top ")
    assert len(node["tags"]) == 3
    assert len(node["reviews"]["edges"]) == 5
    assert node["reviews"]["edges"][0]["node"]["author"]["displayName"].startswith("User ")
    # products, categories, parent categories, tags, reviews (authors joined in).
    count = int(small.headers["x-query-count"])
    assert count == int(large.headers["x-query-count"])
    assert count <= 6, count


def test_the_schema_is_built_once_per_version_of_its_file(tmp_path: Path) -> None:
    # Apps made again in one process share the schema; an edited file is read again.
    copy = tmp_path / "schema.graphql"
    copy.write_text((PROJECT_ROOT / "schema.graphql").read_text())
    first = build_schema(copy)
    assert build_schema(copy) is first
    assert build_schema(copy, federation=True) is not first
    copy.write_text(copy.read_text() + '\n"""An edit."""\ntype Extra { note: String }\n')
    edited = build_schema(copy)
    assert edited is not first
    assert "Extra" in edited.type_map and "Extra" not in first.type_map

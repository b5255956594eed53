"""graphql/category.py: category lookups by id or slug, the tree fields and Category.products
through per-request loaders (statements per query shape), and the category mutations' payloads
(reference path, READ_PLANNER off)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.graphql.category import numeric_ids
from tests.conftest import Actors, app_settings, reference, run_sql
from tests.support import gql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    """home > lamps > desk, and garden; products: 3 in lamps, 2 in desk, 1 in garden."""
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO categories (slug, name, parent_id) VALUES ('lamps', 'Lamps', 1);
        INSERT INTO categories (slug, name, parent_id) VALUES ('desk', 'Desk', 2);
        INSERT INTO categories (slug, name) VALUES ('garden', 'Garden');
        INSERT INTO products (sku, name, price, stock, category_id) VALUES
            ('L-1', 'Lamp 1', 30, 1, 2), ('L-2', 'Lamp 2', 20, 0, 2), ('L-3', 'Lamp 3', 10, 1, 2),
            ('D-1', 'Desk 1', 50, 1, 3), ('D-2', 'Desk 2', 40, 1, 3),
            ('G-1', 'Spade', 15, 1, 4);
        """,
    )
    return database_url


@pytest.fixture(scope="module")
async def ref(catalogue: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(app_settings(catalogue, redis_url)) as http:
        yield http


def test_numeric_ids_converts_valid_ids_and_leaves_the_rest_for_validation() -> None:
    data = {"parent_id": "7", "tag_ids": ["1", "x", 3], "name": "9"}
    assert numeric_ids(data, "parent_id", "tag_ids") == {
        "parent_id": 7,
        "tag_ids": [1, "x", 3],
        "name": "9",
    }
    assert numeric_ids({"parent_id": "abc"}, "parent_id") == {"parent_id": "abc"}


@pytest.mark.parametrize("arguments", ['(id: "2", slug: "lamps")', ""])
async def test_category_takes_exactly_one_of_id_and_slug(
    ref: httpx.AsyncClient, arguments: str
) -> None:
    body = (await gql(ref, f"{{ category{arguments} {{ id }} }}")).json()
    assert body["data"] == {"category": None}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["message"] == "id: give exactly one of id and slug"


async def test_by_id_and_by_slug_find_the_same_category(ref: httpx.AsyncClient) -> None:
    query = '{ a: category(id: "2") { slug name } b: category(slug: "lamps") { slug name } }'
    data = (await gql(ref, query)).json()["data"]
    assert data["a"] == data["b"] == {"slug": "lamps", "name": "Lamps"}


async def test_the_tree_fields_of_a_category(ref: httpx.AsyncClient) -> None:
    query = """{ category(slug: "desk") { parent { slug parent { slug parent { slug } } }
        ancestors { slug } children { slug } } }"""
    data = (await gql(ref, query)).json()["data"]["category"]
    assert data["parent"] == {"slug": "lamps", "parent": {"slug": "home", "parent": None}}
    assert [a["slug"] for a in data["ancestors"]] == ["home", "lamps"]
    assert data["children"] == []


async def test_tree_fields_of_a_whole_page_cost_one_statement_each(
    ref: httpx.AsyncClient,
) -> None:
    plain = await gql(ref, "{ categories { edges { node { id } } } }")
    tree = await gql(
        ref,
        "{ categories { edges { node { parent { id } children { id } ancestors { id } } } } }",
    )
    assert len(tree.json()["data"]["categories"]["edges"]) == 4
    assert int(tree.headers["x-query-count"]) == int(plain.headers["x-query-count"]) + 3


async def test_products_of_every_category_in_one_statement_per_page_shape(
    ref: httpx.AsyncClient,
) -> None:
    same = """{ categories { edges { node { slug
        products(first: 2, sort: PRICE) { edges { node { sku } } } } } } }"""
    response = await gql(ref, same)
    pages = {
        e["node"]["slug"]: [p["node"]["sku"] for p in e["node"]["products"]["edges"]]
        for e in response.json()["data"]["categories"]["edges"]
    }
    # A category's products include its descendants' (home holds lamps and desk).
    assert pages == {
        "home": ["L-3", "L-2"],
        "lamps": ["L-3", "L-2"],
        "desk": ["D-2", "D-1"],
        "garden": ["G-1"],
    }
    plain = await gql(ref, "{ categories { edges { node { slug } } } }")
    assert int(response.headers["x-query-count"]) == int(plain.headers["x-query-count"]) + 1
    two_shapes = """{ categories { edges { node {
        a: products(first: 1) { edges { cursor } } b: products(first: 2) { edges { cursor } }
    } } } }"""
    # The categories, then one page statement for each of the two shapes.
    assert (await gql(ref, two_shapes)).headers["x-query-count"] == "3"


async def test_category_product_counts_are_batched_per_filter(ref: httpx.AsyncClient) -> None:
    query = """{ categories { edges { node { slug
        all: products { totalCount } stocked: products(filter: {inStock: true}) { totalCount }
    } } } }"""
    response = await gql(ref, query)
    counts = {
        e["node"]["slug"]: (e["node"]["all"]["totalCount"], e["node"]["stocked"]["totalCount"])
        for e in response.json()["data"]["categories"]["edges"]
    }
    assert counts == {"home": (5, 4), "lamps": (5, 4), "desk": (2, 2), "garden": (1, 1)}
    # categories, two page shapes, two count filters.
    assert response.headers["x-query-count"] == "5"


async def test_a_category_filter_inside_a_category_fails_that_field_not_the_batch(
    ref: httpx.AsyncClient,
) -> None:
    query = """{ a: category(id: "2") { products(filter: {category: "desk"}) { totalCount } }
        b: category(id: "3") { products(first: 1) { totalCount } } }"""
    body = (await gql(ref, query)).json()
    # products is non-null, so the failure nulls its category; the other page is answered.
    assert body["data"] == {"a": None, "b": {"products": {"totalCount": 2}}}
    (error,) = body["errors"]
    assert error["path"] == ["a", "products"]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["message"].startswith("category: not allowed here")


async def test_create_and_delete_answer_with_payloads(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    create = """mutation($input: CreateCategoryInput!) { createCategory(input: $input) {
        category { id slug parent { slug } } errors { code field message } } }"""
    variables = {"input": {"slug": "lights", "name": "Lights", "parentId": "1"}}
    made = await ref.post(
        "/graphql", json={"query": create, "variables": variables}, headers=admin.headers
    )
    payload = made.json()["data"]["createCategory"]
    created = payload["category"].pop("id")
    assert payload == {"category": {"slug": "lights", "parent": {"slug": "home"}}, "errors": []}
    bad = {"input": {"slug": "other", "name": "Other", "parentId": "abc"}}
    refused = await ref.post(
        "/graphql", json={"query": create, "variables": bad}, headers=admin.headers
    )
    (error,) = refused.json()["data"]["createCategory"]["errors"]
    assert error["field"] == "parentId"
    delete = "mutation($id: ID!) { deleteCategory(id: $id) { deletedId errors { code } } }"
    gone = await ref.post(
        "/graphql", json={"query": delete, "variables": {"id": created}}, headers=admin.headers
    )
    assert gone.json()["data"]["deleteCategory"] == {"deletedId": created, "errors": []}
    deleted = await ref.post(
        "/graphql",
        json={"query": 'mutation { deleteCategory(id: "1") { deletedId errors { code } } }'},
        headers=admin.headers,
    )
    # home still has children: a user error, not a top-level one.
    assert deleted.json()["data"]["deleteCategory"]["deletedId"] is None
    assert deleted.json()["data"]["deleteCategory"]["errors"][0]["code"] == "CONFLICT"


async def test_a_customer_cannot_create_a_category(ref: httpx.AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    query = 'mutation { createCategory(input: {slug: "x", name: "X"}) { errors { code } } }'
    body = (await ref.post("/graphql", json={"query": query}, headers=customer.headers)).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

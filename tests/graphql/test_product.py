"""graphql/product.py: Product.category and Product.tags (carried by the row, else loaded in a
batch) and the product mutations: id fields converted or left for validation at their path,
expectedVersion passed through, payloads (reference path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Actor, Actors, app_settings, reference, run_sql

pytestmark = pytest.mark.anyio

FIELDS = "sku version category { slug } tags { name }"


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home'), ('garden', 'Garden');
        INSERT INTO tags (name) VALUES ('sale'), ('new');
        INSERT INTO products (sku, name, price, stock, category_id)
        VALUES ('A', 'Alpha', 5, 1, 1), ('B', 'Beta', 7, 1, 2);
        INSERT INTO product_tags (product_id, tag_id) VALUES (1, 1), (1, 2);
        """,
    )
    return database_url


@pytest.fixture(scope="module")
async def ref(catalogue: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(app_settings(catalogue, redis_url)) as http:
        yield http


async def call(
    http: httpx.AsyncClient, actor: Actor | None, query: str, **variables: Any
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=actor.headers if actor else {},
    )
    body: dict[str, Any] = response.json()
    return body


CREATE = f"""mutation($input: CreateProductInput!) {{ createProduct(input: $input) {{
    product {{ {FIELDS} }} errors {{ code field }} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: UpdateProductInput!, $v: Int) {{
    updateProduct(id: $id, input: $input, expectedVersion: $v) {{
    product {{ {FIELDS} }} errors {{ code field }} }} }}"""


async def test_a_created_product_answers_with_its_category_and_tags(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    data = {"sku": "N-1", "name": "New", "price": 3.5, "categoryId": "2", "tagIds": ["2"]}
    payload = (await call(ref, admin, CREATE, input=data))["data"]["createProduct"]
    assert payload == {
        "product": {
            "sku": "N-1",
            "version": 1,
            "category": {"slug": "garden"},
            "tags": [{"name": "new"}],
        },
        "errors": [],
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [({"categoryId": "x"}, "categoryId"), ({"tagIds": ["1", "nope"]}, "tagIds.1")],
)
async def test_a_malformed_id_field_is_a_validation_error_at_its_path(
    ref: httpx.AsyncClient, actors: Actors, change: dict[str, Any], field: str
) -> None:
    admin = await actors.admin()
    data = {"sku": "N-2", "name": "New", "price": 1, "categoryId": "1", **change}
    payload = (await call(ref, admin, CREATE, input=data))["data"]["createProduct"]
    assert payload == {"product": None, "errors": [{"code": "VALIDATION_FAILED", "field": field}]}


async def test_update_passes_the_expected_version_through(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    stale = await call(ref, admin, UPDATE, id="2", input={"name": "Beta 2"}, v=9)
    assert stale["data"]["updateProduct"] == {
        "product": None,
        "errors": [{"code": "PRECONDITION_FAILED", "field": None}],
    }
    fresh = await call(ref, admin, UPDATE, id="2", input={"tagIds": ["1"]}, v=1)
    assert fresh["data"]["updateProduct"] == {
        "product": {
            "sku": "B",
            "version": 2,
            "category": {"slug": "garden"},
            "tags": [{"name": "sale"}],
        },
        "errors": [],
    }
    unchecked = await call(ref, admin, UPDATE, id="2", input={"name": "Beta 3"})
    assert unchecked["data"]["updateProduct"]["product"]["version"] == 3


async def test_delete_answers_with_the_id_or_a_user_error(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    made = await call(
        ref, admin, CREATE, input={"sku": "D-1", "name": "Doomed", "price": 1, "categoryId": "1"}
    )
    assert made["data"]["createProduct"]["errors"] == []
    query = "mutation($id: ID!) { deleteProduct(id: $id) { deletedId errors { code field } } }"
    listing = await call(
        ref, None, "{ products(sort: ID_DESC, first: 1) { edges { node { id } } } }"
    )
    doomed = listing["data"]["products"]["edges"][0]["node"]["id"]
    assert (await call(ref, admin, query, id=doomed))["data"]["deleteProduct"] == {
        "deletedId": doomed,
        "errors": [],
    }
    assert (await call(ref, admin, query, id=doomed))["data"]["deleteProduct"] == {
        "deletedId": None,
        "errors": [{"code": "NOT_FOUND", "field": None}],
    }
    assert (await call(ref, admin, query, id="x"))["data"]["deleteProduct"] == {
        "deletedId": None,
        "errors": [{"code": "INVALID_PARAMETER", "field": "id"}],
    }


async def test_product_writes_are_for_admins(ref: httpx.AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    body = await call(ref, customer, UPDATE, id="1", input={"name": "Mine"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_product_by_id_and_in_a_page_has_the_same_category_and_tags_in_name_order(
    ref: httpx.AsyncClient,
) -> None:
    one = await call(ref, None, '{ product(id: "1") { tags { name } category { slug } } }')
    assert one["data"]["product"] == {
        "tags": [{"name": "new"}, {"name": "sale"}],
        "category": {"slug": "home"},
    }
    page = await call(
        ref, None, "{ products { edges { node { tags { name } category { slug } } } } }"
    )
    # Product 1 is never written here: a page loads what a lookup carries.
    assert page["data"]["products"]["edges"][0]["node"] == one["data"]["product"]

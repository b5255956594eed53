"""Product writes (admin) over REST and GraphQL: rules, roles, errors and the rows they leave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import reference, run_sql

pytestmark = pytest.mark.anyio

DETAIL_KEYS = {
    "id",
    "sku",
    "name",
    "description",
    "price",
    "stock",
    "in_stock",
    "category_id",
    "review_count",
    "rating_avg",
    "created_at",
    "updated_at",
    "version",
    "category",
    "tags",
}


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    """Home > Lamps, three tags, 60 tagged products; product 1 is ordered, product 3 reviewed."""

    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO categories (slug, name, parent_id) VALUES ('lamps', 'Lamps', 1);
        INSERT INTO tags (name) VALUES ('vintage'), ('bright'), ('eco');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'BASE-' || n, 'Base ' || n, n, n, 1 + n % 2 FROM generate_series(1, 60) n;
        INSERT INTO product_tags (product_id, tag_id)
        SELECT p.id, t.id FROM products p CROSS JOIN tags t WHERE (p.id + t.id) % 2 = 0;
        INSERT INTO users (email, display_name, password_hash)
        VALUES ('buyer@example.com', 'Buyer', '!');
        INSERT INTO orders (customer_id) VALUES (1);
        INSERT INTO order_items (order_id, product_id, quantity, unit_price)
        VALUES (1, 1, 1, 1);
        INSERT INTO reviews (product_id, author_id, rating, title)
        VALUES (3, 1, 5, 'Great');
        """,
    )
    return database_url


@pytest.fixture
async def api(catalogue: str, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    yield client


@pytest.fixture
def url(catalogue: str) -> str:
    """The module's database, for checking what a request left behind."""
    return catalogue


async def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every catalogue row, to prove a refused write changed nothing."""
    tables = {
        "products": "SELECT id, sku, name, description, price, stock, category_id, version, "
        "updated_at FROM products ORDER BY id",
        "product_tags": "SELECT product_id, tag_id FROM product_tags ORDER BY 1, 2",
        "categories": "SELECT id, slug, name, parent_id FROM categories ORDER BY id",
        "tags": "SELECT id, name FROM tags ORDER BY id",
        "reviews": "SELECT id, product_id FROM reviews ORDER BY id",
    }
    return {name: [tuple(r) for r in await query(url, sql)] for name, sql in tables.items()}


async def make_product(url: str, sku: str, *, tags: tuple[int, ...] = ()) -> int:
    (row,) = await query(
        url,
        "INSERT INTO products (sku, name, price, category_id) VALUES ($1, $1, 5, 2) RETURNING id",
        sku,
    )
    for tag in tags:
        await query(url, "INSERT INTO product_tags VALUES ($1, $2)", row["id"], tag)
    return int(row["id"])


async def gql(
    api: httpx.AsyncClient, document: str, headers: dict[str, str] | None = None, **variables: Any
) -> httpx.Response:
    return await api.post(
        "/graphql", json={"query": document, "variables": variables}, headers=headers or {}
    )


def new_product(sku: str, **changes: Any) -> dict[str, Any]:
    return {**{"sku": sku, "name": "Desk lamp", "price": 19.99, "category_id": 2}, **changes}


# REST: create -------------------------------------------------------------------------


async def test_create_returns_201_location_and_the_stored_product(
    api: Any, url: str, actors: Any
) -> None:
    admin = await actors.admin()
    body = new_product("NEW-1", description="Warm light.", stock=7, tag_ids=[1, 3, 3])
    response = await api.post("/api/v1/products", json=body, headers=admin.headers)
    assert response.status_code == 201
    product = response.json()["data"]
    assert response.headers["location"] == f"/api/v1/products/{product['id']}"
    assert set(product) == DETAIL_KEYS
    assert product["sku"] == "NEW-1" and product["price"] == 19.99 and product["stock"] == 7
    assert product["version"] == 1 and product["review_count"] == 0
    assert product["category"]["slug"] == "lamps"
    # Duplicates in tag_ids collapse; tags come back in name order.
    assert product["tags"] == [{"id": 3, "name": "eco"}, {"id": 1, "name": "vintage"}]
    (row,) = await query(url, "SELECT * FROM products WHERE sku = 'NEW-1'")
    assert (row["name"], str(row["price"]), row["stock"], row["category_id"]) == (
        "Desk lamp",
        "19.99",
        7,
        2,
    )
    assert row["description"] == "Warm light."
    links = await query(
        url, "SELECT tag_id FROM product_tags WHERE product_id = $1 ORDER BY 1", row["id"]
    )
    assert [r["tag_id"] for r in links] == [1, 3]
    assert (await api.get(response.headers["location"])).json()["data"] == product


async def test_create_defaults(api: Any, actors: Any) -> None:
    admin = await actors.admin()
    response = await api.post(
        "/api/v1/products", json=new_product("NEW-2", price=0), headers=admin.headers
    )
    assert response.status_code == 201
    product = response.json()["data"]
    assert (product["description"], product["stock"], product["in_stock"]) == ("", 0, False)
    assert product["tags"] == [] and product["price"] == 0


@pytest.mark.parametrize("field", ["id", "version", "review_count", "rating_avg", "created_at"])
async def test_create_with_a_read_only_field_is_400(
    api: Any, url: str, actors: Any, field: str
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    body = new_product(f"RO-{field}", **{field: 5})
    response = await api.post("/api/v1/products", json=body, headers=admin.headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert {"field": field, "message": "unknown or read-only field"} in problem["errors"]
    assert await snapshot(url) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": -1}, "price"),
        ({"price": 1.999}, "price"),
        ({"price": 10_000_000_000}, "price"),
        ({"price": "5"}, "price"),
        ({"price": True}, "price"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "nul\u0000byte"}, "name"),
        ({"sku": ""}, "sku"),
        ({"sku": "s" * 65}, "sku"),
        ({"description": "d" * 10_001}, "description"),
        ({"stock": -1}, "stock"),
        ({"stock": 1.5}, "stock"),
        ({"stock": 2**31}, "stock"),
        ({"category_id": 999}, "category_id"),
        ({"category_id": "2"}, "category_id"),
        ({"tag_ids": [1, 999]}, "tag_ids"),
        ({"tag_ids": [0]}, "tag_ids.0"),
    ],
)
async def test_create_with_a_bad_value_is_400_on_that_field(
    api: Any, url: str, actors: Any, changes: dict[str, Any], field: str
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.post(
        "/api/v1/products", json={**new_product("BAD-1"), **changes}, headers=admin.headers
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert [e["field"] for e in problem["errors"]] == [field]
    # No constraint or table names leak; and an unknown tag rolls the product back too.
    assert "fkey" not in response.text and "product_tags" not in response.text
    assert await snapshot(url) == before


async def test_price_edges_are_exact(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    for sku, price in [("EDGE-1", 9999999999.99), ("EDGE-2", 0.1), ("EDGE-3", 7)]:
        response = await api.post(
            "/api/v1/products", json=new_product(sku, price=price), headers=admin.headers
        )
        assert response.status_code == 201
        assert response.json()["data"]["price"] == price
    rows = await query(url, "SELECT price::text FROM products WHERE sku LIKE 'EDGE-%' ORDER BY sku")
    assert [r["price"] for r in rows] == ["9999999999.99", "0.10", "7.00"]


async def test_duplicate_sku_is_409(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.post("/api/v1/products", json=new_product("BASE-4"), headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT"
    assert "products_sku_key" not in response.text
    assert await snapshot(url) == before


async def test_create_needs_json(api: Any, actors: Any) -> None:
    admin = await actors.admin()
    response = await api.post(
        "/api/v1/products",
        content=b"sku=x",
        headers={**admin.headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    response = await api.post("/api/v1/products", json=[1], headers=admin.headers)
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_FAILED"


# REST: update ------------------------------------------------------------------------


async def test_patch_changes_given_fields_and_bumps_the_version(
    api: Any, url: str, actors: Any
) -> None:
    admin = await actors.admin()
    url = url
    product_id = await make_product(url, "PATCH-1", tags=(1, 2))
    (before,) = await query(url, "SELECT * FROM products WHERE id = $1", product_id)
    response = await api.patch(
        f"/api/v1/products/{product_id}",
        json={"name": "Renamed", "price": 42.5, "tag_ids": [3]},
        headers=admin.headers,
    )
    assert response.status_code == 200
    product = response.json()["data"]
    assert set(product) == DETAIL_KEYS
    assert (product["name"], product["price"], product["version"]) == ("Renamed", 42.5, 2)
    assert product["tags"] == [{"id": 3, "name": "eco"}]
    (after,) = await query(url, "SELECT * FROM products WHERE id = $1", product_id)
    assert after["version"] == before["version"] + 1
    assert after["updated_at"] > before["updated_at"]
    assert after["created_at"] == before["created_at"]
    assert (after["sku"], after["stock"], after["category_id"]) == (
        before["sku"],
        before["stock"],
        before["category_id"],
    )
    links = await query(url, "SELECT tag_id FROM product_tags WHERE product_id = $1", product_id)
    assert [r["tag_id"] for r in links] == [3]
    again = await api.patch(
        f"/api/v1/products/{product_id}", json={"tag_ids": []}, headers=admin.headers
    )
    assert again.json()["data"]["version"] == 3 and again.json()["data"]["tags"] == []


async def test_patch_without_tag_ids_keeps_the_tags(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    product_id = await make_product(url, "PATCH-2", tags=(1, 2))
    response = await api.patch(
        f"/api/v1/products/{product_id}", json={"stock": 3}, headers=admin.headers
    )
    assert [t["name"] for t in response.json()["data"]["tags"]] == ["bright", "vintage"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, ""),
        ({"id": 99}, "id"),
        ({"version": 7}, "version"),
        ({"review_count": 3}, "review_count"),
        ({"rating_avg": 4.5}, "rating_avg"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"name": None}, "name"),
        ({"name": "a\u0000b"}, "name"),
        ({"price": 0.001}, "price"),
        ({"category_id": 999}, "category_id"),
        ({"tag_ids": [999]}, "tag_ids"),
        ({"name": "ok", "tag_ids": [999]}, "tag_ids"),
    ],
)
async def test_refused_patch_changes_nothing(
    api: Any, url: str, actors: Any, body: dict[str, Any], field: str
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.patch("/api/v1/products/5", json=body, headers=admin.headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert [e["field"] for e in problem["errors"]] == [field]
    if not body:
        assert problem["detail"] == "Nothing to change."
    assert await snapshot(url) == before


async def test_patch_to_a_taken_sku_is_409(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.patch("/api/v1/products/5", json={"sku": "BASE-6"}, headers=admin.headers)
    assert response.status_code == 409 and response.json()["code"] == "CONFLICT"
    assert await snapshot(url) == before


async def test_patch_or_delete_of_an_absent_product_is_404(api: Any, actors: Any) -> None:
    admin = await actors.admin()
    patch = await api.patch("/api/v1/products/99999", json={"name": "x"}, headers=admin.headers)
    assert patch.status_code == 404 and patch.json()["code"] == "NOT_FOUND"
    delete = await api.delete("/api/v1/products/99999", headers=admin.headers)
    assert delete.status_code == 404


# REST: delete ------------------------------------------------------------------------


async def test_delete_is_204_and_cascades_reviews_and_tag_links(
    api: Any, url: str, actors: Any
) -> None:
    admin = await actors.admin()
    url = url
    product_id = await make_product(url, "DEL-1", tags=(1, 2))
    await query(
        url,
        "INSERT INTO reviews (product_id, author_id, rating, title) VALUES ($1, 1, 3, 'meh')",
        product_id,
    )
    response = await api.delete(f"/api/v1/products/{product_id}", headers=admin.headers)
    assert response.status_code == 204
    assert response.content == b""
    for table, column in [("products", "id"), ("product_tags", "product_id")]:
        assert await query(url, f"SELECT 1 FROM {table} WHERE {column} = $1", product_id) == []
    assert await query(url, "SELECT 1 FROM reviews WHERE product_id = $1", product_id) == []
    assert (await api.get(f"/api/v1/products/{product_id}")).status_code == 404


async def test_delete_of_an_ordered_product_is_409(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.delete("/api/v1/products/1", headers=admin.headers)
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "CONFLICT"
    assert problem["detail"] == "Ordered products cannot be deleted."
    assert "order_items" not in response.text
    assert await snapshot(url) == before


# REST: roles -------------------------------------------------------------------------

REST_WRITES = [
    ("POST", "/api/v1/products", new_product("ROLE-1")),
    ("PATCH", "/api/v1/products/5", {"name": "Hijacked"}),
    ("DELETE", "/api/v1/products/6", None),
]


@pytest.mark.parametrize(("method", "path", "body"), REST_WRITES)
async def test_anonymous_writes_are_401(
    api: Any, url: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = await snapshot(url)
    response = await api.request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert await snapshot(url) == before


@pytest.mark.parametrize(("method", "path", "body"), REST_WRITES)
async def test_customer_writes_are_403(
    api: Any, url: str, actors: Any, method: str, path: str, body: dict[str, Any] | None
) -> None:
    customer = await actors.customer()
    before = await snapshot(url)
    response = await api.request(method, path, json=body, headers=customer.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert await snapshot(url) == before


async def test_wrong_method_lists_the_allowed_ones(api: Any) -> None:
    response = await api.post("/api/v1/products/5", json={})
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) >= {"GET", "PUT", "PATCH", "DELETE"}


# GraphQL ------------------------------------------------------------------------------

CREATE = """
mutation Create($input: CreateProductInput!) {
  createProduct(input: $input) {
    product { id sku name price stock version category { slug } tags { id name } }
    errors { code field message }
  }
}
"""

UPDATE = """
mutation Update($id: ID!, $input: UpdateProductInput!, $version: Int) {
  updateProduct(id: $id, input: $input, expectedVersion: $version) {
    product { id name price version tags { name } }
    errors { code field message }
  }
}
"""

DELETE = """
mutation Delete($id: ID!) { deleteProduct(id: $id) { deletedId errors { code field message } } }
"""


def gql_product(sku: str, **changes: Any) -> dict[str, Any]:
    return {**{"sku": sku, "name": "Floor lamp", "price": 99.5, "categoryId": "2"}, **changes}


async def test_graphql_create_product(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    response = await gql(
        api, CREATE, admin.headers, input=gql_product("GQL-1", tagIds=["2", "1"], stock=4)
    )
    result = response.json()["data"]["createProduct"]
    assert result["errors"] == []
    product = result["product"]
    assert product["sku"] == "GQL-1" and product["price"] == 99.5 and product["stock"] == 4
    assert product["version"] == 1 and product["category"] == {"slug": "lamps"}
    assert product["tags"] == [{"id": "2", "name": "bright"}, {"id": "1", "name": "vintage"}]
    rows = await query(url, "SELECT id, price::text FROM products WHERE sku = 'GQL-1'")
    assert rows[0]["price"] == "99.50" and str(rows[0]["id"]) == product["id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": -0.5}, "price"),
        ({"price": 1.234}, "price"),
        ({"name": ""}, "name"),
        ({"name": "a\u0000b"}, "name"),
        ({"sku": "s" * 65}, "sku"),
        ({"stock": -3}, "stock"),
        ({"categoryId": "999"}, "categoryId"),
        ({"categoryId": "abc"}, "categoryId"),
        ({"tagIds": ["1", "999"]}, "tagIds"),
    ],
)
async def test_graphql_bad_values_are_user_errors_on_the_camel_case_field(
    api: Any, url: str, actors: Any, changes: dict[str, Any], field: str
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await gql(api, CREATE, admin.headers, input={**gql_product("GQL-BAD"), **changes})
    assert response.status_code == 200
    result = response.json()["data"]["createProduct"]
    assert result["product"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("VALIDATION_FAILED", field)]
    assert await snapshot(url) == before


async def test_graphql_unknown_input_fields_are_refused_by_the_schema(
    api: Any, url: str, actors: Any
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await gql(api, CREATE, admin.headers, input=gql_product("GQL-RO", version=9))
    assert response.status_code == 400  # refused variables: the operation never ran
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await snapshot(url) == before


async def test_graphql_duplicate_sku_is_a_conflict(api: Any, actors: Any) -> None:
    admin = await actors.admin()
    response = await gql(api, CREATE, admin.headers, input=gql_product("BASE-9"))
    result = response.json()["data"]["createProduct"]
    assert result["product"] is None
    assert [e["code"] for e in result["errors"]] == ["CONFLICT"]


async def test_graphql_update_with_the_current_version(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    url = url
    product_id = await make_product(url, "GQL-UP-1", tags=(1,))
    response = await gql(
        api,
        UPDATE,
        admin.headers,
        id=str(product_id),
        input={"price": 12.3, "tagIds": ["3", "2"]},
        version=1,
    )
    result = response.json()["data"]["updateProduct"]
    assert result["errors"] == []
    assert result["product"]["version"] == 2 and result["product"]["price"] == 12.3
    assert result["product"]["tags"] == [{"name": "bright"}, {"name": "eco"}]
    (row,) = await query(url, "SELECT version, price::text FROM products WHERE id = $1", product_id)
    assert (row["version"], row["price"]) == (2, "12.30")
    # Without expectedVersion the change applies at whatever version is current.
    plain = await gql(api, UPDATE, admin.headers, id=str(product_id), input={"name": "Plain"})
    assert plain.json()["data"]["updateProduct"]["product"]["version"] == 3


async def test_graphql_stale_version_is_precondition_failed(
    api: Any, url: str, actors: Any
) -> None:
    admin = await actors.admin()
    product_id = await make_product(url, "GQL-UP-2")
    await gql(api, UPDATE, admin.headers, id=str(product_id), input={"stock": 1})
    before = await snapshot(url)
    for stale in (1, 7, 2**31 - 1):
        response = await gql(
            api, UPDATE, admin.headers, id=str(product_id), input={"name": "Late"}, version=stale
        )
        result = response.json()["data"]["updateProduct"]
        assert result["product"] is None
        assert [e["code"] for e in result["errors"]] == ["PRECONDITION_FAILED"]
        assert "version 2" in result["errors"][0]["message"]
    assert await snapshot(url) == before


async def test_concurrent_updates_at_one_version_apply_once(
    api: Any, url: str, actors: Any
) -> None:
    admin = await actors.admin()
    product_id = await make_product(url, "GQL-RACE")
    responses = await asyncio.gather(
        *(
            gql(api, UPDATE, admin.headers, id=str(product_id), input={"stock": n}, version=1)
            for n in range(1, 6)
        )
    )
    results = [r.json()["data"]["updateProduct"] for r in responses]
    winners = [r["product"] for r in results if r["product"] is not None]
    assert len(winners) == 1
    losers = [e["code"] for r in results for e in r["errors"]]
    assert losers == ["PRECONDITION_FAILED"] * 4
    (row,) = await query(url, "SELECT version FROM products WHERE id = $1", product_id)
    assert row["version"] == 2


async def test_graphql_update_problems_are_user_errors(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    cases = [
        ("5", {}, 1, ("VALIDATION_FAILED", None)),
        ("5", {"name": None}, None, ("VALIDATION_FAILED", "name")),
        ("5", {"price": 1.005}, None, ("VALIDATION_FAILED", "price")),
        ("5", {"sku": "BASE-6"}, None, ("CONFLICT", None)),
        ("99999", {"name": "x"}, 1, ("NOT_FOUND", None)),
        ("0", {"name": "x"}, None, ("INVALID_PARAMETER", "id")),
    ]
    for product_id, change, version, expected in cases:
        response = await gql(
            api, UPDATE, admin.headers, id=product_id, input=change, version=version
        )
        result = response.json()["data"]["updateProduct"]
        assert result["product"] is None
        assert [(e["code"], e["field"]) for e in result["errors"]] == [expected], change
    assert await snapshot(url) == before


async def test_graphql_delete_product(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    product_id = await make_product(url, "GQL-DEL-1", tags=(2,))
    response = await gql(api, DELETE, admin.headers, id=str(product_id))
    assert response.json()["data"]["deleteProduct"] == {"deletedId": str(product_id), "errors": []}
    assert await query(url, "SELECT 1 FROM products WHERE id = $1", product_id) == []
    again = await gql(api, DELETE, admin.headers, id=str(product_id))
    assert again.json()["data"]["deleteProduct"]["errors"][0]["code"] == "NOT_FOUND"


async def test_graphql_delete_of_an_ordered_product_is_a_conflict(
    api: Any, url: str, actors: Any
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await gql(api, DELETE, admin.headers, id="1")
    result = response.json()["data"]["deleteProduct"]
    assert result["deletedId"] is None
    assert result["errors"] == [
        {"code": "CONFLICT", "field": None, "message": "Ordered products cannot be deleted."}
    ]
    assert await snapshot(url) == before


GQL_WRITES = [
    ("createProduct", CREATE, {"input": gql_product("ROLE-G")}),
    ("updateProduct", UPDATE, {"id": "5", "input": {"name": "Hijacked"}}),
    ("deleteProduct", DELETE, {"id": "6"}),
]


@pytest.mark.parametrize(("field", "document", "variables"), GQL_WRITES)
@pytest.mark.parametrize(("role", "code"), [(None, "UNAUTHENTICATED"), ("customer", "FORBIDDEN")])
async def test_graphql_writes_need_an_admin(
    api: Any,
    url: str,
    actors: Any,
    field: str,
    document: str,
    variables: dict[str, Any],
    role: str | None,
    code: str,
) -> None:
    headers = (await actors.customer()).headers if role else {}
    before = await snapshot(url)
    response = await gql(api, document, headers, **variables)
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["path"] == [field]
    assert await snapshot(url) == before


# Tags on products ---------------------------------------------------------------------

TAGGED = "query($first: Int) { products(first: $first) { edges { node { id tags { name } } } } }"


async def test_graphql_product_tags_are_one_batched_query(api: Any, settings: Settings) -> None:
    small = await gql(api, TAGGED, first=5)
    large = await gql(api, TAGGED, first=50)
    edges = large.json()["data"]["products"]["edges"]
    assert len(edges) == 50
    tags = {e["node"]["id"]: [t["name"] for t in e["node"]["tags"]] for e in edges}
    assert tags["1"] == ["eco", "vintage"] and tags["2"] == ["bright"]
    assert small.headers["x-query-count"] == large.headers["x-query-count"] == "1"
    # The resolvers batch it: the page, then every product's tags at once.
    async with reference(settings) as resolvers:
        small, large = await gql(resolvers, TAGGED, first=5), await gql(resolvers, TAGGED, first=50)
    assert small.headers["x-query-count"] == large.headers["x-query-count"] == "2"
    assert large.content == (await gql(api, TAGGED, first=50)).content


async def test_graphql_product_by_id_embeds_its_tags(api: Any) -> None:
    response = await gql(api, '{ product(id: "3") { tags { id name } category { slug } } }')
    assert response.json()["data"]["product"] == {
        "tags": [{"id": "3", "name": "eco"}, {"id": "1", "name": "vintage"}],
        "category": {"slug": "lamps"},
    }
    assert response.headers["x-query-count"] == "1"


async def test_rest_detail_carries_tags_and_lists_do_not(api: Any) -> None:
    detail = await api.get("/api/v1/products/2")
    assert detail.json()["data"]["tags"] == [{"id": 2, "name": "bright"}]
    assert detail.headers["x-query-count"] == "1"
    listed = (await api.get("/api/v1/products?limit=1")).json()["data"][0]
    assert "tags" not in listed and "category" not in listed

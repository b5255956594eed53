"""The read planner: one statement per read, the REST grammar it adds, and its plans.

The differential tests (test_planner_differential.py) hold its answers to the reference;
these check what only the planner does: nested includes, per-type fieldsets and
per-relation page sizes on every resource, refusals before any SQL, and how plans are
compiled, bound and kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.reads.planner import Planner, compile_query
from gateway.reads.shape import (
    Connection,
    EdgeNode,
    Edges,
    Listing,
    Lookup,
    Node,
    Query,
    Scalar,
    Slot,
    TotalCount,
    Window,
)
from gateway.settings import Settings
from tests.conftest import Actors, app_client, run_sql

pytestmark = pytest.mark.anyio

SHOP = """
INSERT INTO categories (slug, name, parent_id) VALUES
    ('home', 'Home', NULL), ('lamps', 'Lamps', 1), ('desk-lamps', 'Desk lamps', 2);
INSERT INTO products (sku, name, price, stock, category_id)
SELECT 'P-' || n, 'Lamp ' || n, n + 0.5, n, 1 + n % 3 FROM generate_series(1, 12) n;
INSERT INTO tags (name) VALUES ('bright'), ('warm');
INSERT INTO product_tags VALUES (3, 1), (3, 2), (4, 2);
INSERT INTO users (email, display_name, password_hash)
SELECT 'u' || n || '@example.com', 'User ' || n, '!' FROM generate_series(1, 4) n;
INSERT INTO reviews (product_id, author_id, rating, title, created_at)
SELECT 3, n, n, 'Review ' || n, timestamptz '2026-01-01 00:00:00+00' + n * interval '1 h'
FROM generate_series(1, 4) n;
INSERT INTO orders (customer_id) VALUES (1), (2);
INSERT INTO order_items VALUES (1, 3, 2, 3.5), (1, 4, 1, 4.5), (2, 5, 1, 5.5);
"""


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, SHOP)
    return database_url


@pytest.fixture
async def api(shop: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as http:
        yield http


async def read(api: httpx.AsyncClient, url: str, **kwargs: Any) -> Any:
    response = await api.get(url, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["x-query-count"] == "1", url
    return response.json()["data"]


# Nested includes, per-type fields and per-relation limits ----------------------------------


async def test_a_product_page_in_one_request_and_one_statement(api: httpx.AsyncClient) -> None:
    product = await read(
        api,
        "/api/v1/products/3?fields=name,price&include=category.parent,tags,reviews.author"
        "&limit[reviews]=2&fields[reviews]=rating,title&fields[users]=display_name"
        "&fields[categories]=name&fields[tags]=name",
    )
    assert product == {
        "id": 3,
        "name": "Lamp 3",
        "price": 3.5,
        "category": {"id": 1, "name": "Home", "parent": None},
        "tags": [{"id": 1, "name": "bright"}, {"id": 2, "name": "warm"}],
        "reviews": [
            {
                "id": 4,
                "author": {"id": 4, "display_name": "User 4"},
                "rating": 4,
                "title": "Review 4",
            },
            {
                "id": 3,
                "author": {"id": 3, "display_name": "User 3"},
                "rating": 3,
                "title": "Review 3",
            },
        ],
    }


async def test_fields_of_the_root_type_also_narrow_its_nested_rows(api: httpx.AsyncClient) -> None:
    # `fields[categories]` narrows every embedded category; `fields` alone is the root's.
    category = await read(api, "/api/v1/categories/3?fields[categories]=slug&include=parent.parent")
    assert category == {
        "id": 3,
        "slug": "desk-lamps",
        "parent": {"id": 2, "slug": "lamps", "parent": {"id": 1, "slug": "home"}},
    }
    narrowed = await read(
        api, "/api/v1/categories/3?fields=name&fields[categories]=slug&include=parent"
    )
    assert narrowed == {"id": 3, "name": "Desk lamps", "parent": {"id": 2, "slug": "lamps"}}


async def test_every_resource_with_relations_takes_include(api: httpx.AsyncClient) -> None:
    review = await read(api, "/api/v1/reviews/1?include=product.category&fields[products]=name")
    assert review["product"] == {
        "id": 3,
        "name": "Lamp 3",
        "category": {
            "id": 1,
            "slug": "home",
            "name": "Home",
            "parent_id": None,
            "created_at": review["product"]["category"]["created_at"],
        },
    }
    category = await read(
        api, "/api/v1/categories/1?include=children,products&limit[products]=2&fields[products]=id"
    )
    assert [c["slug"] for c in category["children"]] == ["lamps"]
    assert category["products"] == [{"id": 1}, {"id": 2}]
    path = await read(api, "/api/v1/categories/3?include=ancestors&fields[categories]=slug")
    assert [c["slug"] for c in path["ancestors"]] == ["home", "lamps"]
    listed = await read(
        api, "/api/v1/categories?include=parent&fields=slug&fields[categories]=slug"
    )
    assert listed[2] == {"id": 3, "slug": "desk-lamps", "parent": {"id": 2, "slug": "lamps"}}


async def test_orders_embed_their_lines_products(api: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    order = await read(
        api,
        "/api/v1/orders/1?fields=items&include=items.product&fields[products]=name",
        headers=admin.headers,
    )
    assert order == {
        "id": 1,
        "items": [
            {
                "product_id": 3,
                "product_name": "Lamp 3",
                "quantity": 2,
                "unit_price": 3.5,
                "product": {"id": 3, "name": "Lamp 3"},
            },
            {
                "product_id": 4,
                "product_name": "Lamp 4",
                "quantity": 1,
                "unit_price": 4.5,
                "product": {"id": 4, "name": "Lamp 4"},
            },
        ],
    }


async def test_a_list_embeds_a_page_per_row_in_one_statement(api: httpx.AsyncClient) -> None:
    page = await api.get(
        "/api/v1/products?limit=3&sort=-id&fields=name&include=reviews.product&limit[reviews]=1"
    )
    assert page.headers["x-query-count"] == "1"
    data = page.json()["data"]
    assert [p["id"] for p in data] == [12, 11, 10]
    assert all(p["reviews"] == [] for p in data)
    three = await read(
        api,
        "/api/v1/products?limit=1&after=" + _cursor_before(3) + "&include=reviews&limit[reviews]=3",
    )
    assert [r["id"] for r in three[0]["reviews"]] == [4, 3, 2]


def _cursor_before(product_id: int) -> str:
    from gateway.reads.pagination import encode_cursor

    return encode_cursor("products:id", [product_id - 1])


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/products?include=nope", "include"),
        ("/api/v1/products?include=reviews.product.reviews.author", "include"),
        ("/api/v1/products/3?fields[nope]=id", "fields[nope]"),
        ("/api/v1/products/3?fields[reviews]=email", "fields[reviews]"),
        ("/api/v1/products/3?fields[orders]=status", "fields[orders]"),
        ("/api/v1/products/3?include=reviews&limit[reviews]=0", "limit[reviews]"),
        ("/api/v1/products/3?include=reviews&limit[reviews]=101", "limit[reviews]"),
        ("/api/v1/products/3?include=reviews&limit[reviews]=ten", "limit[reviews]"),
        ("/api/v1/products/3?limit[reviews]=5", "limit[reviews]"),
        ("/api/v1/products/3?include=tags&limit[tags]=5", "limit[tags]"),
        ("/api/v1/products/3?limits[reviews]=5", "limits[reviews]"),
        ("/api/v1/users/2?fields[users]=id", "fields[users]"),
        ("/api/v1/reviews/1?include=author.reviews", "include"),
    ],
)
async def test_a_bad_shape_is_refused_before_any_sql(
    api: httpx.AsyncClient, url: str, parameter: str
) -> None:
    response = await api.get(url)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "INVALID_PARAMETER"
    assert problem["detail"].startswith(parameter), problem["detail"]
    assert response.headers["x-query-count"] == "0"


async def test_the_reference_refuses_what_only_the_planner_reads(
    settings: Settings, shop: str
) -> None:
    async with app_client(settings, read_planner=False) as reference:
        nested = await reference.get("/api/v1/products/3?include=reviews.author")
        bracketed = await reference.get("/api/v1/products/3?include=reviews&limit[reviews]=2")
    assert nested.status_code == bracketed.status_code == 400
    assert "READ_PLANNER" in nested.json()["detail"]


async def test_the_document_lists_the_read_grammar(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/reviews/{id}"]["get"]
    named = [p for p in operation["parameters"] if "name" in p]
    include = next(p for p in named if p["name"] == "include")
    assert include["schema"]["items"]["enum"][:2] == ["product", "product.category"]
    names = {p["name"] for p in named}
    assert {"fields[products]", "fields[users]", "limit[product.reviews]"} <= names
    review = document["components"]["schemas"]["Review"]
    assert review["required"] == ["id"]
    assert review["properties"]["product"] == {
        "$ref": "#/components/schemas/Product",
        "description": "The reviewed product.",
    }


# Plans -------------------------------------------------------------------------------------


def _products_query(*, total: bool, key: str | Slot = "products") -> Query:
    node = Node("Product", "graphql", (Scalar("id", "id"),))
    members: tuple[Any, ...] = (Edges("edges", (EdgeNode("node", node),)),)
    if total:
        members += (TotalCount("totalCount"),)
    window = Window(limit=Slot("limit", "integer"))
    return Query((Listing(key, "Product", window, Connection(members)),))


def test_a_count_is_written_only_when_asked_for() -> None:
    assert "count(*)" not in compile_query(_products_query(total=False)).sql
    assert "count(*)" in compile_query(_products_query(total=True)).sql


def test_values_are_bound_never_written_into_the_statement() -> None:
    alias = Slot("alias", "text")  # an alias is a value: `"<alias>":`, bound like an id
    plan = compile_query(_products_query(total=False, key=alias))
    assert plan.params == ("alias", "limit")
    assert "$1::text" in plan.sql and "$2::integer" in plan.sql
    lookup = Query(
        (
            Lookup(
                "p",
                "Product",
                "{t}.id = {v}",
                Slot("id", "bigint"),
                Node("Product", "rest", (Scalar("name", "name"),)),
            ),
        )
    )
    assert compile_query(lookup, "single").params == ("id",)


def test_plans_are_kept_by_shape_within_a_bound() -> None:
    planner = Planner(max_plans=2)
    one, _ = planner.plan(_products_query(total=False), "object")
    again, _ = planner.plan(_products_query(total=False), "object")
    assert one is again and planner.compiled == 1
    planner.plan(_products_query(total=True), "object")
    planner.plan(_products_query(total=False, key="other"), "object")
    assert len(planner) == 2
    planner.plan(_products_query(total=False), "object")
    assert planner.compiled == 4, "the first plan was evicted and compiled again"


async def test_requests_that_differ_in_values_share_one_plan(api: httpx.AsyncClient) -> None:
    document = (
        "query($id: ID!, $n: Int!) { product(id: $id) { name reviews(first: $n) { totalCount } } }"
    )
    for product, n in (("3", 1), ("4", 2), ("5", 3)):
        response = await api.post(
            "/graphql", json={"query": document, "variables": {"id": product, "n": n}}
        )
        assert response.headers["x-query-count"] == "1"
    for url in ("/api/v1/products/3?fields=name", "/api/v1/products/4?fields=name"):
        await api.get(url)
    metrics = (await api.get("/metrics")).text
    assert 'gateway_graphql_queries_total{path="planned"} 3.0' in metrics
    # One plan for the document, one for the REST shape.
    assert 'gateway_read_plans{state="compiled"} 2.0' in metrics

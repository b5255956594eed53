"""graphql/query.py: the root product and products resolvers (the reference path, READ_PLANNER
off): argument defaults, the ProductSort names, the ID and page-size checks, and the statements
each query shape costs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import app_settings, reference, run_sql
from tests.support import gql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    """Two categories and 25 products, prices falling as ids rise, each with one tag."""
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home'), ('garden', 'Garden');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'P-' || i, 'Product ' || i, 100 - i, i % 3, 1 + i % 2
        FROM generate_series(1, 25) AS i;
        INSERT INTO tags (name) VALUES ('sale');
        INSERT INTO product_tags (product_id, tag_id) SELECT id, 1 FROM products;
        """,
    )
    return database_url


@pytest.fixture(scope="module")
async def ref(catalogue: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(app_settings(catalogue, redis_url)) as http:
        yield http


def ids(response: httpx.Response) -> list[int]:
    edges = response.json()["data"]["products"]["edges"]
    return [int(edge["node"]["id"]) for edge in edges]


async def test_products_takes_20_in_id_order_by_default(ref: httpx.AsyncClient) -> None:
    response = await gql(ref, "{ products { edges { node { id } } } }")
    assert ids(response) == list(range(1, 21))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("ID_DESC", [25, 24, 23]), ("PRICE", [25, 24, 23]), ("PRICE_DESC", [1, 2, 3])],
)
async def test_each_sort_name_maps_to_the_rest_sort_it_stands_for(
    ref: httpx.AsyncClient, sort: str, expected: list[int]
) -> None:
    query = f"{{ products(first: 3, sort: {sort}) {{ edges {{ node {{ id }} }} }} }}"
    assert ids(await gql(ref, query)) == expected


async def test_the_filter_reaches_the_service_and_the_count(ref: httpx.AsyncClient) -> None:
    query = """{ products(first: 100, filter: {category: "garden", minPrice: 90}) {
        totalCount edges { node { id } } } }"""
    response = await gql(ref, query)
    # garden (category 2) holds the odd ids; price 100 - i >= 90 keeps i <= 10.
    assert ids(response) == [1, 3, 5, 7, 9]
    assert response.json()["data"]["products"]["totalCount"] == 5


@pytest.mark.parametrize(("first", "ok"), [(0, False), (1, True), (100, True), (101, False)])
async def test_first_is_checked_at_and_past_its_bounds(
    ref: httpx.AsyncClient, first: int, ok: bool
) -> None:
    response = await gql(
        ref, "query($n: Int!) { products(first: $n) { edges { cursor } } }", n=first
    )
    body = response.json()
    if ok:
        assert len(body["data"]["products"]["edges"]) == min(first, 25)
        return
    # Refused with the variables, before any resolver ran: no data, no SQL.
    assert response.status_code == 400
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["message"] == "first: must be between 1 and 100"
    assert response.headers["x-query-count"] == "0"


async def test_a_malformed_product_id_fails_that_field_only(ref: httpx.AsyncClient) -> None:
    response = await gql(ref, '{ bad: product(id: "abc") { id } good: product(id: "2") { id } }')
    body = response.json()
    assert body["data"] == {"bad": None, "good": {"id": "2"}}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["path"] == ["bad"]
    assert response.headers["x-query-count"] == "1"  # the bad id never reached SQL


async def test_a_missing_product_is_null_with_not_found(ref: httpx.AsyncClient) -> None:
    body = (await gql(ref, '{ product(id: "999") { id } }')).json()
    assert body["data"] == {"product": None}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["message"] == "Product 999 does not exist."


async def test_a_product_carries_its_category_and_tags_in_one_statement(
    ref: httpx.AsyncClient,
) -> None:
    response = await gql(ref, '{ product(id: "3") { name category { slug } tags { name } } }')
    assert response.json()["data"]["product"] == {
        "name": "Product 3",
        "category": {"slug": "garden"},
        "tags": [{"name": "sale"}],
    }
    assert response.headers["x-query-count"] == "1"


async def test_a_page_of_products_loads_categories_and_tags_once_each(
    ref: httpx.AsyncClient,
) -> None:
    plain = await gql(ref, "{ products(first: 10) { edges { node { id } } } }")
    nested = await gql(
        ref, "{ products(first: 10) { edges { node { id category { slug } tags { name } } } } }"
    )
    assert int(nested.headers["x-query-count"]) == int(plain.headers["x-query-count"]) + 2


async def test_the_default_sort_applies_only_when_sort_is_omitted(ref: httpx.AsyncClient) -> None:
    body = (await gql(ref, "{ products(sort: null) { totalCount } }")).json()
    assert body["data"] is None  # products is non-null
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["message"].startswith("sort: must be one of id, -id, price")
    assert error["path"] == ["products"]

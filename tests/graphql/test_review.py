"""graphql/review.py: Review.product through the shared product loader, Product.reviews pages
batched per page shape with a count that costs no query, and the review mutations' argument
mapping (reference path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Actors, app_settings, reference, run_sql
from tests.support import gql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    """Three products; two authors review products 1 and 2, one reviews product 3."""
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        VALUES ('A', 'Alpha', 1, 1, 1), ('B', 'Beta', 2, 1, 1), ('C', 'Gamma', 3, 1, 1);
        INSERT INTO users (email, display_name, password_hash)
        VALUES ('r1@example.com', 'Reviewer 1', '!'), ('r2@example.com', 'Reviewer 2', '!');
        INSERT INTO reviews (product_id, author_id, rating, title) VALUES
            (1, 1, 5, 'a1'), (1, 2, 4, 'a2'), (2, 1, 3, 'b1'), (2, 2, 2, 'b2'), (3, 1, 1, 'c1');
        """,
    )
    return database_url


@pytest.fixture(scope="module")
async def ref(catalogue: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(app_settings(catalogue, redis_url)) as http:
        yield http


async def test_products_of_several_reviews_load_in_one_statement(ref: httpx.AsyncClient) -> None:
    one = await gql(ref, '{ a: review(id: "1") { id } }')
    query = """{ products { edges { node { reviews { edges { node {
        title product { sku } } } } } } } }"""
    response = await gql(ref, query)
    products = [
        [(r["node"]["title"], r["node"]["product"]["sku"]) for r in e["node"]["reviews"]["edges"]]
        for e in response.json()["data"]["products"]["edges"]
    ]
    assert sorted(pair for page in products for pair in page) == [
        ("a1", "A"),
        ("a2", "A"),
        ("b1", "B"),
        ("b2", "B"),
        ("c1", "C"),
    ]
    # products, one reviews batch, one products batch for Review.product.
    assert response.headers["x-query-count"] == "3"
    assert one.headers["x-query-count"] == "1"


async def test_the_review_count_costs_no_statement(ref: httpx.AsyncClient) -> None:
    plain = await gql(ref, "{ products { edges { node { reviews { edges { cursor } } } } } }")
    counted = await gql(
        ref, "{ products { edges { node { reviews { totalCount edges { cursor } } } } } }"
    )
    totals = [
        e["node"]["reviews"]["totalCount"] for e in counted.json()["data"]["products"]["edges"]
    ]
    assert totals == [2, 2, 1]
    assert counted.headers["x-query-count"] == plain.headers["x-query-count"]


async def test_review_pages_are_batched_per_page_shape(ref: httpx.AsyncClient) -> None:
    query = """{ products { edges { node {
        newest: reviews(first: 1) { edges { node { title } } pageInfo { hasNextPage } }
        all: reviews { edges { cursor } } } } } }"""
    response = await gql(ref, query)
    nodes = [e["node"] for e in response.json()["data"]["products"]["edges"]]
    assert [len(n["newest"]["edges"]) for n in nodes] == [1, 1, 1]
    assert [n["newest"]["pageInfo"]["hasNextPage"] for n in nodes] == [True, True, False]
    assert [len(n["all"]["edges"]) for n in nodes] == [2, 2, 1]
    assert response.headers["x-query-count"] == "3"  # products, then a batch per shape


async def test_a_bad_review_cursor_fails_that_page_alone(ref: httpx.AsyncClient) -> None:
    query = """{ a: product(id: "1") { reviews(after: "bogus") { totalCount } }
        b: product(id: "2") { reviews(first: 1) { totalCount } } }"""
    body = (await gql(ref, query)).json()
    assert body["data"] == {"a": None, "b": {"reviews": {"totalCount": 2}}}
    (error,) = body["errors"]
    assert error["path"] == ["a", "reviews"]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"


async def test_add_review_names_a_bad_product_id_as_product_id(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    query = """mutation($p: ID!) { addReview(productId: $p, input: {rating: 4, title: "ok"}) {
        review { id rating product { sku } author { displayName } } errors { code field } } }"""

    async def add(product: str) -> Any:
        response = await ref.post(
            "/graphql", json={"query": query, "variables": {"p": product}}, headers=customer.headers
        )
        return response.json()["data"]["addReview"]

    assert await add("zzz") == {
        "review": None,
        "errors": [{"code": "INVALID_PARAMETER", "field": "productId"}],
    }
    added = await add("3")
    review_id = added["review"].pop("id")
    assert added == {
        "review": {"rating": 4, "product": {"sku": "C"}, "author": {"displayName": "Customer"}},
        "errors": [],
    }
    # Deleted again, so the other tests of the module see the reviews they were given.
    delete = "mutation($id: ID!) { deleteReview(id: $id) { deletedId errors { code } } }"
    gone = await ref.post(
        "/graphql", json={"query": delete, "variables": {"id": review_id}}, headers=customer.headers
    )
    assert gone.json()["data"]["deleteReview"] == {"deletedId": review_id, "errors": []}


async def test_a_missing_review_is_null_with_not_found(ref: httpx.AsyncClient) -> None:
    body = (await gql(ref, '{ review(id: "404") { id } }')).json()
    assert body["data"] == {"review": None}
    assert body["errors"][0]["message"] == "Review 404 does not exist."

"""What gateway/rest/reviews.py decides: a product's reviews under /products/{id}/reviews (404
for an absent product on both read paths), one review under /reviews/{id}, 201 with a Location
under /reviews, 200 and 204 on change and delete, fields/include names, 405 with Allow."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import (
    Actor,
    Actors,
    app_client,
    app_settings,
    reference,
    run_sql,
)

pytestmark = pytest.mark.anyio

REVIEW_KEYS = {"id", "product_id", "author", "rating", "title", "body", "created_at", "updated_at"}


@pytest.fixture(scope="module")
def module_settings(database_url: str, redis_url: str) -> Settings:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'P-' || n, 'Lamp ' || n, n, n, 1 FROM generate_series(1, 3) n;
        INSERT INTO users (email, display_name, password_hash)
        SELECT 'u' || n || '@example.com', 'User ' || n, '!' FROM generate_series(1, 3) n;
        INSERT INTO reviews (product_id, author_id, rating, title, created_at)
        SELECT 1, n, n + 2, 'Review ' || n, timestamptz '2026-01-01 00:00:00+00' + n * interval '1 h'
        FROM generate_series(1, 3) n;
        """,
    )
    return app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
    )


@pytest.fixture(scope="module")
async def api(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def services(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def writer(module_settings: Settings) -> Actor:
    return await Actors(module_settings.database_url or "", module_settings).customer("writer")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products/1/reviews",
        "/api/v1/products/1/reviews?sort=rating&limit=2",
        "/api/v1/products/1/reviews?fields=rating,author",
        "/api/v1/products/2/reviews",
        "/api/v1/reviews/2",
        "/api/v1/reviews/2?fields=title",
    ],
)
async def test_both_read_paths_answer_the_same_bytes(
    api: httpx.AsyncClient, services: httpx.AsyncClient, url: str
) -> None:
    planned, served = await api.get(url), await services.get(url)
    assert planned.status_code == served.status_code == 200
    assert planned.content == served.content
    assert planned.headers.get("link") == served.headers.get("link")


async def test_a_review_names_its_author_and_newest_come_first(api: httpx.AsyncClient) -> None:
    reviews = (await api.get("/api/v1/products/1/reviews")).json()["data"]
    assert [r["title"] for r in reviews] == ["Review 3", "Review 2", "Review 1"]
    assert set(reviews[0]) == REVIEW_KEYS
    assert reviews[0]["author"] == {"id": 3, "display_name": "User 3"}
    narrowed = (await api.get("/api/v1/reviews/1?fields=rating")).json()["data"]
    assert narrowed == {"id": 1, "rating": 3}


async def test_absent_parents_and_reviews_are_404_naming_them(
    api: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    for client in (api, services):
        listing = await client.get("/api/v1/products/77/reviews")
        assert listing.status_code == 404
        assert listing.json()["detail"] == "Product 77 does not exist."
    one = await api.get("/api/v1/reviews/77")
    assert one.status_code == 404 and one.json()["detail"] == "Review 77 does not exist."


async def test_an_empty_product_has_an_empty_page_not_a_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/products/3/reviews")
    assert response.status_code == 200
    assert response.json() == {"data": [], "page": {"limit": 20, "next_cursor": None}}
    assert "link" not in response.headers


async def test_add_change_and_delete(api: httpx.AsyncClient, writer: Actor) -> None:
    added = await api.post(
        "/api/v1/products/2/reviews", json={"rating": 5, "title": "Bright"}, headers=writer.headers
    )
    assert added.status_code == 201, added.text
    review = added.json()["data"]
    assert added.headers["location"] == f"/api/v1/reviews/{review['id']}"
    assert review["product_id"] == 2 and review["body"] == ""
    changed = await api.patch(added.headers["location"], json={"rating": 4}, headers=writer.headers)
    assert changed.status_code == 200 and changed.json()["data"]["rating"] == 4
    deleted = await api.delete(added.headers["location"], headers=writer.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await api.get(added.headers["location"])).status_code == 404


async def test_writing_needs_a_signed_in_caller(api: httpx.AsyncClient) -> None:
    anonymous = await api.post("/api/v1/products/2/reviews", json={"rating": 5, "title": "x"})
    assert anonymous.status_code == 401
    assert (await api.delete("/api/v1/reviews/1")).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/products/1/reviews", {"GET", "HEAD", "POST"}),
        ("POST", "/api/v1/reviews/1", {"GET", "HEAD", "PATCH", "DELETE"}),
    ],
)
async def test_other_methods_are_405_with_allow(
    api: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed

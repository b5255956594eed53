"""Conditional requests per RFC 9110 §13: If-Match on reads, If-None-Match on writes, order.

Reads: If-Match naming no current tag is 412, evaluated before If-None-Match (§13.2.2).
Writes: If-None-Match naming the current tag, or `*` on an existing resource, is 412 and
nothing is written; a POST has no current representation, so it always goes ahead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Actor, Actors, app_client, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home'), ('garden', 'Garden'),
            ('attic', 'Attic');
        INSERT INTO tags (name) VALUES ('warm'), ('cold');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'Q-' || n, 'Product ' || n, n, 5, 1 FROM generate_series(1, 20) n;
        """,
    )
    return database_url


@pytest.fixture
async def api(shop: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as http:
        yield http


@pytest.fixture
async def admin(actors: Actors) -> Actor:
    return await actors.admin()


async def fetch(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


# Reads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_if_match_on_a_read_needs_a_current_tag(api: httpx.AsyncClient, method: str) -> None:
    url = "/api/v1/products/1"
    etag = (await api.get(url)).headers["etag"]
    for header in (etag, f'"other", {etag}', "*"):
        response = await api.request(method, url, headers={"If-Match": header})
        assert response.status_code == 200, header
    for header in ('"other"', f"W/{etag}"):
        response = await api.request(method, url, headers={"If-Match": header})
        assert response.status_code == 412, header
        if method == "GET":
            problem(response, 412, "PRECONDITION_FAILED")
    malformed = await api.request(method, url, headers={"If-Match": "7"})
    assert malformed.status_code == 400


async def test_if_match_on_a_list_and_on_nothing(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/tags", headers={"If-Match": '"x"'})).status_code == 412
    # A precondition never turns a 404 into something else (§13.2.1).
    assert (await api.get("/api/v1/products/999", headers={"If-Match": "*"})).status_code == 404


async def test_if_match_is_judged_before_if_none_match(api: httpx.AsyncClient) -> None:
    url = "/api/v1/products/2"
    etag = (await api.get(url)).headers["etag"]
    both = await api.get(url, headers={"If-Match": etag, "If-None-Match": etag})
    assert both.status_code == 304
    failing = await api.get(url, headers={"If-Match": '"gone"', "If-None-Match": etag})
    problem(failing, 412, "PRECONDITION_FAILED")


async def test_modification_dates_are_ignored_without_last_modified(
    api: httpx.AsyncClient,
) -> None:
    # The gateway sends no Last-Modified, so §13.1.3-4 say to ignore these.
    response = await api.get(
        "/api/v1/products/3",
        headers={
            "If-Modified-Since": "Sun, 06 Nov 2044 08:49:37 GMT",
            "If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT",
        },
    )
    assert response.status_code == 200
    assert "last-modified" not in response.headers


# Writes to products: judged with the row locked ---------------------------------------------


PRODUCT_BODY = {
    "sku": "Q-NEW",
    "name": "Replaced",
    "description": "",
    "price": 1,
    "stock": 1,
    "category_id": 1,
    "tag_ids": [],
}


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_if_none_match_on_a_product_write_is_412_and_writes_nothing(
    api: httpx.AsyncClient, shop: str, admin: Actor, method: str
) -> None:
    product_id = 4 if method == "PATCH" else 5
    url = f"/api/v1/products/{product_id}"
    etag = (await api.get(url)).headers["etag"]
    body = {"name": "Should not happen"} if method == "PATCH" else PRODUCT_BODY
    for header in (etag, f'"x", {etag}', f"W/{etag}", "*"):
        response = await api.request(
            method, url, json=body, headers={**admin.headers, "If-None-Match": header}
        )
        detail = problem(response, 412, "PRECONDITION_FAILED")["detail"]
        assert "If-None-Match" in detail
        name = await fetch(shop, "SELECT name FROM products WHERE id = $1", product_id)
        assert name == f"Product {product_id}", header
    # A tag that is not current: the write goes ahead.
    ok = await api.request(
        method, url, json=body, headers={**admin.headers, "If-None-Match": '"not-current"'}
    )
    assert ok.status_code == 200
    assert ok.json()["data"]["name"] != f"Product {product_id}"


async def test_both_conditions_on_a_product_write(
    api: httpx.AsyncClient, shop: str, admin: Actor
) -> None:
    url = "/api/v1/products/6"
    etag = (await api.get(url)).headers["etag"]
    stale = await api.patch(
        url,
        json={"stock": 1},
        headers={**admin.headers, "If-Match": '"stale"', "If-None-Match": '"other"'},
    )
    assert "changed since" in problem(stale, 412, "PRECONDITION_FAILED")["detail"]
    current = await api.patch(
        url,
        json={"stock": 1},
        headers={**admin.headers, "If-Match": etag, "If-None-Match": '"other"'},
    )
    assert current.status_code == 200
    assert await fetch(shop, "SELECT stock FROM products WHERE id = 6") == 1


async def test_delete_of_a_product_takes_both_conditions(
    api: httpx.AsyncClient, shop: str, admin: Actor
) -> None:
    url = "/api/v1/products/7"
    etag = (await api.get(url)).headers["etag"]
    for headers in ({"If-None-Match": "*"}, {"If-None-Match": etag}, {"If-Match": '"stale"'}):
        response = await api.delete(url, headers={**admin.headers, **headers})
        problem(response, 412, "PRECONDITION_FAILED")
        assert await fetch(shop, "SELECT count(*) FROM products WHERE id = 7") == 1
    deleted = await api.delete(url, headers={**admin.headers, "If-Match": etag})
    assert deleted.status_code == 204
    assert await fetch(shop, "SELECT count(*) FROM products WHERE id = 7") == 0
    gone = await api.delete(url, headers={**admin.headers, "If-Match": "*"})
    assert gone.status_code == 404


# Other writes: compared with what GET answers just before ------------------------------------


async def test_if_none_match_on_other_writes_is_judged_too(
    api: httpx.AsyncClient, shop: str, admin: Actor
) -> None:
    category = "/api/v1/categories/2"
    etag = (await api.get(category)).headers["etag"]
    for header in (etag, "*"):
        response = await api.patch(
            category, json={"name": "Yard"}, headers={**admin.headers, "If-None-Match": header}
        )
        problem(response, 412, "PRECONDITION_FAILED")
    assert await fetch(shop, "SELECT name FROM categories WHERE id = 2") == "Garden"
    changed = await api.patch(
        category, json={"name": "Yard"}, headers={**admin.headers, "If-None-Match": '"old"'}
    )
    assert changed.status_code == 200
    assert await fetch(shop, "SELECT name FROM categories WHERE id = 2") == "Yard"

    tag = "/api/v1/tags/2"
    refused = await api.delete(tag, headers={**admin.headers, "If-None-Match": "*"})
    problem(refused, 412, "PRECONDITION_FAILED")
    assert await fetch(shop, "SELECT count(*) FROM tags WHERE id = 2") == 1
    # Nothing there: `*` holds, and the write answers as it would have (404).
    missing = await api.delete("/api/v1/tags/999", headers={**admin.headers, "If-None-Match": "*"})
    problem(missing, 404, "NOT_FOUND")


async def test_a_post_has_no_current_representation_so_if_none_match_holds(
    api: httpx.AsyncClient, shop: str, admin: Actor
) -> None:
    created = await api.post(
        "/api/v1/tags", json={"name": "fresh"}, headers={**admin.headers, "If-None-Match": "*"}
    )
    assert created.status_code == 201
    assert await fetch(shop, "SELECT count(*) FROM tags WHERE name = 'fresh'") == 1
    listed = (await api.get("/api/v1/tags")).headers["etag"]
    again = await api.post(
        "/api/v1/tags", json={"name": "fresher"}, headers={**admin.headers, "If-None-Match": listed}
    )
    assert again.status_code == 201


async def test_a_malformed_if_none_match_on_a_write_is_400(
    api: httpx.AsyncClient, shop: str, admin: Actor
) -> None:
    for method, url, body in (
        ("POST", "/api/v1/tags", {"name": "never"}),
        ("PATCH", "/api/v1/categories/3", {"name": "Never"}),
        ("PATCH", "/api/v1/products/8", {"name": "Never"}),
    ):
        response = await api.request(
            method, url, json=body, headers={**admin.headers, "If-None-Match": "7"}
        )
        assert problem(response, 400, "INVALID_PARAMETER")["detail"].startswith("If-None-Match:")
    assert await fetch(shop, "SELECT count(*) FROM tags WHERE name = 'never'") == 0
    assert await fetch(shop, "SELECT name FROM categories WHERE id = 3") == "Attic"

"""What gateway/rest/categories.py decides: a category addressed by id or slug (digits always an
id, anything else a slug checked before any SQL), the parent_id filter, the products under a
category, 201/200/204 on writes, and 405 with Allow."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Actors, app_client, app_settings, reference, run_sql

pytestmark = pytest.mark.anyio

SHOP = """
INSERT INTO categories (slug, name) VALUES ('home', 'Home');
INSERT INTO categories (slug, name, parent_id) VALUES ('lamps', 'Lamps', 1), ('rugs', 'Rugs', 1);
INSERT INTO categories (slug, name, parent_id) VALUES ('desk-lamps', 'Desk lamps', 2);
INSERT INTO products (sku, name, price, stock, category_id)
SELECT 'P-' || n, 'Lamp ' || n, n, n, CASE WHEN n % 2 = 0 THEN 2 ELSE 4 END
FROM generate_series(1, 5) n;
INSERT INTO products (sku, name, price, stock, category_id) VALUES ('R-1', 'Rug', 9, 1, 3);
"""


@pytest.fixture(scope="module")
def module_settings(database_url: str, redis_url: str) -> Settings:
    run_sql(database_url, SHOP)
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
async def admin(module_settings: Settings) -> dict[str, str]:
    return (await Actors(module_settings.database_url or "", module_settings).admin()).headers


async def test_a_slug_and_an_id_name_the_same_category(api: httpx.AsyncClient) -> None:
    by_slug = await api.get("/api/v1/categories/lamps")
    by_id = await api.get("/api/v1/categories/2")
    assert by_slug.status_code == 200
    assert by_slug.content == by_id.content
    assert set(by_id.json()["data"]) == {"id", "slug", "name", "parent_id", "created_at"}
    assert by_id.json()["data"]["parent_id"] == 1


@pytest.mark.parametrize(
    ("ref", "parameter"),
    [
        ("Lamps", "slug"),
        ("desk--lamps", "slug"),
        ("-lamps", "slug"),
        ("\u0661", "slug"),
        ("02", "id"),
        ("0", "id"),
    ],
)
async def test_a_malformed_reference_is_400_before_any_sql(
    api: httpx.AsyncClient, services: httpx.AsyncClient, ref: str, parameter: str
) -> None:
    for client in (api, services):
        for suffix in ("", "/products"):
            response = await client.get(f"/api/v1/categories/{ref}{suffix}")
            assert response.status_code == 400
            assert response.json()["detail"].startswith(f"{parameter}:")
            assert response.headers["x-query-count"] == "0"


async def test_an_absent_category_is_404_by_the_name_it_was_asked_by(
    api: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    for client in (api, services):
        for url in ("/api/v1/categories/garden", "/api/v1/categories/garden/products"):
            response = await client.get(url)
            assert response.status_code == 404
            assert response.json()["detail"] == "Category garden does not exist."
    assert (await api.get("/api/v1/categories/99/products")).json()["detail"] == (
        "Category 99 does not exist."
    )


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/categories",
        "/api/v1/categories?parent_id=1&sort=-name",
        "/api/v1/categories?parent_id=4",
        "/api/v1/categories/desk-lamps?fields=slug",
        "/api/v1/categories/home/products?sort=-price&limit=3",
        "/api/v1/categories/2/products?fields=name",
    ],
)
async def test_both_read_paths_answer_the_same_bytes(
    api: httpx.AsyncClient, services: httpx.AsyncClient, url: str
) -> None:
    planned, served = await api.get(url), await services.get(url)
    assert planned.status_code == served.status_code == 200
    assert planned.content == served.content


async def test_parent_id_lists_only_direct_children(api: httpx.AsyncClient) -> None:
    children = (await api.get("/api/v1/categories?parent_id=1&fields=slug")).json()["data"]
    assert children == [{"id": 2, "slug": "lamps"}, {"id": 3, "slug": "rugs"}]
    refused = await api.get("/api/v1/categories?parent_id=lamps")
    assert refused.status_code == 400 and refused.json()["detail"].startswith("parent_id:")


async def test_products_under_a_category_include_its_subcategories(api: httpx.AsyncClient) -> None:
    under_home = (await api.get("/api/v1/categories/home/products?fields=id")).json()["data"]
    assert [p["id"] for p in under_home] == [1, 2, 3, 4, 5, 6]
    lamps = (await api.get("/api/v1/categories/lamps/products?fields=category_id")).json()
    assert {p["category_id"] for p in lamps["data"]} == {2, 4}


async def test_writes_answer_201_200_and_204(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    created = await api.post(
        "/api/v1/categories", json={"slug": "vases", "name": "Vases"}, headers=admin
    )
    assert created.status_code == 201, created.text
    category = created.json()["data"]
    assert created.headers["location"] == f"/api/v1/categories/{category['id']}"
    changed = await api.patch(
        created.headers["location"], json={"name": "Tall vases"}, headers=admin
    )
    assert changed.status_code == 200
    assert changed.json()["data"] == {**category, "name": "Tall vases"}
    deleted = await api.delete(created.headers["location"], headers=admin)
    assert deleted.status_code == 204 and deleted.content == b""
    # Writes take an id only: a slug is not a write target.
    by_slug = await api.delete("/api/v1/categories/rugs", headers=admin)
    assert by_slug.status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/categories", {"GET", "HEAD", "POST"}),
        ("PUT", "/api/v1/categories/1", {"GET", "HEAD", "PATCH", "DELETE"}),
        ("POST", "/api/v1/categories/1/products", {"GET", "HEAD"}),
    ],
)
async def test_other_methods_are_405_with_allow(
    api: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed

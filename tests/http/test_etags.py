"""HTTP caching and conditional writes: ETag, If-None-Match/304, Cache-Control, If-Match/412."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.http import etags
from gateway.settings import Settings
from gateway.tokens import TokenIssuer
from tests.conftest import TEST_JWT_SECRET, app_client, app_settings, run_sql

pytestmark = pytest.mark.anyio

PUBLIC = "public, max-age=30"
PRIVATE = "private, no-store"


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home'), ('garden', 'Garden');
        INSERT INTO tags (name) VALUES ('warm');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'P-' || n, 'Product ' || n, n, 5, 1 FROM generate_series(1, 12) n;
        INSERT INTO users (email, display_name, password_hash, role) VALUES
            ('admin@example.com', 'Admin', '!', 'admin'),
            ('cust@example.com', 'Customer', '!', 'customer');
        """,
    )
    return database_url


@pytest.fixture(scope="module")
async def api(shop: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = app_settings(
        shop,
        redis_url,
        rate_limit_per_minute=1_000_000,
    )
    async with app_client(settings) as http:
        yield http


def bearer(user_id: int, role: str) -> dict[str, str]:
    defaults = Settings()
    issuer = TokenIssuer(
        TEST_JWT_SECRET,
        issuer=defaults.jwt_issuer,
        audience=defaults.jwt_audience,
        ttl=defaults.access_token_ttl,
    )
    return {"Authorization": f"Bearer {issuer.issue(user_id, role)}"}  # type: ignore[arg-type]


ADMIN = bearer(1, "admin")
CUSTOMER = bearer(2, "customer")


async def row(url: str, product_id: int) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchrow(
            "SELECT name, price, version, stock FROM products WHERE id = $1", product_id
        )
    finally:
        await conn.close()
    assert found is not None
    return dict(found)


# ETag, If-None-Match and Cache-Control ----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products",
        "/api/v1/products/1",
        "/api/v1/products?sort=-price&fields=name",
        "/api/v1/categories",
        "/api/v1/categories/home",
        "/api/v1/tags",
        "/api/v1/products/1/reviews",
        "/api/v1/users/1",
    ],
)
async def test_catalogue_reads_carry_a_strong_etag_and_answer_304(
    api: httpx.AsyncClient, url: str
) -> None:
    first = await api.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag == etags.of(first.content)
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == PUBLIC
    again = await api.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == PUBLIC
    assert "content-type" not in again.headers
    # Weak comparison, lists and `*` all match; another tag does not.
    for header in (f"W/{etag}", f'"nope", {etag}', "*"):
        assert (await api.get(url, headers={"If-None-Match": header})).status_code == 304
    assert (await api.get(url, headers={"If-None-Match": '"nope"'})).status_code == 200


async def test_head_carries_the_same_etag(api: httpx.AsyncClient) -> None:
    get = await api.get("/api/v1/products/2")
    head = await api.head("/api/v1/products/2")
    assert head.status_code == 200
    assert head.headers["etag"] == get.headers["etag"]


async def test_per_user_and_authenticated_reads_are_private(api: httpx.AsyncClient) -> None:
    me = await api.get("/api/v1/users/me", headers=CUSTOMER)
    assert me.headers["cache-control"] == PRIVATE
    assert me.headers["etag"] == etags.of(me.content)
    assert (
        await api.get("/api/v1/users/me", headers={**CUSTOMER, "If-None-Match": me.headers["etag"]})
    ).status_code == 304
    orders = await api.get("/api/v1/orders", headers=CUSTOMER)
    assert orders.headers["cache-control"] == PRIVATE
    catalogue = await api.get("/api/v1/products/1", headers=CUSTOMER)
    assert catalogue.headers["cache-control"] == PRIVATE


async def test_errors_and_writes_are_never_stored(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/v1/products/999")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"
    assert "etag" not in missing.headers


async def test_the_etag_changes_when_a_review_moves_the_rating(
    api: httpx.AsyncClient, shop: str
) -> None:
    before = await api.get("/api/v1/products/3")
    review = await api.post(
        "/api/v1/products/3/reviews", json={"rating": 5, "title": "Great"}, headers=CUSTOMER
    )
    assert review.status_code == 201
    after = await api.get("/api/v1/products/3", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["data"]["version"] == before.json()["data"]["version"]
    assert after.headers["etag"] != before.headers["etag"]


# If-Match on PATCH and PUT -------------------------------------------------------------------


async def test_patch_with_the_current_etag_writes_and_returns_the_next_one(
    api: httpx.AsyncClient, shop: str
) -> None:
    etag = (await api.get("/api/v1/products/4")).headers["etag"]
    changed = await api.patch(
        "/api/v1/products/4", json={"name": "Renamed"}, headers={**ADMIN, "If-Match": etag}
    )
    assert changed.status_code == 200
    new_etag = changed.headers["etag"]
    assert new_etag == etags.of(changed.content) != etag
    # The write's own ETag is what a GET now says, so writes can be chained without reads.
    assert (await api.get("/api/v1/products/4")).headers["etag"] == new_etag
    again = await api.patch(
        "/api/v1/products/4", json={"price": 9.5}, headers={**ADMIN, "If-Match": new_etag}
    )
    assert again.status_code == 200
    assert (await row(shop, 4))["name"] == "Renamed"


async def test_a_stale_etag_is_412_and_nothing_changes(api: httpx.AsyncClient, shop: str) -> None:
    stale = (await api.get("/api/v1/products/5")).headers["etag"]
    await api.patch("/api/v1/products/5", json={"stock": 9}, headers=ADMIN)
    before = await row(shop, 5)
    for method in ("PATCH", "PUT"):
        body = (
            {"name": "Lost update"}
            if method == "PATCH"
            else {
                "sku": "P-5",
                "name": "Lost update",
                "description": "",
                "price": 1,
                "stock": 1,
                "category_id": 2,
                "tag_ids": [],
            }
        )
        response = await api.request(
            method, "/api/v1/products/5", json=body, headers={**ADMIN, "If-Match": stale}
        )
        assert response.status_code == 412, method
        assert response.json()["code"] == "PRECONDITION_FAILED"
        assert await row(shop, 5) == before


async def test_a_review_makes_an_etag_stale_too(api: httpx.AsyncClient) -> None:
    etag = (await api.get("/api/v1/products/6")).headers["etag"]
    await api.post(
        "/api/v1/products/6/reviews", json={"rating": 2, "title": "Meh"}, headers=CUSTOMER
    )
    response = await api.patch(
        "/api/v1/products/6", json={"name": "X"}, headers={**ADMIN, "If-Match": etag}
    )
    assert response.status_code == 412


@pytest.mark.parametrize(
    ("header", "status"),
    [("*", 200), ('W/"abc"', 412), ('"abc", "def"', 412), ("7", 400), ('"unclosed', 400)],
)
async def test_if_match_forms(api: httpx.AsyncClient, header: str, status: int) -> None:
    response = await api.patch(
        "/api/v1/products/7", json={"stock": 3}, headers={**ADMIN, "If-Match": header}
    )
    assert response.status_code == status
    if status == 400:
        assert response.json()["detail"].startswith("If-Match:")


async def test_a_weak_copy_of_the_current_etag_does_not_match(api: httpx.AsyncClient) -> None:
    etag = (await api.get("/api/v1/products/8")).headers["etag"]
    response = await api.patch(
        "/api/v1/products/8", json={"stock": 3}, headers={**ADMIN, "If-Match": f"W/{etag}"}
    )
    assert response.status_code == 412
    listed = await api.patch(
        "/api/v1/products/8", json={"stock": 3}, headers={**ADMIN, "If-Match": f'"x", {etag}'}
    )
    assert listed.status_code == 200


async def test_if_match_on_a_missing_product_is_404(api: httpx.AsyncClient) -> None:
    response = await api.patch(
        "/api/v1/products/999", json={"stock": 1}, headers={**ADMIN, "If-Match": "*"}
    )
    assert response.status_code == 404


async def test_put_replaces_every_field_and_requires_them_all(
    api: httpx.AsyncClient, shop: str
) -> None:
    etag = (await api.get("/api/v1/products/9")).headers["etag"]
    whole = {
        "sku": "P-9-NEW",
        "name": "Replaced",
        "description": "All new.",
        "price": 12.25,
        "stock": 0,
        "category_id": 2,
        "tag_ids": [1],
    }
    partial = {k: v for k, v in whole.items() if k != "description"}
    missing = await api.put("/api/v1/products/9", json=partial, headers=ADMIN)
    assert missing.status_code == 400
    assert missing.json()["errors"] == [{"field": "description", "message": "Field required"}]
    replaced = await api.put("/api/v1/products/9", json=whole, headers={**ADMIN, "If-Match": etag})
    assert replaced.status_code == 200
    product = replaced.json()["data"]
    assert {k: product[k] for k in ("sku", "name", "description", "price", "stock")} == {
        "sku": "P-9-NEW",
        "name": "Replaced",
        "description": "All new.",
        "price": 12.25,
        "stock": 0,
    }
    assert product["category"]["slug"] == "garden" and product["tags"] == [
        {"id": 1, "name": "warm"}
    ]
    assert product["version"] == 2
    assert (await api.put("/api/v1/products/999", json=whole, headers=ADMIN)).status_code == 404


async def test_conditional_writes_check_roles_first(api: httpx.AsyncClient) -> None:
    response = await api.patch(
        "/api/v1/products/10", json={"stock": 1}, headers={**CUSTOMER, "If-Match": "7"}
    )
    assert response.status_code == 403
    anonymous = await api.put("/api/v1/products/10", json={}, headers={"If-Match": "7"})
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("PATCH", "/api/v1/categories/1", {"name": "Homeware"}),
        ("DELETE", "/api/v1/categories/2", None),
        ("POST", "/api/v1/tags", {"name": "conditional"}),
    ],
)
async def test_if_match_where_it_is_not_honoured_is_refused_not_ignored(
    api: httpx.AsyncClient, shop: str, method: str, url: str, body: Any
) -> None:
    response = await api.request(method, url, json=body, headers={**ADMIN, "If-Match": "*"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("If-Match:")
    assert (await row(shop, 11))["name"] == "Product 11"

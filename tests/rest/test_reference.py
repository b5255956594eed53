"""What gateway/rest/reference.py answers with READ_PLANNER=false: reads served by the services,
shaped in Python, and refusals (400) for the grammar only the planner reads: bracketed
parameters and includes beyond a resource's own; order lines fetched only when asked for."""

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

NEEDS = "needs the read planner (READ_PLANNER=true)"


@pytest.fixture(scope="module")
def module_settings(database_url: str, redis_url: str) -> Settings:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO categories (slug, name, parent_id) VALUES ('lamps', 'Lamps', 1);
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'P-' || n, 'Lamp ' || n, n, 100, 2 FROM generate_series(1, 3) n;
        INSERT INTO tags (name) VALUES ('warm');
        INSERT INTO product_tags VALUES (1, 1);
        INSERT INTO users (email, display_name, password_hash) VALUES ('r@example.com', 'R', '!');
        INSERT INTO reviews (product_id, author_id, rating, title) VALUES (1, 1, 4, 'ok');
        """,
    )
    return app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
    )


@pytest.fixture(scope="module")
async def services(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def api(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def buyer(module_settings: Settings, api: httpx.AsyncClient) -> Actor:
    actor = await Actors(module_settings.database_url or "", module_settings).customer("buyer")
    body = {"items": [{"product_id": 1, "quantity": 1}, {"product_id": 2, "quantity": 2}]}
    placed = await api.post("/api/v1/orders", json=body, headers=actor.headers)
    assert placed.status_code == 201
    return actor


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/api/v1/products?fields[tags]=name", f"fields[tags]: {NEEDS}"),
        ("/api/v1/products/1?limit[reviews]=2&include=reviews", f"limit[reviews]: {NEEDS}"),
        ("/api/v1/products?include=category.parent", f"include: category.parent: {NEEDS}"),
        ("/api/v1/categories?include=parent", f"include: parent: {NEEDS}"),
        ("/api/v1/categories/lamps?include=children", f"include: children: {NEEDS}"),
        (
            "/api/v1/categories/1/products?include=category.parent",
            f"include: category.parent: {NEEDS}",
        ),
        ("/api/v1/products/1/reviews?fields[users]=display_name", f"fields[users]: {NEEDS}"),
        ("/api/v1/products/1/reviews?include=product", f"include: product: {NEEDS}"),
        ("/api/v1/reviews/1?include=author", f"include: author: {NEEDS}"),
    ],
)
async def test_what_only_the_planner_reads_is_refused(
    services: httpx.AsyncClient, api: httpx.AsyncClient, url: str, detail: str
) -> None:
    refused = await services.get(url)
    assert refused.status_code == 400
    assert refused.json()["code"] == "INVALID_PARAMETER"
    assert refused.json()["detail"] == detail
    assert refused.headers["x-query-count"] == "0"
    assert (await api.get(url)).status_code == 200


async def test_orders_refuse_planner_includes_for_their_owner_too(
    services: httpx.AsyncClient, buyer: Actor
) -> None:
    for url in ("/api/v1/orders?include=items.product", "/api/v1/orders/1?include=customer"):
        refused = await services.get(url, headers=buyer.headers)
        assert refused.status_code == 400
        assert refused.json()["detail"].endswith(NEEDS)


async def test_a_products_own_includes_are_served_and_kept_by_fields(
    services: httpx.AsyncClient,
) -> None:
    listed = await services.get("/api/v1/products?include=tags&fields=name&limit=2")
    assert listed.status_code == 200
    assert listed.json()["data"] == [
        {"id": 1, "name": "Lamp 1", "tags": [{"id": 1, "name": "warm"}]},
        {"id": 2, "name": "Lamp 2", "tags": []},
    ]
    one = await services.get("/api/v1/products/1?include=reviews&fields=name")
    assert set(one.json()["data"]) == {"id", "name", "reviews"}


async def test_a_whole_product_carries_the_etag_of_its_body(services: httpx.AsyncClient) -> None:
    response = await services.get("/api/v1/products/1")
    assert response.status_code == 200
    assert set(response.json()["data"]) >= {"category", "tags"}
    again = await services.get(
        "/api/v1/products/1", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


async def test_order_lines_are_read_only_when_asked_for(
    services: httpx.AsyncClient, buyer: Actor
) -> None:
    whole = await services.get("/api/v1/orders", headers=buyer.headers)
    narrow = await services.get("/api/v1/orders?fields=status", headers=buyer.headers)
    lines = await services.get("/api/v1/orders?fields=items", headers=buyer.headers)
    assert [len(o["items"]) for o in whole.json()["data"]] == [2]
    assert narrow.json()["data"][0] == {"id": whole.json()["data"][0]["id"], "status": "pending"}
    assert int(narrow.headers["x-query-count"]) == int(whole.headers["x-query-count"]) - 1
    assert lines.headers["x-query-count"] == whole.headers["x-query-count"]


async def test_account_reads_answer_as_the_planner_does(
    services: httpx.AsyncClient, api: httpx.AsyncClient, buyer: Actor
) -> None:
    for url in ("/api/v1/users/me", f"/api/v1/users/{buyer.user_id}"):
        served = await services.get(url, headers=buyer.headers)
        planned = await api.get(url, headers=buyer.headers)
        assert served.status_code == 200
        assert served.content == planned.content
    assert (await services.get("/api/v1/users/me")).status_code == 401

"""What gateway/rest/orders.py decides: /orders answers are per user (private, no-store) and
for signed-in callers only, the status filter and fields/include names, 201 with Location on
placing, the cancel and status routes, 404 for another customer's order, 405 with Allow."""

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

PRIVATE = "private, no-store"


@pytest.fixture(scope="module")
def module_settings(database_url: str, redis_url: str) -> Settings:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        VALUES ('LAMP', 'Lamp', 10, 1000, 1), ('RUG', 'Rug', 25.5, 1000, 1);
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
async def people(module_settings: Settings) -> dict[str, Actor]:
    actors = Actors(module_settings.database_url or "", module_settings)
    return {
        "alice": await actors.customer("alice"),
        "bob": await actors.customer("bob"),
        "admin": await actors.admin(),
    }


async def place(api: httpx.AsyncClient, actor: Actor, *lines: tuple[int, int]) -> httpx.Response:
    body = {"items": [{"product_id": p, "quantity": q} for p, q in lines]}
    return await api.post("/api/v1/orders", json=body, headers=actor.headers)


async def test_placing_is_201_with_location_and_the_order(
    api: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    response = await place(api, people["alice"], (1, 2), (2, 1))
    assert response.status_code == 201
    assert response.headers["cache-control"] == PRIVATE
    order = response.json()["data"]
    assert response.headers["location"] == f"/api/v1/orders/{order['id']}"
    assert set(order) == {"id", "customer", "status", "total", "created_at", "updated_at", "items"}
    assert order["customer"] == {"id": people["alice"].user_id, "display_name": "alice"}
    assert order["status"] == "pending" and order["total"] == 45.5
    assert order["items"][0] == {
        "product_id": 1,
        "product_name": "Lamp",
        "quantity": 2,
        "unit_price": 10.0,
    }


async def test_reads_are_private_and_the_same_on_both_paths(
    api: httpx.AsyncClient, services: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    alice = people["alice"]
    order_id = (await place(api, alice, (1, 1))).json()["data"]["id"]
    for url in (
        "/api/v1/orders",
        "/api/v1/orders?status=pending&sort=created_at&limit=1",
        "/api/v1/orders?fields=id,status",
        f"/api/v1/orders/{order_id}",
        f"/api/v1/orders/{order_id}?fields=total,items",
    ):
        planned = await api.get(url, headers=alice.headers)
        served = await services.get(url, headers=alice.headers)
        assert planned.status_code == served.status_code == 200, url
        assert planned.content == served.content, url
        assert planned.headers["cache-control"] == served.headers["cache-control"] == PRIVATE


async def test_the_status_filter_and_fields(
    api: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    bob = people["bob"]
    first = (await place(api, bob, (1, 1))).json()["data"]["id"]
    await place(api, bob, (2, 1))
    cancelled = await api.post(f"/api/v1/orders/{first}/cancel", headers=bob.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["status"] == "cancelled"
    listed = await api.get("/api/v1/orders?status=cancelled&fields=status", headers=bob.headers)
    assert listed.json()["data"] == [{"id": first, "status": "cancelled"}]
    refused = await api.get("/api/v1/orders?status=lost", headers=bob.headers)
    assert refused.status_code == 400 and refused.json()["detail"].startswith("status:")
    unknown = await api.get("/api/v1/orders?fields=price", headers=bob.headers)
    assert unknown.status_code == 400 and unknown.json()["detail"].startswith("fields:")


async def test_another_customers_order_is_404_and_an_admin_sees_it(
    api: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    order_id = (await place(api, people["alice"], (2, 1))).json()["data"]["id"]
    hidden = await api.get(f"/api/v1/orders/{order_id}", headers=people["bob"].headers)
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"Order {order_id} does not exist."
    seen = await api.get(f"/api/v1/orders/{order_id}", headers=people["admin"].headers)
    assert seen.status_code == 200
    paid = await api.patch(
        f"/api/v1/orders/{order_id}", json={"status": "paid"}, headers=people["admin"].headers
    )
    assert paid.status_code == 200 and paid.json()["data"]["status"] == "paid"
    assert paid.headers["cache-control"] == PRIVATE


async def test_orders_are_for_signed_in_callers_and_moves_for_admins(
    api: httpx.AsyncClient, people: dict[str, Actor]
) -> None:
    assert (await api.get("/api/v1/orders")).status_code == 401
    assert (await api.get("/api/v1/orders/1")).status_code == 401
    move = await api.patch(
        "/api/v1/orders/1", json={"status": "paid"}, headers=people["alice"].headers
    )
    assert move.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/orders/1", {"GET", "HEAD", "PATCH"}),
        ("GET", "/api/v1/orders/1/cancel", {"POST"}),
        ("PUT", "/api/v1/orders", {"GET", "HEAD", "POST"}),
    ],
)
async def test_other_methods_are_405_with_allow(
    api: httpx.AsyncClient, people: dict[str, Actor], method: str, path: str, allowed: set[str]
) -> None:
    response = await api.request(method, path, headers=people["alice"].headers)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed

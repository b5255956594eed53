"""Orders in both styles: placing (all lines or none, stock exact under concurrency),
reading your own, cancelling, the admin's status moves, and batched lines."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Actor, Actors, reference, run_sql

pytestmark = pytest.mark.anyio

ORDER_KEYS = {"id", "customer", "status", "items", "total", "created_at", "updated_at"}
MISSING = 999_999
NO_STORE = "private, no-store"


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, "INSERT INTO categories (slug, name) VALUES ('home', 'Home')")
    return database_url


@pytest.fixture
async def api(shop: str, client: httpx.AsyncClient) -> httpx.AsyncClient:
    return client


async def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def product(database_url: str, name: str = "Walnut Lamp", *, stock: int, price: float) -> int:
    """A fresh product of this test's own, so tests never share stock."""
    (row,) = await fetch(
        database_url,
        "INSERT INTO products (sku, name, price, stock, category_id) "
        "VALUES ($1, $2, $3, $4, 1) RETURNING id",
        f"SKU-{uuid.uuid4().hex[:10]}",
        name,
        price,
        stock,
    )
    return int(row["id"])


async def stock_of(database_url: str, *ids: int) -> list[int]:
    rows = await fetch(database_url, "SELECT id, stock FROM products WHERE id = ANY($1)", list(ids))
    by_id = {r["id"]: r["stock"] for r in rows}
    return [by_id[i] for i in ids]


async def orders_of(database_url: str, actor: Actor) -> list[asyncpg.Record]:
    return await fetch(
        database_url,
        "SELECT id, status, updated_at FROM orders WHERE customer_id = $1 ORDER BY id",
        actor.user_id,
    )


async def place(
    api: httpx.AsyncClient, actor: Actor | None, *lines: tuple[int, int], **extra: Any
) -> httpx.Response:
    body = {"items": [{"product_id": p, "quantity": q} for p, q in lines], **extra}
    return await api.post("/api/v1/orders", json=body, headers=actor.headers if actor else {})


async def placed(api: httpx.AsyncClient, actor: Actor, *lines: tuple[int, int]) -> dict[str, Any]:
    response = await place(api, actor, *lines)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()["data"]
    return order


async def set_status(
    api: httpx.AsyncClient, actor: Actor | None, order_id: int, body: Any
) -> httpx.Response:
    headers = actor.headers if actor else {}
    return await api.patch(f"/api/v1/orders/{order_id}", json=body, headers=headers)


async def gql(
    api: httpx.AsyncClient, query: str, actor: Actor | None = None, **variables: Any
) -> httpx.Response:
    headers = actor.headers if actor else {}
    return await api.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def assert_same_404(response: httpx.Response, missing: httpx.Response) -> None:
    """Another customer's order answers exactly like a missing one (no existence oracle)."""
    assert response.status_code == missing.status_code == 404
    mine, theirs = response.json(), missing.json()
    for body in (mine, theirs):
        body.pop("request_id")
        body["detail"] = body["detail"].split(" ")[0]
    assert mine == theirs and mine["code"] == "NOT_FOUND"


# Placing ---------------------------------------------------------------------------------


async def test_place_an_order_at_current_prices(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, "Walnut Lamp", stock=10, price=19.99)
    shade = await product(shop, "Linen Shade", stock=5, price=7.5)
    erin = await actors.customer("Erin")
    response = await place(api, erin, (shade, 2), (lamp, 3))
    assert response.status_code == 201
    assert response.headers["cache-control"] == NO_STORE
    order = response.json()["data"]
    assert response.headers["location"] == f"/api/v1/orders/{order['id']}"
    assert set(order) == ORDER_KEYS
    assert order["customer"] == {"id": erin.user_id, "display_name": "Erin"}
    assert order["status"] == "pending"
    assert order["items"] == [
        {"product_id": lamp, "product_name": "Walnut Lamp", "quantity": 3, "unit_price": 19.99},
        {"product_id": shade, "product_name": "Linen Shade", "quantity": 2, "unit_price": 7.5},
    ]
    assert order["total"] == 74.97
    assert await stock_of(shop, lamp, shade) == [7, 3]
    stored = await fetch(
        shop,
        "SELECT product_id, quantity, unit_price FROM order_items WHERE order_id = $1 "
        "ORDER BY product_id",
        order["id"],
    )
    assert [(r["product_id"], r["quantity"], float(r["unit_price"])) for r in stored] == [
        (lamp, 3, 19.99),
        (shade, 2, 7.5),
    ]

    # Later price changes leave the order at the price it was placed at.
    await fetch(shop, "UPDATE products SET price = 99 WHERE id = $1", lamp)
    again = await api.get(f"/api/v1/orders/{order['id']}", headers=erin.headers)
    assert again.status_code == 200
    assert again.headers["cache-control"] == NO_STORE
    assert again.json()["data"] == order


async def test_anonymous_order_is_401(api: httpx.AsyncClient, shop: str) -> None:
    lamp = await product(shop, stock=3, price=1)
    before = await fetch(shop, "SELECT count(*) FROM orders")
    response = await place(api, None, (lamp, 1))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert await fetch(shop, "SELECT count(*) FROM orders") == before
    assert await stock_of(shop, lamp) == [3]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"product_id": 1, "quantity": 1}] * 101}, "items"),
        ({}, "items"),
        ({"items": [{"product_id": "LAMP", "quantity": 1}]}, "items.0.product_id"),
        ({"items": [{"product_id": 0, "quantity": 1}]}, "items.0.product_id"),
        ({"items": [{"product_id": "P", "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"product_id": "P", "quantity": 1001}]}, "items.0.quantity"),
        ({"items": [{"product_id": "P", "quantity": 1.5}]}, "items.0.quantity"),
        ({"items": [{"product_id": "P"}]}, "items.0.quantity"),
        ({"items": [{"product_id": "P", "quantity": 1, "unit_price": 0}]}, "items.0.unit_price"),
        ({"items": [{"product_id": "P", "quantity": 1}], "customer_id": 1}, "customer_id"),
        ({"items": [{"product_id": "P", "quantity": 1}], "status": "paid"}, "status"),
        ({"items": [{"product_id": "P", "quantity": 1}], "id": 5}, "id"),
        (
            {"items": [{"product_id": "P", "quantity": 1}, {"product_id": "P", "quantity": 2}]},
            "items.1.product_id",
        ),
    ],
)
async def test_bad_orders_are_400_and_change_nothing(
    api: httpx.AsyncClient, actors: Actors, shop: str, body: dict[str, Any], field: str
) -> None:
    lamp = await product(shop, stock=5, price=2)
    body = {
        key: [{k: lamp if v == "P" else v for k, v in line.items()} for line in value]
        if key == "items"
        else value
        for key, value in body.items()
    }
    customer = await actors.customer()
    response = await api.post("/api/v1/orders", json=body, headers=customer.headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert field in [e["field"] for e in problem["errors"]]
    assert await orders_of(shop, customer) == []
    assert await stock_of(shop, lamp) == [5]


async def test_one_line_over_stock_rejects_the_whole_order(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    plenty = await product(shop, "Oak Stool", stock=50, price=3)
    scarce = await product(shop, "Walnut Lamp", stock=3, price=5)
    customer = await actors.customer()
    response = await place(api, customer, (plenty, 10), (scarce, 5))
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT"
    assert response.json()["detail"] == (
        f"Not enough stock for product {scarce} (Walnut Lamp): 3 left, 5 asked."
    )
    assert await orders_of(shop, customer) == []
    assert await stock_of(shop, plenty, scarce) == [50, 3]


async def test_a_missing_product_rejects_the_whole_order(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=5, price=5)
    customer = await actors.customer()
    response = await place(api, customer, (lamp, 1), (MISSING, 1))
    assert response.status_code == 409
    assert response.json()["detail"] == f"Product {MISSING} does not exist."
    assert await orders_of(shop, customer) == []
    assert await stock_of(shop, lamp) == [5]


async def test_fifty_concurrent_orders_for_ten_units(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=10, price=12)
    customers = [await actors.customer() for _ in range(5)]
    responses = await asyncio.gather(*(place(api, customers[n % 5], (lamp, 1)) for n in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [409] * 40
    assert all(
        r.json()["detail"].startswith(f"Not enough stock for product {lamp}")
        for r in responses
        if r.status_code == 409
    )
    assert await stock_of(shop, lamp) == [0]
    (count,) = await fetch(
        shop, "SELECT count(*), sum(quantity) FROM order_items WHERE product_id = $1", lamp
    )
    assert tuple(count) == (10, 10)


async def test_crossing_orders_never_deadlock(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    a = await product(shop, "A", stock=100, price=1)
    b = await product(shop, "B", stock=100, price=1)
    c = await product(shop, "C", stock=100, price=1)
    customer = await actors.customer()
    shapes = [((a, 1), (b, 1), (c, 1)), ((c, 1), (b, 1), (a, 1)), ((b, 1), (a, 1))]
    responses = await asyncio.gather(*(place(api, customer, *shapes[n % 3]) for n in range(30)))
    assert [r.status_code for r in responses] == [201] * 30
    assert await stock_of(shop, a, b, c) == [70, 70, 80]


# Reading ---------------------------------------------------------------------------------


async def test_only_the_owner_or_an_admin_reads_an_order(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=5, price=5)
    owner, other, admin = await actors.customer(), await actors.customer(), await actors.admin()
    order = await placed(api, owner, (lamp, 1))
    url = f"/api/v1/orders/{order['id']}"
    assert (await api.get(url, headers=owner.headers)).json()["data"] == order
    assert (await api.get(url, headers=admin.headers)).json()["data"] == order
    assert_same_404(
        await api.get(url, headers=other.headers),
        await api.get(f"/api/v1/orders/{MISSING}", headers=other.headers),
    )
    anonymous = await api.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


async def test_order_lists_are_per_customer_newest_first(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=100, price=2)
    mine, theirs, admin = await actors.customer(), await actors.customer(), await actors.admin()
    own = [await placed(api, mine, (lamp, n)) for n in range(1, 8)]
    other = await placed(api, theirs, (lamp, 1))
    await api.post(f"/api/v1/orders/{own[0]['id']}/cancel", headers=mine.headers)

    seen: list[int] = []
    url: str | None = "/api/v1/orders?limit=3&count=exact"
    while url:
        response = await api.get(url, headers=mine.headers)
        assert response.status_code == 200
        assert response.headers["cache-control"] == NO_STORE
        body = response.json()
        assert body["page"]["total"] == 7
        assert all(set(o) == ORDER_KEYS and o["items"] for o in body["data"])
        seen += [o["id"] for o in body["data"]]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert seen == [o["id"] for o in reversed(own)]

    pending = (await api.get("/api/v1/orders?status=pending", headers=mine.headers)).json()
    assert [o["id"] for o in pending["data"]] == [o["id"] for o in reversed(own[1:])]
    cancelled = (await api.get("/api/v1/orders?status=cancelled", headers=mine.headers)).json()
    assert [o["id"] for o in cancelled["data"]] == [own[0]["id"]]

    everyone = (await api.get("/api/v1/orders?limit=100", headers=admin.headers)).json()["data"]
    assert {other["id"], *(o["id"] for o in own)} <= {o["id"] for o in everyone}
    assert other["id"] not in seen


@pytest.mark.parametrize("query", ["status=lost", "status=PENDING", "limit=0", "after=x", "q=1"])
async def test_bad_order_list_parameters_are_400(
    api: httpx.AsyncClient, actors: Actors, query: str
) -> None:
    response = await api.get(f"/api/v1/orders?{query}", headers=(await actors.customer()).headers)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"


async def test_anonymous_order_list_is_401(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/orders")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def seed_orders(database_url: str, customer: Actor, count: int) -> None:
    """`count` orders of two lines each for `customer`, straight in the database."""
    a = await product(database_url, stock=0, price=1.25)
    b = await product(database_url, stock=0, price=2.5)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            WITH made AS (
                INSERT INTO orders (customer_id, created_at)
                SELECT $1, now() - make_interval(secs => n) FROM generate_series(1, $4) n
                RETURNING id
            )
            INSERT INTO order_items (order_id, product_id, quantity, unit_price)
            SELECT made.id, p.id, 2, p.price FROM made, products p WHERE p.id IN ($2, $3)
            """,
            customer.user_id,
            a,
            b,
            count,
        )
    finally:
        await conn.close()


async def test_order_list_queries_do_not_grow_with_the_page(
    api: httpx.AsyncClient, actors: Actors, shop: str, settings: Settings
) -> None:
    customer = await actors.customer()
    await seed_orders(shop, customer, 60)
    small = await api.get("/api/v1/orders?limit=5", headers=customer.headers)
    large = await api.get("/api/v1/orders?limit=50", headers=customer.headers)
    assert len(large.json()["data"]) == 50
    assert all(len(o["items"]) == 2 and o["total"] == 7.5 for o in large.json()["data"])
    assert small.headers["x-query-count"] == large.headers["x-query-count"] == "1"
    # The services: the page and one batch for every order's lines.
    async with reference(settings) as services:
        small = await services.get("/api/v1/orders?limit=5", headers=customer.headers)
        slow = await services.get("/api/v1/orders?limit=50", headers=customer.headers)
    assert small.headers["x-query-count"] == slow.headers["x-query-count"] == "2"
    assert slow.content == large.content


# Cancelling and status changes -------------------------------------------------------------


async def test_cancel_restores_stock_once(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=10, price=4)
    shade = await product(shop, stock=10, price=4)
    owner = await actors.customer()
    order = await placed(api, owner, (lamp, 4), (shade, 1))
    assert await stock_of(shop, lamp, shade) == [6, 9]
    response = await api.post(f"/api/v1/orders/{order['id']}/cancel", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == NO_STORE
    cancelled = response.json()["data"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["updated_at"] > order["updated_at"]
    assert cancelled["items"] == order["items"]
    assert await stock_of(shop, lamp, shade) == [10, 10]

    again = await api.post(f"/api/v1/orders/{order['id']}/cancel", headers=owner.headers)
    assert again.status_code == 409
    assert again.json()["detail"] == "Only a pending order can be cancelled."
    assert await stock_of(shop, lamp, shade) == [10, 10]


async def test_cancelling_someone_elses_order_is_404(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=10, price=4)
    owner, other, admin = await actors.customer(), await actors.customer(), await actors.admin()
    order = await placed(api, owner, (lamp, 2))
    url = f"/api/v1/orders/{order['id']}/cancel"
    missing = f"/api/v1/orders/{MISSING}/cancel"
    assert_same_404(
        await api.post(url, headers=other.headers), await api.post(missing, headers=other.headers)
    )
    # The admin's tool for other people's orders is PATCH, not the owner's cancel.
    assert (await api.post(url, headers=admin.headers)).status_code == 404
    anonymous = await api.post(url)
    assert anonymous.status_code == 401
    assert (await orders_of(shop, owner))[0]["status"] == "pending"
    assert await stock_of(shop, lamp) == [8]


async def test_admin_moves_an_order_through_its_life(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=10, price=4)
    owner, admin = await actors.customer(), await actors.admin()
    order = await placed(api, owner, (lamp, 3))
    paid = await set_status(api, admin, order["id"], {"status": "paid"})
    assert paid.status_code == 200
    assert paid.headers["cache-control"] == NO_STORE
    assert paid.json()["data"]["status"] == "paid"
    assert paid.json()["data"]["updated_at"] > order["updated_at"]
    shipped = await set_status(api, admin, order["id"], {"status": "shipped"})
    assert shipped.json()["data"]["status"] == "shipped"
    for target in ("cancelled", "pending", "paid", "shipped"):
        refused = await set_status(api, admin, order["id"], {"status": target})
        assert refused.status_code == 409
        assert refused.json()["code"] == "CONFLICT"
    assert refused.json()["detail"] == "An order cannot go from shipped to shipped."
    assert (await orders_of(shop, owner))[0]["status"] == "shipped"
    assert await stock_of(shop, lamp) == [7]
    # A shipped order cannot be cancelled by its owner either.
    owner_cancel = await api.post(f"/api/v1/orders/{order['id']}/cancel", headers=owner.headers)
    assert owner_cancel.status_code == 409


@pytest.mark.parametrize("first", ["pending", "paid"])
async def test_admin_cancel_restores_stock(
    api: httpx.AsyncClient, actors: Actors, shop: str, first: str
) -> None:
    lamp = await product(shop, stock=10, price=4)
    owner, admin = await actors.customer(), await actors.admin()
    order = await placed(api, owner, (lamp, 6))
    if first == "paid":
        assert (await set_status(api, admin, order["id"], {"status": "paid"})).status_code == 200
    cancelled = await set_status(api, admin, order["id"], {"status": "cancelled"})
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert await stock_of(shop, lamp) == [10]
    again = await set_status(api, admin, order["id"], {"status": "cancelled"})
    assert again.status_code == 409
    assert await stock_of(shop, lamp) == [10]


async def test_customers_may_not_change_status(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=10, price=4)
    owner = await actors.customer()
    order = await placed(api, owner, (lamp, 1))
    before = await orders_of(shop, owner)
    for body in ({"status": "paid"}, {"status": "shipped"}, {"total": 0}):
        response = await set_status(api, owner, order["id"], body)
        assert response.status_code == 403
        assert response.json()["code"] == "FORBIDDEN"
    assert (await set_status(api, None, order["id"], {"status": "paid"})).status_code == 401
    assert await orders_of(shop, owner) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"total": 0}, "total"),
        ({"status": "paid", "total": 0}, "total"),
        ({"status": "paid", "customer_id": 1}, "customer_id"),
        ({"status": "lost"}, "status"),
        ({"status": "PAID"}, "status"),
        ({}, "status"),
    ],
)
async def test_bad_status_bodies_are_400(
    api: httpx.AsyncClient, actors: Actors, shop: str, body: dict[str, Any], field: str
) -> None:
    lamp = await product(shop, stock=10, price=4)
    owner, admin = await actors.customer(), await actors.admin()
    order = await placed(api, owner, (lamp, 1))
    before = await orders_of(shop, owner)
    response = await set_status(api, admin, order["id"], body)
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_FAILED"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await orders_of(shop, owner) == before


async def test_status_of_a_missing_order_is_404(api: httpx.AsyncClient, actors: Actors) -> None:
    response = await set_status(api, await actors.admin(), MISSING, {"status": "paid"})
    assert response.status_code == 404


# GraphQL ---------------------------------------------------------------------------------

ORDER_FIELDS = """
id status total createdAt updatedAt customer { id displayName }
items { quantity unitPrice product { id name } }
"""
PLACE = f"""
mutation($input: PlaceOrderInput!) {{
  placeOrder(input: $input) {{ order {{ {ORDER_FIELDS} }} errors {{ code field message }} }}
}}"""
CANCEL = f"""
mutation($id: ID!) {{
  cancelOrder(id: $id) {{ order {{ {ORDER_FIELDS} }} errors {{ code field message }} }}
}}"""
SET_STATUS = f"""
mutation($id: ID!, $status: OrderStatus!) {{
  setOrderStatus(id: $id, status: $status) {{
    order {{ {ORDER_FIELDS} }} errors {{ code field message }}
  }}
}}"""


def lines(*pairs: tuple[int | str, int]) -> dict[str, Any]:
    return {"items": [{"productId": str(p), "quantity": q} for p, q in pairs]}


async def test_graphql_place_read_and_cancel(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, "Walnut Lamp", stock=4, price=10)
    fay = await actors.customer("Fay")
    result = (await gql(api, PLACE, fay, input=lines((lamp, 3)))).json()["data"]["placeOrder"]
    assert result["errors"] == []
    order = result["order"]
    assert order["status"] == "PENDING"
    assert order["customer"] == {"id": str(fay.user_id), "displayName": "Fay"}
    assert order["items"] == [
        {"quantity": 3, "unitPrice": 10.0, "product": {"id": str(lamp), "name": "Walnut Lamp"}}
    ]
    assert order["total"] == 30.0
    assert await stock_of(shop, lamp) == [1]

    read = (await gql(api, f'{{ order(id: "{order["id"]}") {{ {ORDER_FIELDS} }} }}', fay)).json()
    assert read["data"]["order"] == order

    cancelled = (await gql(api, CANCEL, fay, id=order["id"])).json()["data"]["cancelOrder"]
    assert cancelled["errors"] == []
    assert cancelled["order"]["status"] == "CANCELLED"
    assert await stock_of(shop, lamp) == [4]
    again = (await gql(api, CANCEL, fay, id=order["id"])).json()["data"]["cancelOrder"]
    assert again == {
        "order": None,
        "errors": [
            {"code": "CONFLICT", "field": None, "message": "Only a pending order can be cancelled."}
        ],
    }


async def test_graphql_rejected_orders_are_user_errors(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, "Walnut Lamp", stock=2, price=10)
    customer = await actors.customer()
    cases = [
        (lines((lamp, 3)), "CONFLICT", None),
        (lines((lamp, 1), (MISSING, 1)), "CONFLICT", None),
        (lines(("abc", 1)), "VALIDATION_FAILED", "items.0.productId"),
        (lines((lamp, 0)), "VALIDATION_FAILED", "items.0.quantity"),
        (lines((lamp, 1), (lamp, 1)), "VALIDATION_FAILED", "items.1.productId"),
        ({"items": []}, "VALIDATION_FAILED", "items"),
    ]
    for input_, code, field in cases:
        result = (await gql(api, PLACE, customer, input=input_)).json()["data"]["placeOrder"]
        assert result["order"] is None
        assert (result["errors"][0]["code"], result["errors"][0]["field"]) == (code, field)
    assert await orders_of(shop, customer) == []
    assert await stock_of(shop, lamp) == [2]


async def test_graphql_read_only_order_fields_fail_validation(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=2, price=10)
    customer = await actors.customer()
    response = await gql(
        api,
        f'mutation {{ placeOrder(input: {{items: [{{productId: "{lamp}", quantity: 1}}], '
        'customerId: "1"}) { errors { code } } }',
        customer,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await orders_of(shop, customer) == []


async def test_graphql_anonymous_is_unauthenticated(api: httpx.AsyncClient, shop: str) -> None:
    lamp = await product(shop, stock=2, price=10)
    for query, variables in (
        (PLACE, {"input": lines((lamp, 1))}),
        (CANCEL, {"id": "1"}),
        (SET_STATUS, {"id": "1", "status": "PAID"}),
        ('{ order(id: "1") { id } }', {}),
        ("{ orders { edges { node { id } } } }", {}),
    ):
        body = (await gql(api, query, **variables)).json()
        # Non-null payloads and connections null the whole data; `order` is nullable.
        assert body["data"] in (None, {"order": None})
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await stock_of(shop, lamp) == [2]


async def test_graphql_aliased_orders_of_someone_else_are_not_found(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    lamp = await product(shop, stock=10, price=1)
    me, them = await actors.customer(), await actors.customer()
    mine = (await placed(api, me, (lamp, 1)))["id"]
    theirs = (await placed(api, them, (lamp, 1)))["id"]
    query = f"""{{
      a: order(id: "{mine}") {{ id }}
      b: order(id: "{theirs}") {{ id }}
      c: order(id: "{MISSING}") {{ id }}
    }}"""
    body = (await gql(api, query, me)).json()
    assert body["data"] == {"a": {"id": str(mine)}, "b": None, "c": None}
    errors = {tuple(e["path"]): e for e in body["errors"]}
    assert set(errors) == {("b",), ("c",)}
    assert {e["extensions"]["code"] for e in errors.values()} == {"NOT_FOUND"}
    assert errors[("b",)]["message"].split(" ")[0] == errors[("c",)]["message"].split(" ")[0]

    mutation = f"""mutation {{
      a: cancelOrder(id: "{theirs}") {{ order {{ id }} errors {{ code }} }}
      b: cancelOrder(id: "{MISSING}") {{ order {{ id }} errors {{ code }} }}
      c: cancelOrder(id: "{mine}") {{ order {{ status }} errors {{ code }} }}
    }}"""
    data = (await gql(api, mutation, me)).json()["data"]
    assert data["a"] == data["b"] == {"order": None, "errors": [{"code": "NOT_FOUND"}]}
    assert data["c"] == {"order": {"status": "CANCELLED"}, "errors": []}
    assert (await orders_of(shop, them))[0]["status"] == "pending"


async def test_graphql_set_order_status(api: httpx.AsyncClient, actors: Actors, shop: str) -> None:
    lamp = await product(shop, stock=10, price=1)
    owner, admin = await actors.customer(), await actors.admin()
    order_id = str((await placed(api, owner, (lamp, 5)))["id"])
    before = await orders_of(shop, owner)

    forbidden = (await gql(api, SET_STATUS, owner, id=order_id, status="PAID")).json()
    assert forbidden["data"] is None
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await orders_of(shop, owner) == before

    paid = (await gql(api, SET_STATUS, admin, id=order_id, status="PAID")).json()
    assert paid["data"]["setOrderStatus"]["order"]["status"] == "PAID"
    refused = (await gql(api, SET_STATUS, admin, id=order_id, status="PENDING")).json()
    assert refused["data"]["setOrderStatus"]["errors"] == [
        {"code": "CONFLICT", "field": None, "message": "An order cannot go from paid to pending."}
    ]
    cancelled = (await gql(api, SET_STATUS, admin, id=order_id, status="CANCELLED")).json()
    assert cancelled["data"]["setOrderStatus"]["order"]["status"] == "CANCELLED"
    assert await stock_of(shop, lamp) == [10]
    missing = (await gql(api, SET_STATUS, admin, id=str(MISSING), status="PAID")).json()
    assert missing["data"]["setOrderStatus"]["errors"][0]["code"] == "NOT_FOUND"


async def test_graphql_orders_connection(api: httpx.AsyncClient, actors: Actors, shop: str) -> None:
    lamp = await product(shop, stock=10, price=1)
    customer = await actors.customer()
    ids = [str((await placed(api, customer, (lamp, 1)))["id"]) for _ in range(3)]
    await gql(api, CANCEL, customer, id=ids[0])
    query = """
    query($first: Int!, $after: String, $status: OrderStatus) {
      orders(first: $first, after: $after, status: $status) {
        totalCount
        edges { node { id status } }
        pageInfo { hasNextPage endCursor }
      }
    }"""
    first = (await gql(api, query, customer, first=2)).json()["data"]["orders"]
    assert first["totalCount"] == 3
    assert [e["node"]["id"] for e in first["edges"]] == [ids[2], ids[1]]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await gql(api, query, customer, first=2, after=first["pageInfo"]["endCursor"])).json()[
        "data"
    ]["orders"]
    assert [e["node"] for e in rest["edges"]] == [{"id": ids[0], "status": "CANCELLED"}]
    pending = (await gql(api, query, customer, first=10, status="PENDING")).json()
    assert pending["data"]["orders"]["totalCount"] == 2
    assert [e["node"]["id"] for e in pending["data"]["orders"]["edges"]] == [ids[2], ids[1]]


async def test_graphql_order_lists_are_batched(
    api: httpx.AsyncClient, actors: Actors, shop: str, settings: Settings
) -> None:
    customer = await actors.customer()
    await seed_orders(shop, customer, 60)
    query = """
    query($first: Int!) {
      orders(first: $first) {
        edges { node { total items { product { name } } customer { displayName } } }
      }
    }"""
    small = await gql(api, query, customer, first=5)
    large = await gql(api, query, customer, first=50)
    edges = large.json()["data"]["orders"]["edges"]
    assert len(edges) == 50
    assert all(len(e["node"]["items"]) == 2 for e in edges)
    assert small.headers["x-query-count"] == large.headers["x-query-count"] == "1"
    # The resolvers: the orders page, one batch of lines, one batch of products; customers
    # come joined.
    async with reference(settings) as resolvers:
        small = await gql(resolvers, query, customer, first=5)
        slow = await gql(resolvers, query, customer, first=50)
    assert small.headers["x-query-count"] == slow.headers["x-query-count"] == "3"
    assert slow.content == large.content

"""graphql/order.py: order lines through the per-request items loader (or carried by a write),
OrderItem.product batched, the OrderStatus mapping, product ids of placeOrder converted or left
for validation at their path, and who sees which order (reference path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Actor, Actors, app_settings, reference, run_sql

pytestmark = pytest.mark.anyio

LINES = "items { quantity unitPrice product { sku } }"


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        VALUES ('A', 'Alpha', 5, 1000, 1), ('B', 'Beta', 7, 1000, 1), ('C', 'Gamma', 9, 1000, 1);
        """,
    )
    return database_url


@pytest.fixture(scope="module")
async def ref(catalogue: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(app_settings(catalogue, redis_url)) as http:
        yield http


async def call(
    http: httpx.AsyncClient, actor: Actor | None, query: str, **variables: Any
) -> httpx.Response:
    return await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=actor.headers if actor else {},
    )


PLACE = f"""mutation($items: [OrderLineInput!]!) {{ placeOrder(input: {{items: $items}}) {{
    order {{ id status total {LINES} }} errors {{ code field }} }} }}"""


async def place(http: httpx.AsyncClient, actor: Actor, *lines: tuple[str, int]) -> str:
    items = [{"productId": p, "quantity": q} for p, q in lines]
    payload = (await call(http, actor, PLACE, items=items)).json()["data"]["placeOrder"]
    assert payload["errors"] == []
    order_id: str = payload["order"]["id"]
    return order_id


async def test_a_placed_order_carries_its_lines_without_loading_them(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    response = await call(ref, customer, PLACE, items=[{"productId": "2", "quantity": 3}])
    order = response.json()["data"]["placeOrder"]["order"]
    assert order["status"] == "PENDING"
    assert order["total"] == 21.0
    assert order["items"] == [{"quantity": 3, "unitPrice": 7.0, "product": {"sku": "B"}}]


async def test_a_bad_product_id_is_a_validation_error_at_its_line(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    items = [{"productId": "1", "quantity": 1}, {"productId": "x", "quantity": 1}]
    payload = (await call(ref, customer, PLACE, items=items)).json()["data"]["placeOrder"]
    assert payload["order"] is None
    assert payload["errors"] == [{"code": "VALIDATION_FAILED", "field": "items.1.productId"}]


async def test_lines_and_their_products_of_a_page_load_in_one_statement_each(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    for lines in ((("1", 1), ("2", 2)), (("3", 1),), (("1", 4),)):
        await place(ref, customer, *lines)
    plain = await call(ref, customer, "{ orders { edges { node { id } } } }")
    nested = await call(ref, customer, f"{{ orders {{ edges {{ node {{ id {LINES} }} }} }} }}")
    skus = [
        [line["product"]["sku"] for line in e["node"]["items"]]
        for e in nested.json()["data"]["orders"]["edges"]
    ]
    assert skus == [["A"], ["C"], ["A", "B"]]  # newest first
    assert int(nested.headers["x-query-count"]) == int(plain.headers["x-query-count"]) + 2


async def test_status_filters_map_to_the_services_names(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    customer, admin = await actors.customer(), await actors.admin()
    kept = await place(ref, customer, ("1", 1))
    cancelled = await place(ref, customer, ("2", 1))
    cancel = "mutation($id: ID!) { cancelOrder(id: $id) { order { status } errors { code } } }"
    answer = (await call(ref, customer, cancel, id=cancelled)).json()["data"]["cancelOrder"]
    assert answer == {"order": {"status": "CANCELLED"}, "errors": []}
    move = """mutation($id: ID!) { setOrderStatus(id: $id, status: PAID) {
        order { status } errors { code } } }"""
    assert (await call(ref, admin, move, id=kept)).json()["data"]["setOrderStatus"] == {
        "order": {"status": "PAID"},
        "errors": [],
    }
    query = "query($s: OrderStatus) { orders(status: $s) { totalCount edges { node { id } } } }"
    for status, expected in (("PAID", [kept]), ("CANCELLED", [cancelled]), ("SHIPPED", [])):
        page = (await call(ref, customer, query, s=status)).json()["data"]["orders"]
        assert [e["node"]["id"] for e in page["edges"]] == expected
        assert page["totalCount"] == len(expected)


async def test_another_customers_order_is_not_found_and_a_customer_cannot_move_status(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    owner, other = await actors.customer(), await actors.customer()
    order_id = await place(ref, owner, ("1", 1))
    read = await call(ref, other, "query($id: ID!) { order(id: $id) { id } }", id=order_id)
    assert read.json()["data"] == {"order": None}
    assert read.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    move = """mutation($id: ID!) { setOrderStatus(id: $id, status: SHIPPED) {
        errors { code } } }"""
    refused = (await call(ref, owner, move, id=order_id)).json()
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_cancelling_a_malformed_or_missing_order_is_a_user_error(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    query = "mutation($id: ID!) { cancelOrder(id: $id) { order { id } errors { code field } } }"
    bad = (await call(ref, customer, query, id="x")).json()["data"]["cancelOrder"]
    assert bad == {"order": None, "errors": [{"code": "INVALID_PARAMETER", "field": "id"}]}
    missing = (await call(ref, customer, query, id="9999")).json()["data"]["cancelOrder"]
    assert missing == {"order": None, "errors": [{"code": "NOT_FOUND", "field": None}]}


async def test_orders_need_a_signed_in_caller(ref: httpx.AsyncClient) -> None:
    body = (await call(ref, None, "{ orders { totalCount } }")).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

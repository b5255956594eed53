"""The signed-in scenarios: order history, placing an order, adding a review.

They run as a customer and leave the data as they found it: every order placed is
cancelled (its stock goes back) and every review added is deleted, by the scenario's
cleanup, which the runner calls after each iteration and does not measure.
"""

from __future__ import annotations

import uuid
from typing import Any

from gateway.compare.scenarios import Client, Fixture, Made, Operation, Ref, Scenario, needs

ORDER_FIELDS = "id,status,total,created_at,items"
ORDER_NEEDS = needs(
    order="id status total created_at",
    order_item="quantity unit_price product_name",
    product="name",
    error="code field message",
)

_IN_STOCK = """query CompareInStock {
  products(first: 1, filter: {inStock: true}, sort: PRICE) { edges { node { id } } }
}"""


async def _in_stock_product(client: Client) -> int:
    data = await client.graphql(_IN_STOCK, {})
    edges = data["products"]["edges"]
    if not edges:
        raise LookupError("no product is in stock, so no order can be placed")
    return int(edges[0]["node"]["id"])


async def _place_and_cancel(client: Client, product_id: int) -> None:
    created = await client.post("/orders", {"items": [{"product_id": product_id, "quantity": 1}]})
    await client.post(f"/orders/{created['data']['id']}/cancel", None)


# -- a customer's order history ------------------------------------------------------------

_HAS_ORDERS = "query CompareHasOrders { orders(first: 1) { edges { node { id } } } }"


async def _some_history(client: Client, fixture: Fixture) -> None:
    # A fresh account has no history; give it one (a cancelled order) to look at.
    data = await client.graphql(_HAS_ORDERS, {})
    if not data["orders"]["edges"]:
        await _place_and_cancel(client, await _in_stock_product(client))


async def _history_naive(client: Client, fixture: Fixture, made: Made) -> None:
    await client.get("/orders", {"limit": 10})


async def _history_tuned(client: Client, fixture: Fixture, made: Made) -> None:
    await client.get("/orders", {"limit": 10, "fields": ORDER_FIELDS})


ORDER_HISTORY = Scenario(
    name="order-history",
    title="A customer's order history, with items and product names",
    lesson="A purpose-built resource: REST's order already carries its lines and product "
    "names; GraphQL resolves each level through a loader.",
    needs=ORDER_NEEDS,
    naive=_history_naive,
    tuned=_history_tuned,
    graphql=(
        Operation(
            document="""query OrderHistory {
  orders(first: 10) {
    edges { node { id status total createdAt items { quantity unitPrice product { name } } } }
  }
}"""
        ),
    ),
    prepare=_some_history,
    signed_in=True,
)


# -- place an order, then read it back -----------------------------------------------------


async def _order_product(client: Client, fixture: Fixture) -> None:
    fixture["order_product_id"] = await _in_stock_product(client)


def _order_body(fixture: Fixture) -> dict[str, Any]:
    return {"items": [{"product_id": fixture["order_product_id"], "quantity": 1}]}


async def _order_naive(client: Client, fixture: Fixture, made: Made) -> None:
    created = await client.post("/orders", _order_body(fixture))
    made["order_id"] = created["data"]["id"]
    await client.get(f"/orders/{made['order_id']}")


async def _order_tuned(client: Client, fixture: Fixture, made: Made) -> None:
    # A key makes the POST safe to retry: a replay answers with the first response.
    key = {"Idempotency-Key": uuid.uuid4().hex}
    created = await client.post("/orders", _order_body(fixture), key)
    made["order_id"] = created["data"]["id"]
    await client.get(f"/orders/{made['order_id']}", {"fields": ORDER_FIELDS})


async def _cancel_order(client: Client, fixture: Fixture, made: Made) -> None:
    if "order_id" in made:
        await client.post(f"/orders/{made['order_id']}/cancel", None)


PLACE_ORDER = Scenario(
    name="place-order",
    title="Place an order, then read it back",
    lesson="A write, then read-your-writes: the order is there on the very next read, "
    "in either style.",
    needs=ORDER_NEEDS,
    naive=_order_naive,
    tuned=_order_tuned,
    graphql=(
        Operation(
            document="""mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } errors { code field message } }
}""",
            variables={
                "input": {"items": [{"productId": Ref("order_product_id", True), "quantity": 1}]}
            },
            keep={"order_id": "placeOrder.order.id"},
        ),
        Operation(
            document="""query ReadOrder($id: ID!) {
  order(id: $id) {
    id status total createdAt items { quantity unitPrice product { name } }
  }
}""",
            variables={"id": Ref("order_id", as_id=True)},
        ),
    ),
    prepare=_order_product,
    cleanup=_cancel_order,
    signed_in=True,
    writes=True,
)


# -- add a review, then read the product's rating ------------------------------------------

_UNREVIEWED = """query CompareUnreviewed {
  me { id }
  products(first: 20, sort: REVIEW_COUNT) {
    edges { node { id reviewCount reviews(first: 20) { edges { node { author { id } } } } } }
  }
}"""


async def _unreviewed_product(client: Client, fixture: Fixture) -> None:
    data = await client.graphql(_UNREVIEWED, {})
    me = data["me"]["id"]
    for edge in data["products"]["edges"]:
        node = edge["node"]
        authors = {r["node"]["author"]["id"] for r in node["reviews"]["edges"]}
        if node["reviewCount"] <= 20 and me not in authors:
            fixture["review_product_id"] = int(node["id"])
            return
    raise LookupError("every candidate product already has a review by this account")


REVIEW = {"rating": 4, "title": "Measured by Compare", "body": "Deleted right after the run."}


async def _review_naive(client: Client, fixture: Fixture, made: Made) -> None:
    product_id = fixture["review_product_id"]
    created = await client.post(f"/products/{product_id}/reviews", REVIEW)
    made["review_id"] = created["data"]["id"]
    await client.get(f"/products/{product_id}")


async def _review_tuned(client: Client, fixture: Fixture, made: Made) -> None:
    product_id = fixture["review_product_id"]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    created = await client.post(f"/products/{product_id}/reviews", REVIEW, key)
    made["review_id"] = created["data"]["id"]
    await client.get(f"/products/{product_id}", {"fields": "id,rating_avg,review_count"})


async def _delete_review(client: Client, fixture: Fixture, made: Made) -> None:
    if "review_id" in made:
        await client.delete(f"/reviews/{made['review_id']}")


ADD_REVIEW = Scenario(
    name="add-review",
    title="Add a review, then read the product's rating",
    lesson="Cache invalidation: the write changes the product's rating, and the next "
    "read must show the new one, not a cached old one.",
    needs=needs(
        review="id rating", product="id rating_avg review_count", error="code field message"
    ),
    naive=_review_naive,
    tuned=_review_tuned,
    graphql=(
        Operation(
            document="""mutation AddReview($productId: ID!, $input: AddReviewInput!) {
  addReview(productId: $productId, input: $input) {
    review { id rating } errors { code field message }
  }
}""",
            variables={"productId": Ref("review_product_id", as_id=True), "input": REVIEW},
            keep={"review_id": "addReview.review.id"},
        ),
        Operation(
            document="""query ProductRating($id: ID!) {
  product(id: $id) { id ratingAvg reviewCount }
}""",
            variables={"id": Ref("review_product_id", as_id=True)},
        ),
    ),
    prepare=_unreviewed_product,
    cleanup=_delete_review,
    signed_in=True,
    writes=True,
)

"""Orders in GraphQL: order, orders, placeOrder, cancelOrder, setOrderStatus, and the
Order and OrderItem types with their per-request loaders."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

from ariadne import EnumType, MutationType, ObjectType

from gateway.errors import InvalidParameter
from gateway.graphql.connections import connection
from gateway.graphql.context import Info
from gateway.graphql.loaders import DataLoader
from gateway.graphql.payloads import payload
from gateway.graphql.review import product_loader
from gateway.ids import parse_id
from gateway.reads.pagination import check_limit
from gateway.services import orders, products

order_query = ObjectType("Query")
order_mutation = MutationType()
order = ObjectType("Order")
order_item = ObjectType("OrderItem")
order_status_enum = EnumType("OrderStatus", {status.upper(): status for status in orders.STATUSES})


def _items_loader(info: Info) -> DataLoader[int, list[orders.Item]]:
    """Order lines by order id, batched per request.

    Keys are ids of orders this caller was already allowed to see, so the memo holds
    nothing another order's owner should not see.
    """
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[list[orders.Item]]:
        return await orders.items_for_orders(resources, ids)

    return info.context.loader("order_items", batch)


@order_query.field("order")
async def resolve_order(_: None, info: Info, id: str) -> orders.Order:
    context = info.context
    return await orders.get_order(
        context.resources, context.principal, parse_id(id), with_items=False
    )


@order_query.field("orders")
async def resolve_orders(
    _: None, info: Info, first: int, after: str | None = None, status: str | None = None
) -> dict[str, Any]:
    context = info.context
    page = await orders.list_orders(
        context.resources,
        context.principal,
        limit=check_limit(first, parameter="first"),
        after=after,
        status=status,
        with_items=False,
    )
    return connection(
        page, lambda: orders.count_orders(context.resources, context.principal, status)
    )


@order_mutation.field("placeOrder")
async def resolve_place_order(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    context = info.context
    return await payload(
        "order", orders.place_order(context.resources, context.principal, _with_int_ids(input))
    )


@order_mutation.field("cancelOrder")
async def resolve_cancel_order(_: None, info: Info, id: str) -> dict[str, Any]:
    async def cancel() -> orders.Order:
        context = info.context
        return await orders.cancel_order(context.resources, context.principal, parse_id(id))

    return await payload("order", cancel())


@order_mutation.field("setOrderStatus")
async def resolve_set_order_status(_: None, info: Info, id: str, status: str) -> dict[str, Any]:
    async def move() -> orders.Order:
        context = info.context
        return await orders.set_order_status(
            context.resources, context.principal, parse_id(id), {"status": status}
        )

    return await payload("order", move())


@order.field("items")
def resolve_items(obj: orders.Order, info: Info) -> Any:
    # Writes and REST-shaped reads already carry their lines; lists load them in one batch.
    if "items" in obj:
        return obj["items"]
    return _items_loader(info).load(obj["id"])


@order_item.field("product")
def resolve_item_product(obj: orders.Item, info: Info) -> Awaitable[products.Product | None]:
    return product_loader(info).load(obj["product_id"])


def _with_int_ids(data: dict[str, Any]) -> dict[str, Any]:
    """GraphQL IDs arrive as strings; the service's model wants the integers behind them.

    An ID that is not a valid id stays a string, so validation reports it at its own
    `items.N.product_id` like any other bad field.
    """
    lines = data.get("items")
    if not isinstance(lines, list):
        return data
    return {**data, "items": [_line_with_int_id(line) for line in lines]}


def _line_with_int_id(line: Any) -> Any:
    if not isinstance(line, dict) or "product_id" not in line:
        return line
    try:
        return {**line, "product_id": parse_id(line["product_id"])}
    except InvalidParameter:
        return line

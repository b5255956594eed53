"""REST operations on /api/v1/orders: every answer is per user, so no cache may store it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field
from starlette.responses import Response

from gateway.parameters import ListParameters, Names, Parameters
from gateway.responses import JSONResponse
from gateway.rest.lists import item_response, list_response
from gateway.rest.products import FIELDS_HELP, SORT_HELP
from gateway.rest.schemas import OrderOut
from gateway.rest.spec import Answer, Call, NoQuery, Operation
from gateway.services import orders

OrderField = Literal["id", "customer", "status", "total", "created_at", "updated_at", "items"]


class OrderQuery(Parameters):
    """One order's shape."""

    fields: Names[OrderField] | None = Field(default=None, description=FIELDS_HELP)


class OrderListQuery(ListParameters):
    """/orders query."""

    sort: orders.Sort = Field(default=orders.DEFAULT_SORT, description=SORT_HELP)
    fields: Names[OrderField] | None = Field(default=None, description=FIELDS_HELP)
    status: orders.Status | None = Field(default=None, description="Only orders in this status.")


async def list_orders(call: Call[OrderListQuery]) -> Response:
    query = call.query
    page = await orders.list_orders(
        call.resources,
        call.principal,
        limit=query.limit,
        after=query.after,
        sort=query.sort,
        status=query.status,
        count=query.count is not None,
        with_items=_wants_items(query.fields),
    )
    return list_response(call.request, page, query.limit, fields=query.fields)


async def get_order(call: Call[OrderQuery]) -> Response:
    fields = call.query.fields
    order = await orders.get_order(
        call.resources, call.principal, call.path_id(), with_items=_wants_items(fields)
    )
    return item_response(order, fields=fields)


async def place_order(call: Call[NoQuery]) -> Response:
    order = await orders.place_order(call.resources, call.principal, await call.body())
    headers = {"Location": f"/api/v1/orders/{order['id']}"}
    return JSONResponse({"data": order}, status_code=201, headers=headers)


async def cancel_order(call: Call[NoQuery]) -> Response:
    order = await orders.cancel_order(call.resources, call.principal, call.path_id())
    return JSONResponse({"data": order})


async def set_order_status(call: Call[NoQuery]) -> Response:
    order = await orders.set_order_status(
        call.resources, call.principal, call.path_id(), await call.body()
    )
    return JSONResponse({"data": order})


def _wants_items(fields: Sequence[str] | None) -> bool:
    # Lines cost a query; a client that did not ask for them does not pay for it.
    return fields is None or "items" in fields


_TAG = "orders"
_ORDER = Answer(schema=OrderOut, description="The order.")

OPERATIONS: list[Operation[Any]] = [
    Operation(
        "GET",
        "/orders",
        list_orders,
        "List your orders (every order for an admin)",
        _TAG,
        OrderListQuery,
        Answer(schema=OrderOut, many=True, sparse=True, description="A page of orders."),
        description="Newest first unless `sort` says otherwise.",
        access="user",
        per_user=True,
    ),
    Operation(
        "POST",
        "/orders",
        place_order,
        "Place an order",
        _TAG,
        NoQuery,
        Answer(201, OrderOut, "Created.", headers=("Location",)),
        description="All lines at their current prices in one transaction, or none: 409 names "
        "the product that does not exist or lacks stock.",
        body=orders.PlaceOrderInput,
        access="user",
        errors=(409,),
        per_user=True,
    ),
    Operation(
        "GET",
        "/orders/{id}",
        get_order,
        "Read an order",
        _TAG,
        OrderQuery,
        Answer(schema=OrderOut, sparse=True, description="The order."),
        description="Your own, or any order for an admin; another customer's answers 404.",
        access="user",
        errors=(404,),
        per_user=True,
    ),
    Operation(
        "PATCH",
        "/orders/{id}",
        set_order_status,
        "Move an order to another status",
        _TAG,
        NoQuery,
        _ORDER,
        description="pending → paid or cancelled, paid → shipped or cancelled (409 otherwise); "
        "cancelling puts the stock back.",
        body=orders.StatusChange,
        access="admin",
        errors=(404, 409),
        per_user=True,
    ),
    Operation(
        "POST",
        "/orders/{id}/cancel",
        cancel_order,
        "Cancel your pending order",
        _TAG,
        NoQuery,
        _ORDER,
        description="Its stock goes back. Only a pending order of your own (409 otherwise).",
        access="user",
        errors=(404, 409),
        per_user=True,
    ),
]

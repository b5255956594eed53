"""REST operations on /api/v1/orders: every answer is per user, so no cache may store it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from starlette.responses import Response

from gateway.errors import NotFound
from gateway.http.responses import JSONResponse
from gateway.reads.model import ORDER
from gateway.rest import reading, reference
from gateway.rest.products import FIELDS_HELP, SORT_HELP
from gateway.rest.schemas import OrderOut
from gateway.rest.shaping import include_type
from gateway.rest.spec import Answer, Call, NoQuery, Operation
from gateway.services import orders
from gateway.services.parameters import ListParameters, Names, Parameters

OrderField = Literal["id", "customer", "status", "total", "created_at", "updated_at", "items"]


ORDER_INCLUDE_HELP = (
    "Embed relations (comma-separated), nested with dots: `items.product` (each line's "
    "product), `customer` and `items` (always there unless `fields` leaves them out)."
)
if TYPE_CHECKING:
    OrderInclude = str
else:  # the include paths the read model allows, as a Literal (OpenAPI's enum)
    OrderInclude = include_type(ORDER)


class OrderQuery(Parameters):
    """One order's shape."""

    fields: Names[OrderField] | None = Field(default=None, description=FIELDS_HELP)
    include: Names[OrderInclude] | None = Field(default=None, description=ORDER_INCLUDE_HELP)


class OrderListQuery(ListParameters):
    """/orders query."""

    sort: orders.Sort = Field(default=orders.DEFAULT_SORT, description=SORT_HELP)
    fields: Names[OrderField] | None = Field(default=None, description=FIELDS_HELP)
    include: Names[OrderInclude] | None = Field(default=None, description=ORDER_INCLUDE_HELP)
    status: orders.Status | None = Field(default=None, description="Only orders in this status.")


async def list_orders(call: Call[OrderListQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.list_orders(call)
    status = call.query.status
    filters = [] if status is None else [("status", status)]
    return await reading.read_page(call, "Order", filters=filters)


async def get_order(call: Call[OrderQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.get_order(call)
    order_id = call.path_id()
    return await reading.read_one(
        call, "Order", "{t}.id = {v}", order_id, NotFound(f"Order {order_id} does not exist.")
    )


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
        reads="Order",
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
        reads="Order",
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

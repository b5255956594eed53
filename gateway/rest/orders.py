"""REST handlers for /api/v1/orders: every response is per user, so none is stored by caches."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.bodies import json_body
from gateway.middleware.authentication import principal_of
from gateway.responses import JSONResponse
from gateway.rest import params
from gateway.rest.lists import list_response
from gateway.services import orders
from gateway.types import Resources

_NO_STORE = {"Cache-Control": "private, no-store"}


async def collection(request: Request) -> Response:
    """/orders: GET lists the caller's orders (all for an admin), POST places one."""
    if request.method == "POST":
        return await place_order(request)
    return await list_orders(request)


async def item(request: Request) -> Response:
    """/orders/{id}: GET reads (owner or admin), PATCH moves its status (admin)."""
    if request.method == "PATCH":
        return await set_order_status(request)
    return await get_order(request)


async def list_orders(request: Request) -> Response:
    params.only(request, {"limit", "after", "count", "status"})
    resources: Resources = request.state.resources
    limit = params.limit(request)
    page = await orders.list_orders(
        resources,
        principal_of(request.scope),
        limit=limit,
        after=params.cursor(request),
        status=request.query_params.get("status"),
        count=params.count(request),
    )
    response = list_response(request, page, limit)
    response.headers.update(_NO_STORE)
    return response


async def get_order(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    order = await orders.get_order(resources, principal_of(request.scope), params.path_id(request))
    return JSONResponse({"data": order}, headers=_NO_STORE)


async def place_order(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    order = await orders.place_order(
        resources, principal_of(request.scope), await json_body(request)
    )
    headers = {**_NO_STORE, "Location": f"/api/v1/orders/{order['id']}"}
    return JSONResponse({"data": order}, status_code=201, headers=headers)


async def cancel_order(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    order = await orders.cancel_order(
        resources, principal_of(request.scope), params.path_id(request)
    )
    return JSONResponse({"data": order}, headers=_NO_STORE)


async def set_order_status(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    order_id = params.path_id(request)
    order = await orders.set_order_status(
        resources, principal_of(request.scope), order_id, await json_body(request)
    )
    return JSONResponse({"data": order}, headers=_NO_STORE)

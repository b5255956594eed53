"""REST handlers for /api/v1/products: parse and validate, call the service, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.bodies import json_body
from gateway.middleware.authentication import principal_of
from gateway.responses import JSONResponse
from gateway.rest import params
from gateway.rest.lists import list_response
from gateway.services import products
from gateway.types import Resources


async def collection(request: Request) -> Response:
    """/products: GET lists, POST creates (admin)."""
    if request.method == "POST":
        return await create_product(request)
    return await list_products(request)


async def item(request: Request) -> Response:
    """/products/{id}: GET reads, PATCH changes, DELETE deletes (admin for both)."""
    if request.method == "PATCH":
        return await update_product(request)
    if request.method == "DELETE":
        return await delete_product(request)
    return await get_product(request)


async def list_products(request: Request) -> Response:
    params.only(request, {"limit", "after", "count"})
    resources: Resources = request.state.resources
    limit = params.limit(request)
    page = await products.list_products(
        resources, limit=limit, after=params.cursor(request), count=params.count(request)
    )
    return list_response(request, page, limit)


async def get_product(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    product = await products.get_product(resources, params.path_id(request))
    return JSONResponse({"data": product})


async def create_product(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    product = await products.create_product(
        resources, principal_of(request.scope), await json_body(request)
    )
    location = {"Location": f"/api/v1/products/{product['id']}"}
    return JSONResponse({"data": product}, status_code=201, headers=location)


async def update_product(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    product_id = params.path_id(request)
    product = await products.update_product(
        resources, principal_of(request.scope), product_id, await json_body(request)
    )
    return JSONResponse({"data": product})


async def delete_product(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    await products.delete_product(resources, principal_of(request.scope), params.path_id(request))
    return Response(status_code=204)

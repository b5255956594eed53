"""REST handlers for /api/v1/products: parse and validate, call the service, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.responses import JSONResponse
from gateway.rest import params
from gateway.rest.lists import list_response
from gateway.services import products
from gateway.types import Resources


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

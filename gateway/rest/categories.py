"""REST handlers for /api/v1/categories: the tree, one category by id or slug, its products."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.bodies import json_body
from gateway.middleware.authentication import principal_of
from gateway.responses import JSONResponse
from gateway.rest import params
from gateway.rest.lists import list_response
from gateway.services import categories
from gateway.types import Resources


async def collection(request: Request) -> Response:
    """/categories: GET lists in id order, POST creates (admin)."""
    if request.method == "POST":
        return await create_category(request)
    return await list_categories(request)


async def item(request: Request) -> Response:
    """/categories/{id}: GET reads (id or slug), PATCH changes, DELETE deletes (admin)."""
    if request.method == "PATCH":
        return await update_category(request)
    if request.method == "DELETE":
        return await delete_category(request)
    return await get_category(request)


async def list_categories(request: Request) -> Response:
    params.only(request, {"limit", "after", "count", "parent_id"})
    resources: Resources = request.state.resources
    limit = params.limit(request)
    page = await categories.list_categories(
        resources,
        limit=limit,
        after=params.cursor(request),
        parent_id=params.query_id(request, "parent_id"),
        count=params.count(request),
    )
    return list_response(request, page, limit)


async def get_category(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    category = await categories.get_category(resources, _id_or_slug(request))
    return JSONResponse({"data": category})


async def category_products(request: Request) -> Response:
    params.only(request, {"limit", "after", "count"})
    resources: Resources = request.state.resources
    limit = params.limit(request)
    page = await categories.category_products(
        resources,
        _id_or_slug(request),
        limit=limit,
        after=params.cursor(request),
        count=params.count(request),
    )
    return list_response(request, page, limit)


async def create_category(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    category = await categories.create_category(
        resources, principal_of(request.scope), await json_body(request)
    )
    location = {"Location": f"/api/v1/categories/{category['id']}"}
    return JSONResponse({"data": category}, status_code=201, headers=location)


async def update_category(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    category_id = params.path_id(request)
    category = await categories.update_category(
        resources, principal_of(request.scope), category_id, await json_body(request)
    )
    return JSONResponse({"data": category})


async def delete_category(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    await categories.delete_category(
        resources, principal_of(request.scope), params.path_id(request)
    )
    return Response(status_code=204)


def _id_or_slug(request: Request) -> int | str:
    """Digits name an id (checked like any path id); anything else is a slug for the service."""
    text: str = request.path_params["id"]
    if text.isascii() and text.isdigit():
        return params.path_id(request)
    return text

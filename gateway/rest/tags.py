"""REST handlers for /api/v1/tags: the list, and the admin's create and delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.bodies import json_body
from gateway.middleware.authentication import principal_of
from gateway.responses import JSONResponse
from gateway.rest import params
from gateway.rest.lists import list_response
from gateway.services import tags
from gateway.types import Resources


async def collection(request: Request) -> Response:
    """/tags: GET lists in name order, POST creates (admin)."""
    if request.method == "POST":
        return await create_tag(request)
    return await list_tags(request)


async def list_tags(request: Request) -> Response:
    params.only(request, {"limit", "after", "count"})
    resources: Resources = request.state.resources
    limit = params.limit(request)
    page = await tags.list_tags(
        resources, limit=limit, after=params.cursor(request), count=params.count(request)
    )
    return list_response(request, page, limit)


async def item(request: Request) -> Response:
    """/tags/{id}: GET reads, DELETE deletes (admin)."""
    if request.method == "DELETE":
        return await delete_tag(request)
    return await get_tag(request)


async def get_tag(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    return JSONResponse({"data": await tags.get_tag(resources, params.path_id(request))})


async def create_tag(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    tag = await tags.create_tag(resources, principal_of(request.scope), await json_body(request))
    location = {"Location": f"/api/v1/tags/{tag['id']}"}
    return JSONResponse({"data": tag}, status_code=201, headers=location)


async def delete_tag(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    await tags.delete_tag(resources, principal_of(request.scope), params.path_id(request))
    return Response(status_code=204)

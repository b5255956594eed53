"""REST handlers for /api/v1/products/{id}/reviews and /api/v1/reviews/{id}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.bodies import json_body
from gateway.middleware.authentication import principal_of
from gateway.responses import JSONResponse
from gateway.rest import params
from gateway.rest.lists import list_response
from gateway.services import reviews
from gateway.types import Resources


async def product_reviews(request: Request) -> Response:
    """/products/{id}/reviews: GET lists (anyone), POST reviews the product (signed in)."""
    if request.method == "POST":
        return await add_review(request)
    return await list_reviews(request)


async def item(request: Request) -> Response:
    """/reviews/{id}: GET reads (anyone), PATCH changes (author), DELETE (author or admin)."""
    if request.method == "PATCH":
        return await update_review(request)
    if request.method == "DELETE":
        return await delete_review(request)
    return await get_review(request)


async def list_reviews(request: Request) -> Response:
    params.only(request, {"limit", "after", "count"})
    resources: Resources = request.state.resources
    limit = params.limit(request)
    page = await reviews.list_reviews(
        resources,
        params.path_id(request),
        limit=limit,
        after=params.cursor(request),
        count=params.count(request),
    )
    return list_response(request, page, limit)


async def add_review(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    product_id = params.path_id(request)
    review = await reviews.add_review(
        resources, principal_of(request.scope), product_id, await json_body(request)
    )
    headers = {"Location": f"/api/v1/reviews/{review['id']}"}
    return JSONResponse({"data": review}, status_code=201, headers=headers)


async def get_review(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    review = await reviews.get_review(resources, params.path_id(request))
    return JSONResponse({"data": review})


async def update_review(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    review_id = params.path_id(request)
    review = await reviews.update_review(
        resources, principal_of(request.scope), review_id, await json_body(request)
    )
    return JSONResponse({"data": review})


async def delete_review(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    await reviews.delete_review(resources, principal_of(request.scope), params.path_id(request))
    return Response(status_code=204)

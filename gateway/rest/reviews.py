"""REST operations on /api/v1/products/{id}/reviews and /api/v1/reviews/{id}."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.responses import Response

from gateway.parameters import ListParameters, Names, Parameters
from gateway.responses import JSONResponse
from gateway.rest.lists import item_response, list_response
from gateway.rest.products import FIELDS_HELP, SORT_HELP
from gateway.rest.schemas import ReviewOut
from gateway.rest.spec import Answer, Call, NoQuery, Operation
from gateway.services import reviews

ReviewField = Literal[
    "id", "product_id", "author", "rating", "title", "body", "created_at", "updated_at"
]


class ReviewQuery(Parameters):
    """One review's shape."""

    fields: Names[ReviewField] | None = Field(default=None, description=FIELDS_HELP)


class ReviewListQuery(ListParameters):
    """/products/{id}/reviews query."""

    sort: reviews.Sort = Field(default=reviews.DEFAULT_SORT, description=SORT_HELP)
    fields: Names[ReviewField] | None = Field(default=None, description=FIELDS_HELP)


async def list_reviews(call: Call[ReviewListQuery]) -> Response:
    query = call.query
    page = await reviews.list_reviews(
        call.resources,
        call.path_id(),
        limit=query.limit,
        after=query.after,
        sort=query.sort,
        count=query.count is not None,
    )
    return list_response(call.request, page, query.limit, fields=query.fields)


async def add_review(call: Call[NoQuery]) -> Response:
    product_id = call.path_id()
    review = await reviews.add_review(call.resources, call.principal, product_id, await call.body())
    headers = {"Location": f"/api/v1/reviews/{review['id']}"}
    return JSONResponse({"data": review}, status_code=201, headers=headers)


async def get_review(call: Call[ReviewQuery]) -> Response:
    review = await reviews.get_review(call.resources, call.path_id())
    return item_response(review, fields=call.query.fields)


async def update_review(call: Call[NoQuery]) -> Response:
    review = await reviews.update_review(
        call.resources, call.principal, call.path_id(), await call.body()
    )
    return JSONResponse({"data": review})


async def delete_review(call: Call[NoQuery]) -> Response:
    await reviews.delete_review(call.resources, call.principal, call.path_id())
    return Response(status_code=204)


_ITEM = "/reviews/{id}"
_TAG = "reviews"
_REVIEW = Answer(schema=ReviewOut, description="The review.")

OPERATIONS: list[Operation[Any]] = [
    Operation(
        "GET",
        "/products/{id}/reviews",
        list_reviews,
        "List a product's reviews",
        _TAG,
        ReviewListQuery,
        Answer(schema=ReviewOut, many=True, sparse=True, description="A page of reviews."),
        description="Newest first unless `sort` says otherwise.",
        errors=(404,),
    ),
    Operation(
        "POST",
        "/products/{id}/reviews",
        add_review,
        "Review a product",
        _TAG,
        NoQuery,
        Answer(201, ReviewOut, "Created.", headers=("Location",)),
        description="One review per customer and product (409 for a second).",
        body=reviews.AddReviewInput,
        access="user",
        errors=(404, 409),
    ),
    Operation(
        "GET",
        _ITEM,
        get_review,
        "Read a review",
        _TAG,
        ReviewQuery,
        Answer(schema=ReviewOut, sparse=True, description="The review."),
        errors=(404,),
    ),
    Operation(
        "PATCH",
        _ITEM,
        update_review,
        "Change your own review",
        _TAG,
        NoQuery,
        _REVIEW,
        description="Someone else's review answers 404, exactly like a missing one.",
        body=reviews.UpdateReviewInput,
        access="user",
        errors=(404,),
    ),
    Operation(
        "DELETE",
        _ITEM,
        delete_review,
        "Delete a review",
        _TAG,
        NoQuery,
        Answer(204, description="Deleted."),
        description="Your own, or any review for an admin (moderation).",
        access="user",
        errors=(404,),
    ),
]

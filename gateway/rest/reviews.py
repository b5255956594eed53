"""REST operations on /api/v1/products/{id}/reviews and /api/v1/reviews/{id}."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from starlette.responses import Response

from gateway.errors import NotFound
from gateway.http.responses import JSONResponse
from gateway.reads.model import REVIEW
from gateway.rest import reading, reference
from gateway.rest.products import FIELDS_HELP, SORT_HELP
from gateway.rest.schemas import ReviewOut
from gateway.rest.shaping import include_type
from gateway.rest.spec import Answer, Call, NoQuery, Operation
from gateway.services import reviews
from gateway.services.parameters import ListParameters, Names, Parameters

ReviewField = Literal[
    "id", "product_id", "author", "rating", "title", "body", "created_at", "updated_at"
]


REVIEW_INCLUDE_HELP = (
    "Embed relations (comma-separated), nested with dots: `product`, `author` (always "
    "there unless `fields` leaves it out)."
)
if TYPE_CHECKING:
    ReviewInclude = str
else:  # the include paths the read model allows, as a Literal (OpenAPI's enum)
    ReviewInclude = include_type(REVIEW)


class ReviewQuery(Parameters):
    """One review's shape."""

    fields: Names[ReviewField] | None = Field(default=None, description=FIELDS_HELP)
    include: Names[ReviewInclude] | None = Field(default=None, description=REVIEW_INCLUDE_HELP)


class ReviewListQuery(ListParameters):
    """/products/{id}/reviews query."""

    sort: reviews.Sort = Field(default=reviews.DEFAULT_SORT, description=SORT_HELP)
    fields: Names[ReviewField] | None = Field(default=None, description=FIELDS_HELP)
    include: Names[ReviewInclude] | None = Field(default=None, description=REVIEW_INCLUDE_HELP)


async def list_reviews(call: Call[ReviewListQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.list_reviews(call)
    product_id = call.path_id()
    return await reading.read_page(
        call,
        "Review",
        parent=("Product", "{t}.id = {v}", product_id, "reviews"),
        absent=NotFound(f"Product {product_id} does not exist."),
    )


async def add_review(call: Call[NoQuery]) -> Response:
    product_id = call.path_id()
    review = await reviews.add_review(call.resources, call.principal, product_id, await call.body())
    headers = {"Location": f"/api/v1/reviews/{review['id']}"}
    return JSONResponse({"data": review}, status_code=201, headers=headers)


async def get_review(call: Call[ReviewQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.get_review(call)
    review_id = call.path_id()
    return await reading.read_one(
        call, "Review", "{t}.id = {v}", review_id, NotFound(f"Review {review_id} does not exist.")
    )


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
        reads="Review",
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
        reads="Review",
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

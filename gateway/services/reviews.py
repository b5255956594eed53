"""Reviews: one rating per customer and product; anyone reads them, only the author edits.

Reads go through the service cache (`caching.entity`, `caching.page`). The product's
`review_count` and `rating_avg` follow every write at once because database triggers keep
them, in the write's own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from gateway.db import ConstraintViolation, Row
from gateway.errors import (
    Conflict,
    FieldError,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from gateway.principal import Principal, require_user
from gateway.reads import lists
from gateway.reads.ordering import SortOrder, choose, orders_of, page_from
from gateway.reads.pagination import Page, check_limit
from gateway.services import caching, products
from gateway.services.accounts import BAD_CREDENTIALS
from gateway.services.resources import Resources
from gateway.services.validation import Input, Patch, Text, validate

Sort = Literal["created_at", "-created_at", "rating", "-rating"]
"""The allow-listed sort orders; `-` for descending, id breaks ties."""
ORDERS: dict[str, SortOrder] = orders_of("Review")
DEFAULT_SORT: Sort = "-created_at"

STATEMENTS = (
    "reviews.by_ids",
    "reviews.product_review_count",
    "reviews.insert",
    "reviews.update_own",
    "reviews.delete",
    "reviews.products_by_ids",
)

Review = dict[str, Any]

ALREADY_REVIEWED = "You have already reviewed this product."

Rating = Annotated[int, Field(ge=1, le=5)]
Title = Annotated[Text, Field(min_length=1, max_length=200)]
Body = Annotated[Text, Field(max_length=10_000)]


class AddReviewInput(Input):
    """A new review."""

    rating: Rating
    title: Title
    body: Body = ""


class UpdateReviewInput(Patch):
    """Review fields to change; omitted fields stay as they are."""

    rating: Rating | None = None
    title: Title | None = None
    body: Body | None = None


def from_row(row: Row) -> Review:
    """A review as both APIs show it, with the author's public profile (never an email)."""
    return {
        "id": row["id"],
        "product_id": row["product_id"],
        "author": {"id": row["author_id"], "display_name": row["author_display_name"]},
        "rating": row["rating"],
        "title": row["title"],
        "body": row["body"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def check_position(after: str | None, sort: str = DEFAULT_SORT) -> None:
    """Refuse a cursor that is not one of `sort`'s with InvalidParameter (before batching)."""
    choose(ORDERS, sort).position(after)


async def get_review(resources: Resources, review_id: int) -> Review:
    """One review; NotFound when there is none."""

    async def load() -> Review:
        (found,) = await reviews_by_ids(resources, [review_id])
        if found is None:
            raise NotFound(f"Review {review_id} does not exist.")
        return found

    review: Review = await caching.entity(resources, "review", [review_id], caching.REVIEWS, load)
    return review


async def list_reviews(
    resources: Resources,
    product_id: int,
    *,
    limit: int,
    after: str | None = None,
    sort: str = DEFAULT_SORT,
    count: bool = False,
) -> Page[Review]:
    """One page of a product's reviews, newest first unless `sort` says otherwise.

    Raises InvalidParameter (limit, sort, cursor) or NotFound when the product does not
    exist. The total is the product's own review count, so `count` costs no extra query.
    """
    check_limit(limit)
    order = choose(ORDERS, sort)
    order.position(after)

    async def load() -> Page[Review]:
        total = await resources.db.fetch_val(
            "reviews.product_review_count", {"product_id": product_id}
        )
        if total is None:
            raise NotFound(f"Product {product_id} does not exist.")
        (page,) = await pages_for_products(
            resources, [product_id], limit=limit, after=after, sort=sort
        )
        if not count:
            return page
        return Page(page.items, page.cursors, page.next_cursor, total=int(total))

    query = [product_id, limit, after, sort, count]
    return await caching.page(resources, "reviews", query, caching.REVIEWS, load)


async def pages_for_products(
    resources: Resources,
    product_ids: Sequence[int],
    *,
    limit: int,
    after: str | None,
    sort: str = DEFAULT_SORT,
) -> list[Page[Review]]:
    """A page of reviews for each product in `product_ids`, in order, with one query.

    Raises InvalidParameter for an unknown sort or a cursor of another one.
    """
    order = choose(ORDERS, sort)
    position = order.position(after)
    shape = lists.Rows(
        "Review",
        order.name,
        after=bool(position),
        batch="Product.reviews",
        pulls=("author.display_name",),
    )
    found = await lists.fetch(resources.db, shape, [sorted(set(product_ids)), *position, limit + 1])
    by_product: defaultdict[int, list[Row]] = defaultdict(list)
    for row in found:
        by_product[row["parent_id"]].append(row)
    return [page_from(by_product[i], limit, order, from_row) for i in product_ids]


async def add_review(
    resources: Resources, principal: Principal, product_id: int, data: Any
) -> Review:
    """The caller's review of a product.

    Raises Unauthenticated (anonymous), ValidationFailed (bad or read-only fields),
    NotFound (no such product) or Conflict (the caller already reviewed it).
    """
    author_id = require_user(principal)
    new = validate(AddReviewInput, data)
    try:
        row = await resources.db.fetch_one(
            "reviews.insert",
            {
                "product_id": product_id,
                "author_id": author_id,
                "rating": new.rating,
                "title": new.title,
                "body": new.body,
            },
        )
    except ConstraintViolation as exc:
        if exc.kind == "unique":
            raise Conflict(ALREADY_REVIEWED) from None
        if exc.kind == "foreign_key" and exc.constraint == "reviews_product_id_fkey":
            raise NotFound(f"Product {product_id} does not exist.") from None
        if exc.kind == "foreign_key":
            # A valid token for an account deleted since: like any invalid credential.
            raise Unauthenticated(BAD_CREDENTIALS) from None
        raise
    assert row is not None
    _touched(row["id"], product_id)
    return from_row(row)


def _touched(review_id: int, product_id: int) -> None:
    """A review changed: its own answers, its product's (rating, count, its review list),
    the lists of reviews, and the product lists sorted or filtered by rating."""
    caching.touched(
        "reviews",
        f"Review:{review_id}",
        f"Product:{product_id}",
        "list:Review",
        "list:Product@rating",
    )


async def update_review(
    resources: Resources, principal: Principal, review_id: int, data: Any
) -> Review:
    """Change some fields of the caller's own review; `updated_at` becomes now.

    Raises Unauthenticated, ValidationFailed (bad, null or read-only fields, or none at
    all) or NotFound (no such review, or someone else's: the two are indistinguishable).
    """
    author_id = require_user(principal)
    change = validate(UpdateReviewInput, data)
    _require_change(change)
    row = await resources.db.fetch_one(
        "reviews.update_own",
        {
            "id": review_id,
            "author_id": author_id,
            "rating": change.rating,
            "title": change.title,
            "body": change.body,
        },
    )
    if row is None:
        raise NotFound(f"Review {review_id} does not exist.")
    _touched(review_id, row["product_id"])
    return from_row(row)


async def delete_review(resources: Resources, principal: Principal, review_id: int) -> int:
    """Delete the caller's own review, or any review for an admin (moderation); its id.

    Raises Unauthenticated or NotFound (no such review, or someone else's for a customer).
    """
    user_id = require_user(principal)
    deleted = await resources.db.fetch_one(
        "reviews.delete", {"id": review_id, "user_id": user_id, "is_admin": principal.admin}
    )
    if deleted is None:
        raise NotFound(f"Review {review_id} does not exist.")
    _touched(review_id, deleted["product_id"])
    return int(deleted["id"])


async def reviews_by_ids(resources: Resources, ids: Sequence[int]) -> list[Review | None]:
    """The reviews for `ids`, in order, None where absent (one query for any number)."""
    rows = await resources.db.fetch_all("reviews.by_ids", {"ids": list(set(ids))})
    found = {row["id"]: from_row(row) for row in rows}
    return [found.get(i) for i in ids]


async def products_by_ids(
    resources: Resources, ids: Sequence[int]
) -> list[products.Product | None]:
    """The products for `ids`, in order, None where absent (Review.product, OrderItem.product)."""
    rows = await resources.db.fetch_all("reviews.products_by_ids", {"ids": list(set(ids))})
    found = {row["id"]: products.from_row(row) for row in rows}
    return [found.get(i) for i in ids]


def _require_change(change: UpdateReviewInput) -> None:
    if not change.model_fields_set:
        raise ValidationFailed(
            [FieldError("", "nothing to change")], "Nothing to change: give at least one field."
        )

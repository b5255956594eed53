"""Reviews in GraphQL: review, addReview, updateReview, deleteReview, the Review type,
Product.reviews, and the per-request product loader that Review and OrderItem share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Sequence
from typing import Any

from ariadne import MutationType, ObjectType

from gateway.graphql.connections import connection
from gateway.graphql.context import Info
from gateway.graphql.loaders import DataLoader
from gateway.graphql.payloads import payload
from gateway.ids import parse_id
from gateway.reads.pagination import Page, check_limit
from gateway.services import products, reviews

review_query = ObjectType("Query")
review_mutation = MutationType()
review = ObjectType("Review")
# Ariadne merges several bindables for one type: Product's own fields live in product.py.
product_reviews = ObjectType("Product")

_PageKey = tuple[int, int, str | None]
"""(product id, page size, cursor after which the page starts)."""


def product_loader(info: Info) -> DataLoader[int, products.Product | None]:
    """Products by id, batched per request (Review.product, OrderItem.product)."""
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[products.Product | None]:
        return await reviews.products_by_ids(resources, ids)

    return info.context.loader("review_order_product", batch)


def _review_pages(info: Info) -> DataLoader[_PageKey, Page[reviews.Review]]:
    """Review pages per product, batched per request: one query per distinct page shape."""
    resources = info.context.resources

    async def batch(keys: Sequence[_PageKey]) -> list[Page[reviews.Review]]:
        shapes: defaultdict[tuple[int, str | None], list[int]] = defaultdict(list)
        for product_id, limit, after in keys:
            shapes[(limit, after)].append(product_id)
        found: dict[_PageKey, Page[reviews.Review]] = {}
        for (limit, after), ids in shapes.items():
            pages = await reviews.pages_for_products(resources, ids, limit=limit, after=after)
            found.update({(i, limit, after): p for i, p in zip(ids, pages, strict=True)})
        return [found[key] for key in keys]

    return info.context.loader("product_reviews", batch)


@review_query.field("review")
async def resolve_review(_: None, info: Info, id: str) -> reviews.Review:
    return await reviews.get_review(info.context.resources, parse_id(id))


@review_mutation.field("addReview")
async def resolve_add_review(
    _: None, info: Info, product_id: str, input: dict[str, Any]
) -> dict[str, Any]:
    async def add() -> reviews.Review:
        context = info.context
        target = parse_id(product_id, "productId")
        return await reviews.add_review(context.resources, context.principal, target, input)

    return await payload("review", add())


@review_mutation.field("updateReview")
async def resolve_update_review(
    _: None, info: Info, id: str, input: dict[str, Any]
) -> dict[str, Any]:
    async def update() -> reviews.Review:
        context = info.context
        return await reviews.update_review(
            context.resources, context.principal, parse_id(id), input
        )

    return await payload("review", update())


@review_mutation.field("deleteReview")
async def resolve_delete_review(_: None, info: Info, id: str) -> dict[str, Any]:
    async def delete() -> int:
        context = info.context
        return await reviews.delete_review(context.resources, context.principal, parse_id(id))

    return await payload("deleted_id", delete())


@review.field("product")
def resolve_product(obj: reviews.Review, info: Info) -> Awaitable[products.Product | None]:
    return product_loader(info).load(obj["product_id"])


@product_reviews.field("reviews")
async def resolve_product_reviews(
    obj: products.Product, info: Info, first: int, after: str | None = None
) -> dict[str, Any]:
    limit = check_limit(first, parameter="first")
    # A bad cursor fails this field alone, not the batch it would have joined.
    reviews.check_position(after)
    page = await _review_pages(info).load((obj["id"], limit, after))
    review_count = int(obj["review_count"])

    async def total() -> int:
        # The product row carries its exact review count (kept by a trigger): no query.
        return review_count

    return connection(page, total)

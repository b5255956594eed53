"""Products: catalogue reads (and, later, writes) shared by REST and GraphQL."""

from __future__ import annotations

from typing import Any

from gateway.db import Row
from gateway.errors import InvalidParameter, NotFound
from gateway.pagination import Page, check_limit, decode_cursor, encode_cursor
from gateway.types import Resources

STATEMENTS = ("products.page_by_id", "products.by_id", "products.count_all")

Product = dict[str, Any]

_ID_SORT = "id"


def from_row(row: Row) -> Product:
    """A product as both APIs show it.

    Price is a JSON number: every numeric(12,2) value survives the trip through a double.
    """
    rating = row["rating_avg"]
    return {
        "id": row["id"],
        "sku": row["sku"],
        "name": row["name"],
        "description": row["description"],
        "price": float(row["price"]),
        "stock": row["stock"],
        "in_stock": row["stock"] > 0,
        "category_id": row["category_id"],
        "review_count": row["review_count"],
        "rating_avg": None if rating is None else float(rating),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


async def list_products(
    resources: Resources, *, limit: int, after: str | None = None, count: bool = False
) -> Page[Product]:
    """One page of products in id order.

    Raises InvalidParameter for a limit outside 1..100 or a malformed cursor.
    """
    check_limit(limit)
    after_id = 0
    if after is not None:
        (after_id,) = _cursor_ids(decode_cursor(after, _ID_SORT))
    rows = await resources.db.fetch_all(
        "products.page_by_id", {"after_id": after_id, "limit": limit + 1}
    )
    items = [from_row(row) for row in rows[:limit]]
    cursors = [encode_cursor(_ID_SORT, [item["id"]]) for item in items]
    next_cursor = cursors[-1] if len(rows) > limit else None
    total = await count_products(resources) if count else None
    return Page(items=items, cursors=cursors, next_cursor=next_cursor, total=total)


async def count_products(resources: Resources) -> int:
    """How many products there are (REST `count=exact`, GraphQL `totalCount`)."""
    return int(await resources.db.fetch_val("products.count_all"))


async def get_product(resources: Resources, product_id: int) -> Product:
    """One product with its category embedded; NotFound if there is none."""
    row = await resources.db.fetch_one("products.by_id", {"id": product_id})
    if row is None:
        raise NotFound(f"Product {product_id} does not exist.")
    product = from_row(row)
    product["category"] = {
        "id": row["category_id"],
        "slug": row["category_slug"],
        "name": row["category_name"],
        "parent_id": row["category_parent_id"],
        "created_at": row["category_created_at"],
    }
    return product


def _cursor_ids(values: list[Any]) -> list[int]:
    if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool):
        raise InvalidParameter("after", "not a valid cursor")
    return [values[0]]

"""Products: one product's reads and the admin's writes, shared by REST and GraphQL.

Lists of products live in `product_lists`. One product is read through the service cache
(`caching.entity`); a write retires the cached answers that depend on what it changed
(`gateway.services.caching`) and announces the product on the change events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from gateway.db import ConstraintViolation, Row
from gateway.errors import (
    Conflict,
    FieldError,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from gateway.ids import MAX_ID
from gateway.principal import Principal, require_admin
from gateway.services import caching, events
from gateway.services.resources import Resources
from gateway.services.validation import Input, Patch, Text, validate

STATEMENTS = (
    "products.by_id",
    "products.insert",
    "products.lock",
    "products.update",
    "products.version_of",
    "products.delete",
    "products.remove_tags",
    "products.add_tags",
)

Product = dict[str, Any]
Precondition = Callable[[Product], str | None]
"""Judges the product as it is (row locked): None when the write may go ahead, else why not."""
"""Whether a write may go ahead, judged on the product as it is (If-Match)."""

MAX_PRICE = Decimal("9999999999.99")
_MAX_INT4 = 2**31 - 1
_COLUMNS = ("sku", "name", "description", "price", "stock", "category_id")
# What a change to each column moves in lists of products (their filters and sorts read
# it: `reads` in gateway/reads/model.py); a list narrowed or sorted by nothing else stays.
_LIST_READS = {
    "name": ("name", "search"),
    "description": ("search",),
    "price": ("price",),
    "stock": ("stock",),
    "category_id": ("category",),
}


def _changed(product_id: int, columns: Iterable[str], tags: bool) -> None:
    """Declare a product change: its own answers, and the lists its columns move."""
    reads = {r for column in columns for r in _LIST_READS.get(column, ())}
    if tags:
        reads.add("tag")
    lists = (f"list:Product@{r}" for r in sorted(reads))
    caching.touched("products", f"Product:{product_id}", *lists)


def _money(value: object) -> Decimal:
    # A JSON or GraphQL number becomes the exact decimal it was written as (repr round-trips),
    # so 0.1 stays 0.1 and 19.999 is refused rather than rounded.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        raise ValueError(f"must be between 0 and {MAX_PRICE}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("must have at most two decimals")
    return amount


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": float(MAX_PRICE),
            "description": "At most two decimals.",
        }
    ),
]
Sku = Annotated[Text, Field(min_length=1, max_length=64)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Description = Annotated[Text, Field(max_length=10_000)]
Stock = Annotated[int, Field(ge=0, le=_MAX_INT4)]
RefId = Annotated[int, Field(ge=1, le=MAX_ID)]
TagIds = Annotated[list[RefId], Field(max_length=100)]


class CreateProductInput(Input):
    """A new product."""

    sku: Sku
    name: Name
    description: Description = ""
    price: Money
    stock: Stock = 0
    category_id: RefId
    tag_ids: TagIds = Field(default_factory=list)


class ReplaceProductInput(Input):
    """A product's whole new state (PUT): every field, tags included, is required."""

    sku: Sku
    name: Name
    description: Description
    price: Money
    stock: Stock
    category_id: RefId
    tag_ids: TagIds


class UpdateProductInput(Patch):
    """Product fields to change; omitted fields stay as they are, null is refused."""

    sku: Sku | None = None
    name: Name | None = None
    description: Description | None = None
    price: Money | None = None
    stock: Stock | None = None
    category_id: RefId | None = None
    tag_ids: TagIds | None = None


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


async def get_product(resources: Resources, product_id: int) -> Product:
    """One product with its category and tags embedded; NotFound if there is none.

    Read through the cache (`caching.CATALOGUE`).
    """

    async def load() -> Product:
        return await _load_product(resources, product_id)

    product: Product = await caching.entity(
        resources, "product", [product_id], caching.CATALOGUE, load
    )
    return product


async def _load_product(resources: Resources, product_id: int) -> Product:
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
    ids, names = row["tag_ids"] or [], row["tag_names"] or []
    product["tags"] = [{"id": i, "name": n} for i, n in zip(ids, names, strict=True)]
    return product


async def create_product(resources: Resources, principal: Principal, data: Any) -> Product:
    """Create a product with its tags (admin); returns it as `get_product` shows it.

    Raises Unauthenticated, Forbidden, ValidationFailed (bad fields, unknown category or
    tags) or Conflict (the SKU is taken).
    """
    require_admin(principal)
    new = validate(CreateProductInput, data)
    values = new.model_dump(include=set(_COLUMNS))
    try:
        async with resources.db.transaction():
            product_id = await resources.db.fetch_val("products.insert", values)
            await _attach_tags(resources, product_id, new.tag_ids)
            created = await get_product(resources, product_id)
    except ConstraintViolation as exc:
        raise _problem(exc) from None
    caching.touched("products", f"Product:{product_id}", "list:Product")
    return created


async def update_product(
    resources: Resources,
    principal: Principal,
    product_id: int,
    data: Any,
    *,
    expected_version: int | None = None,
    precondition: Precondition | None = None,
) -> Product:
    """Change the given fields of a product (admin), bump its version; `tag_ids` replaces the set.

    With `expected_version`, the change applies only if the product is still at that version,
    checked in the same UPDATE; with `precondition`, only if it holds for the product as it
    is, judged with the row locked. Raises Unauthenticated, Forbidden, ValidationFailed (bad
    or no fields, unknown category or tags), NotFound, PreconditionFailed (another version,
    or the precondition does not hold; nothing changes) or Conflict (the SKU is taken).
    Once committed, announces the change to subscribers (`events`).
    """
    require_admin(principal)
    change = validate(UpdateProductInput, data)
    if not change.model_fields_set:
        raise ValidationFailed(
            [FieldError("", "nothing to change: give at least one field")], "Nothing to change."
        )
    values = {name: getattr(change, name) for name in _COLUMNS}
    product = await _write(
        resources, product_id, values, change.tag_ids, expected_version, precondition
    )
    _changed(product_id, change.model_fields_set & set(_COLUMNS), change.tag_ids is not None)
    await events.publish(resources, "product", product_id)
    return product


async def replace_product(
    resources: Resources,
    principal: Principal,
    product_id: int,
    data: Any,
    *,
    precondition: Precondition | None = None,
) -> Product:
    """Replace every field of a product, tags included (admin), and bump its version.

    Raises what `update_product` raises; every field is required. Once committed,
    announces the change to subscribers (`events`).
    """
    require_admin(principal)
    new = validate(ReplaceProductInput, data)
    values = new.model_dump(include=set(_COLUMNS))
    product = await _write(resources, product_id, values, new.tag_ids, None, precondition)
    _changed(product_id, _COLUMNS, tags=True)
    await events.publish(resources, "product", product_id)
    return product


async def _write(
    resources: Resources,
    product_id: int,
    values: dict[str, Any],
    tag_ids: Sequence[int] | None,
    expected_version: int | None,
    precondition: Precondition | None,
) -> Product:
    """Apply `values` (None keeps a column) and `tag_ids` (None keeps the set) at once."""
    # No product is at a version outside int4, so such a value must fail as stale, not crash.
    version = expected_version
    if version is not None and not 1 <= version <= _MAX_INT4:
        version = 0
    try:
        async with resources.db.transaction():
            if precondition is not None:
                await _check(resources, product_id, precondition)
            updated = await resources.db.fetch_val(
                "products.update", {"id": product_id, "expected_version": version, **values}
            )
            if updated is None:
                current = await resources.db.fetch_val("products.version_of", {"id": product_id})
                if current is None:
                    raise NotFound(f"Product {product_id} does not exist.")
                raise PreconditionFailed(
                    f"Product {product_id} is at version {current}, not {expected_version}."
                )
            if tag_ids is not None:
                await resources.db.execute("products.remove_tags", {"product_id": product_id})
                await _attach_tags(resources, product_id, tag_ids)
            return await get_product(resources, product_id)
    except ConstraintViolation as exc:
        raise _problem(exc) from None


async def _check(resources: Resources, product_id: int, precondition: Precondition) -> None:
    """Lock the product's row, then judge `precondition` on it: no write slips in between."""
    if await resources.db.fetch_val("products.lock", {"id": product_id}) is None:
        raise NotFound(f"Product {product_id} does not exist.")
    refusal = precondition(await get_product(resources, product_id))
    if refusal is not None:
        raise PreconditionFailed(f"Product {product_id}: {refusal}")


async def delete_product(
    resources: Resources,
    principal: Principal,
    product_id: int,
    *,
    precondition: Precondition | None = None,
) -> int:
    """Delete a product (admin); its reviews and tag links go with it. Returns its id.

    With `precondition`, only if it holds for the product as it is, judged with the row
    locked. Raises Unauthenticated, Forbidden, NotFound, PreconditionFailed (nothing is
    deleted), or Conflict while order lines refer to it. Announces the deletion to
    subscribers (`events`).
    """
    require_admin(principal)
    try:
        async with resources.db.transaction():
            if precondition is not None:
                await _check(resources, product_id, precondition)
            deleted = await resources.db.fetch_val("products.delete", {"id": product_id})
    except ConstraintViolation as exc:
        raise _problem(exc) from None
    if deleted is None:
        raise NotFound(f"Product {product_id} does not exist.")
    # Its reviews went with it (a cascade): every review list, and each review's own answer.
    caching.touched("products", f"Product:{product_id}", "list:Product", "Review:*", "list:Review")
    await events.publish(resources, "product", product_id, deleted=True)
    return int(deleted)


async def _attach_tags(resources: Resources, product_id: int, tag_ids: Sequence[int]) -> None:
    wanted = sorted(set(tag_ids))
    if not wanted:
        return
    rows = await resources.db.fetch_all(
        "products.add_tags", {"product_id": product_id, "tag_ids": wanted}
    )
    missing = sorted(set(wanted) - {row["tag_id"] for row in rows})
    if missing:
        # Raised inside the transaction, so the product write is rolled back with it.
        listed = ", ".join(str(i) for i in missing)
        raise ValidationFailed([FieldError("tag_ids", f"no tag has id {listed}")])


def _problem(exc: ConstraintViolation) -> Exception:
    """The user-facing error for a constraint the database enforced; unknown ones pass on."""
    if exc.kind == "unique" and exc.constraint == "products_sku_key":
        return Conflict("A product with this SKU already exists.")
    if exc.kind == "foreign_key" and exc.constraint == "products_category_id_fkey":
        return ValidationFailed([FieldError("category_id", "no category has this id")])
    if exc.kind == "foreign_key" and exc.constraint == "product_tags_tag_id_fkey":
        # A tag deleted between our check and the link: the same answer as an unknown id.
        return ValidationFailed([FieldError("tag_ids", "a tag with this id no longer exists")])
    if exc.kind == "foreign_key" and exc.constraint == "order_items_product_id_fkey":
        return Conflict("Ordered products cannot be deleted.")
    return exc

"""Categories: the catalogue tree, its reads (subtree products included) and admin writes.

Nothing here is cached yet, so writes have no cache entries to invalidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from gateway.db import ConstraintViolation, Row
from gateway.errors import Conflict, FieldError, InvalidParameter, NotFound, ValidationFailed
from gateway.pagination import Page, check_limit, decode_cursor, encode_cursor
from gateway.principal import Principal, require_admin
from gateway.services import products
from gateway.services.tags import hyphenated
from gateway.types import Resources
from gateway.validation import Input, Patch, Text, validate

STATEMENTS = (
    "categories.by_ids",
    "categories.by_slug",
    "categories.page_by_id",
    "categories.page_by_parent",
    "categories.count_all",
    "categories.count_by_parent",
    "categories.children_of",
    "categories.products_of",
    "categories.count_products_of",
    "categories.insert",
    "categories.update",
    "categories.lock_tree",
    "categories.is_within",
    "categories.delete",
)

Category = dict[str, Any]

_ID_SORT = "id"

Slug = Annotated[Text, Field(min_length=1, max_length=100), AfterValidator(hyphenated)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
ParentId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class CreateCategoryInput(Input):
    """A new category; without a parent it is top-level."""

    slug: Slug
    name: Name
    parent_id: ParentId | None = None


class UpdateCategoryInput(Patch):
    """Category fields to change; omitted fields stay, a null parent_id makes it top-level."""

    nullable = frozenset({"parent_id"})

    slug: Slug | None = None
    name: Name | None = None
    parent_id: ParentId | None = None


def from_row(row: Row) -> Category:
    """A category as both APIs show it."""
    return {
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "parent_id": row["parent_id"],
        "created_at": row["created_at"],
    }


async def by_ids(resources: Resources, ids: Sequence[int]) -> list[Category | None]:
    """The categories for `ids`, in the same order, None where absent (DataLoader batch)."""
    rows = await resources.db.fetch_all("categories.by_ids", {"ids": list(set(ids))})
    found = {row["id"]: from_row(row) for row in rows}
    return [found.get(i) for i in ids]


async def get_category(resources: Resources, ref: int | str) -> Category:
    """One category by id (an int) or by slug (a str).

    Raises InvalidParameter for a malformed slug, NotFound when there is no such category.
    """
    if isinstance(ref, int):
        (found,) = await by_ids(resources, [ref])
    else:
        try:
            hyphenated(ref)
        except ValueError as exc:
            raise InvalidParameter("slug", str(exc)) from None
        row = await resources.db.fetch_one("categories.by_slug", {"slug": ref})
        found = None if row is None else from_row(row)
    if found is None:
        raise NotFound(f"Category {ref} does not exist.")
    return found


async def list_categories(
    resources: Resources,
    *,
    limit: int,
    after: str | None = None,
    parent_id: int | None = None,
    count: bool = False,
) -> Page[Category]:
    """One page of categories in id order; with `parent_id`, only that category's children.

    Raises InvalidParameter for a limit outside 1..100 or a malformed cursor.
    """
    check_limit(limit)
    position = 0
    if after is not None:
        values = decode_cursor(after, _ID_SORT)
        if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool):
            raise InvalidParameter("after", "not a valid cursor")
        position = values[0]
    keys = {"after_id": position, "limit": limit + 1}
    if parent_id is None:
        rows = await resources.db.fetch_all("categories.page_by_id", keys)
    else:
        rows = await resources.db.fetch_all(
            "categories.page_by_parent", {**keys, "parent_id": parent_id}
        )
    items = [from_row(row) for row in rows[:limit]]
    cursors = [encode_cursor(_ID_SORT, [item["id"]]) for item in items]
    next_cursor = cursors[-1] if len(rows) > limit else None
    total = await count_categories(resources, parent_id) if count else None
    return Page(items=items, cursors=cursors, next_cursor=next_cursor, total=total)


async def count_categories(resources: Resources, parent_id: int | None = None) -> int:
    """How many categories there are (or children of `parent_id`)."""
    if parent_id is None:
        return int(await resources.db.fetch_val("categories.count_all"))
    return int(await resources.db.fetch_val("categories.count_by_parent", {"parent_id": parent_id}))


async def children_of(resources: Resources, parent_ids: Sequence[int]) -> list[list[Category]]:
    """Each category's direct children in name order, one list per id (DataLoader batch)."""
    rows = await resources.db.fetch_all("categories.children_of", {"ids": list(set(parent_ids))})
    found: dict[int, list[Category]] = {}
    for row in rows:
        found.setdefault(row["parent_id"], []).append(from_row(row))
    return [found.get(i, []) for i in parent_ids]


async def products_of(
    resources: Resources, category_ids: Sequence[int], *, limit: int, after: str | None = None
) -> list[Page[products.Product]]:
    """A page of the products under each category (its whole subtree), in id order.

    One statement for all `category_ids`. Raises InvalidParameter for a bad limit or cursor.
    """
    check_limit(limit)
    rows = await resources.db.fetch_all(
        "categories.products_of",
        {
            "ids": sorted(set(category_ids)),
            "after_id": products.after_id(after),
            "limit": limit + 1,
        },
    )
    grouped: dict[int, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row["root_id"], []).append(row)
    return [products.page_of(grouped.get(i, []), limit) for i in category_ids]


async def count_products_of(resources: Resources, category_ids: Sequence[int]) -> list[int]:
    """How many products lie under each category, its subtree included (DataLoader batch)."""
    rows = await resources.db.fetch_all(
        "categories.count_products_of", {"ids": sorted(set(category_ids))}
    )
    found = {row["root_id"]: int(row["products"]) for row in rows}
    return [found.get(i, 0) for i in category_ids]


async def category_products(
    resources: Resources,
    ref: int | str,
    *,
    limit: int,
    after: str | None = None,
    count: bool = False,
) -> Page[products.Product]:
    """Products filed under a category (by id or slug) or any category below it, in id order.

    Raises InvalidParameter (bad slug, limit or cursor) or NotFound (no such category).
    """
    check_limit(limit)
    category_id = (await get_category(resources, ref))["id"]
    (page,) = await products_of(resources, [category_id], limit=limit, after=after)
    if count:
        (total,) = await count_products_of(resources, [category_id])
        page = Page(page.items, page.cursors, page.next_cursor, total)
    return page


async def create_category(resources: Resources, principal: Principal, data: Any) -> Category:
    """Create a category (admin).

    Raises Unauthenticated, Forbidden, ValidationFailed (bad fields, unknown parent) or
    Conflict (the slug is taken).
    """
    require_admin(principal)
    new = validate(CreateCategoryInput, data)
    try:
        row = await resources.db.fetch_one("categories.insert", new.model_dump())
    except ConstraintViolation as exc:
        raise _problem(exc) from None
    assert row is not None
    return from_row(row)


async def update_category(
    resources: Resources, principal: Principal, category_id: int, data: Any
) -> Category:
    """Change the given fields of a category (admin); a null parent_id makes it top-level.

    Raises Unauthenticated, Forbidden, ValidationFailed (bad or no fields, unknown parent),
    NotFound, or Conflict (the slug is taken, or the move would put the category below
    itself).
    """
    require_admin(principal)
    change = validate(UpdateCategoryInput, data)
    given = change.model_fields_set
    if not given:
        raise ValidationFailed(
            [FieldError("", "nothing to change: give at least one field")], "Nothing to change."
        )
    values = {
        "id": category_id,
        "slug": change.slug,
        "name": change.name,
        "move": "parent_id" in given,
        "parent_id": change.parent_id,
    }
    try:
        async with resources.db.transaction():
            if change.parent_id is not None:
                await resources.db.execute("categories.lock_tree")
                cycle = await resources.db.fetch_val(
                    "categories.is_within", {"id": category_id, "candidate": change.parent_id}
                )
                if cycle:
                    raise Conflict("A category cannot move below itself or its own subcategories.")
            row = await resources.db.fetch_one("categories.update", values)
    except ConstraintViolation as exc:
        raise _problem(exc) from None
    if row is None:
        raise NotFound(f"Category {category_id} does not exist.")
    return from_row(row)


async def delete_category(resources: Resources, principal: Principal, category_id: int) -> int:
    """Delete a category (admin). Returns its id.

    Raises Unauthenticated, Forbidden, NotFound, or Conflict while products or
    subcategories are filed under it.
    """
    require_admin(principal)
    try:
        deleted = await resources.db.fetch_val("categories.delete", {"id": category_id})
    except ConstraintViolation as exc:
        if exc.kind == "foreign_key":
            raise Conflict(
                f"Category {category_id} still has products or subcategories; "
                "move or delete them first."
            ) from None
        raise
    if deleted is None:
        raise NotFound(f"Category {category_id} does not exist.")
    return int(deleted)


def _problem(exc: ConstraintViolation) -> Exception:
    """The user-facing error for a constraint the database enforced; unknown ones pass on."""
    if exc.kind == "unique" and exc.constraint == "categories_slug_key":
        return Conflict("A category with this slug already exists.")
    if exc.kind == "foreign_key" and exc.constraint == "categories_parent_id_fkey":
        return ValidationFailed([FieldError("parent_id", "no category has this id")])
    return exc

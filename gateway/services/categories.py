"""Categories: the catalogue tree, its reads and the admin's writes.

Their products are listed by `product_lists`. Reads go through the service cache
(`caching.entity`, `caching.page`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from gateway.db import ConstraintViolation, Row
from gateway.errors import Conflict, FieldError, InvalidParameter, NotFound, ValidationFailed
from gateway.principal import Principal, require_admin
from gateway.reads import lists
from gateway.reads.ordering import SortOrder, choose, orders_of, page_from
from gateway.reads.pagination import Page, check_limit
from gateway.services import caching
from gateway.services.resources import Resources
from gateway.services.tags import HYPHENATED, hyphenated
from gateway.services.validation import Input, Patch, Text, validate

Sort = Literal["id", "-id", "name", "-name"]
"""The allow-listed sort orders; `-` for descending, id breaks ties."""
ORDERS: dict[str, SortOrder] = orders_of("Category")
DEFAULT_SORT: Sort = "id"

STATEMENTS = (
    "categories.by_ids",
    "categories.by_slug",
    "categories.count_all",
    "categories.count_by_parent",
    "categories.children_of",
    "categories.ancestors_of",
    "categories.insert",
    "categories.update",
    "categories.lock_tree",
    "categories.is_within",
    "categories.delete",
)

Category = dict[str, Any]

Slug = Annotated[
    Text,
    Field(min_length=1, max_length=100, json_schema_extra=HYPHENATED),
    AfterValidator(hyphenated),
]
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
    if not isinstance(ref, int):
        try:
            hyphenated(ref)
        except ValueError as exc:
            raise InvalidParameter("slug", str(exc)) from None

    async def load() -> Category:
        if isinstance(ref, int):
            (found,) = await by_ids(resources, [ref])
        else:
            row = await resources.db.fetch_one("categories.by_slug", {"slug": ref})
            found = None if row is None else from_row(row)
        if found is None:
            raise NotFound(f"Category {ref} does not exist.")
        return found

    category: Category = await caching.entity(
        resources, "category", [ref], caching.CATEGORIES, load
    )
    return category


async def list_categories(
    resources: Resources,
    *,
    limit: int,
    after: str | None = None,
    sort: str = DEFAULT_SORT,
    parent_id: int | None = None,
    count: bool = False,
) -> Page[Category]:
    """One page of categories in a sort order; with `parent_id`, only that category's children.

    Raises InvalidParameter for a limit outside 1..100, an unknown sort or a bad cursor.
    """
    check_limit(limit)
    order = choose(ORDERS, sort)
    position = order.position(after)

    async def load() -> Page[Category]:
        filters = () if parent_id is None else ("parent_id",)
        shape = lists.Rows("Category", order.name, filters, bool(position))
        values = [] if parent_id is None else [parent_id]
        found = await lists.fetch(resources.db, shape, [*values, *position, limit + 1])
        total = await count_categories(resources, parent_id) if count else None
        return page_from(found, limit, order, from_row, total)

    query = [limit, after, sort, parent_id, count]
    return await caching.page(resources, "categories", query, caching.CATEGORIES, load)


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


async def ancestors_of(resources: Resources, ids: Sequence[int]) -> list[list[Category]]:
    """The categories above each category, top of the tree first, one list per id
    (DataLoader batch)."""
    rows = await resources.db.fetch_all("categories.ancestors_of", {"ids": list(set(ids))})
    found: dict[int, list[Category]] = {}
    for row in rows:
        found.setdefault(row["category_id"], []).append(from_row(row))
    return [found.get(i, []) for i in ids]


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
    caching.touched("categories", f"Category:{row['id']}", "list:Category")
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
    # A move (or a new slug) changes which products lie below it: the lists filtered by
    # category, and Category.products.
    caching.touched(
        "categories", f"Category:{category_id}", "list:Category", "list:Product@category"
    )
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
    # Nothing was filed under it (the database refuses otherwise): its own answers and lists.
    caching.touched("categories", f"Category:{category_id}", "list:Category")
    return int(deleted)


def _problem(exc: ConstraintViolation) -> Exception:
    """The user-facing error for a constraint the database enforced; unknown ones pass on."""
    if exc.kind == "unique" and exc.constraint == "categories_slug_key":
        return Conflict("A category with this slug already exists.")
    if exc.kind == "foreign_key" and exc.constraint == "categories_parent_id_fkey":
        return ValidationFailed([FieldError("parent_id", "no category has this id")])
    return exc

"""Categories in GraphQL: the Category type, category/categories, their mutations, and loaders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ariadne import MutationType, ObjectType

from gateway.errors import InvalidParameter
from gateway.graphql.connections import connection
from gateway.graphql.context import Info
from gateway.graphql.loaders import DataLoader
from gateway.graphql.payloads import payload
from gateway.ids import parse_id
from gateway.reads.pagination import Page, check_limit
from gateway.services import categories, product_lists, products

category = ObjectType("Category")
category_query = ObjectType("Query")
category_mutation = MutationType()

# (first, after, sort, filter): the shape of one products page, shared by many categories.
_Shape = tuple[int, str | None, str, product_lists.ProductFilter]
_ProductsKey = tuple[int, _Shape]  # category id, page shape
_CountKey = tuple[int, product_lists.ProductFilter]


def numeric_ids(data: Mapping[str, Any], *fields: str) -> dict[str, Any]:
    """`data` with the named ID fields (single IDs or lists) as ints where they are valid.

    Anything else passes through unchanged, so the service's validation reports it on its
    field, after the role check, exactly as it would for a REST body.
    """

    def convert(value: Any) -> Any:
        if isinstance(value, list):
            return [convert(v) for v in value]
        if not isinstance(value, str):
            return value
        try:
            return parse_id(value)
        except InvalidParameter:
            return value

    return {key: convert(value) if key in fields else value for key, value in data.items()}


def category_loader(info: Info) -> DataLoader[int, categories.Category | None]:
    """Categories by id, batched per request."""
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[categories.Category | None]:
        return await categories.by_ids(resources, ids)

    return info.context.loader("category", batch)


def _children_loader(info: Info) -> DataLoader[int, list[categories.Category]]:
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[list[categories.Category]]:
        return await categories.children_of(resources, ids)

    return info.context.loader("category_children", batch)


def _ancestors_loader(info: Info) -> DataLoader[int, list[categories.Category]]:
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[list[categories.Category]]:
        return await categories.ancestors_of(resources, ids)

    return info.context.loader("category_ancestors", batch)


def _products_loader(info: Info) -> DataLoader[_ProductsKey, Page[products.Product]]:
    resources = info.context.resources

    async def batch(keys: Sequence[_ProductsKey]) -> list[Page[products.Product]]:
        # One statement per distinct page shape: usually one for the whole request.
        groups: dict[_Shape, list[int]] = {}
        for category_id, shape in keys:
            groups.setdefault(shape, []).append(category_id)
        pages: dict[_ProductsKey, Page[products.Product]] = {}
        for shape, ids in groups.items():
            first, after, sort, wanted = shape
            found = await product_lists.pages_for_categories(
                resources, ids, limit=first, after=after, sort=sort, filters=wanted
            )
            for category_id, page in zip(ids, found, strict=True):
                pages[(category_id, shape)] = page
        return [pages[key] for key in keys]

    return info.context.loader("category_products", batch)


def _product_count_loader(info: Info) -> DataLoader[_CountKey, int]:
    resources = info.context.resources

    async def batch(keys: Sequence[_CountKey]) -> list[int]:
        groups: dict[product_lists.ProductFilter, list[int]] = {}
        for category_id, wanted in keys:
            groups.setdefault(wanted, []).append(category_id)
        counts: dict[_CountKey, int] = {}
        for wanted, ids in groups.items():
            found = await product_lists.counts_for_categories(resources, ids, wanted)
            counts.update({(i, wanted): n for i, n in zip(ids, found, strict=True)})
        return [counts[key] for key in keys]

    return info.context.loader("category_product_count", batch)


@category.field("parent")
async def resolve_parent(obj: dict[str, Any], info: Info) -> Any:
    parent_id = obj["parent_id"]
    if parent_id is None:
        return None
    return await category_loader(info).load(parent_id)


@category.field("children")
async def resolve_children(obj: dict[str, Any], info: Info) -> list[categories.Category]:
    return await _children_loader(info).load(obj["id"])


@category.field("ancestors")
async def resolve_ancestors(obj: dict[str, Any], info: Info) -> list[categories.Category]:
    return await _ancestors_loader(info).load(obj["id"])


@category.field("products")
async def resolve_products(
    obj: dict[str, Any],
    info: Info,
    first: int,
    after: str | None = None,
    filter: dict[str, Any] | None = None,
    sort: str = product_lists.DEFAULT_SORT,
) -> dict[str, Any]:
    check_limit(first, parameter="first")
    # Checked here, so a bad argument fails this field alone, not the batch it would join.
    wanted = product_lists.check_filter(filter)
    if wanted.category is not None:
        raise InvalidParameter("category", "not allowed here: the category is already given")
    product_lists.check_position(after, sort)
    category_id: int = obj["id"]
    page = await _products_loader(info).load((category_id, (first, after, sort, wanted)))
    counts = _product_count_loader(info)
    return connection(page, lambda: counts.load((category_id, wanted)))


@category_query.field("category")
async def resolve_category(
    _: None, info: Info, id: str | None = None, slug: str | None = None
) -> categories.Category:
    if (id is None) == (slug is None):
        raise InvalidParameter("id", "give exactly one of id and slug")
    ref: int | str = parse_id(id) if id is not None else str(slug)
    found = await categories.get_category(info.context.resources, ref)
    category_loader(info).prime(found["id"], found)
    return found


@category_query.field("categories")
async def resolve_categories(
    _: None, info: Info, first: int, after: str | None = None
) -> dict[str, Any]:
    resources = info.context.resources
    page = await categories.list_categories(
        resources, limit=check_limit(first, parameter="first"), after=after
    )
    return connection(page, lambda: categories.count_categories(resources))


@category_mutation.field("createCategory")
async def resolve_create(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    context = info.context
    data = numeric_ids(input, "parent_id")
    return await payload(
        "category", categories.create_category(context.resources, context.principal, data)
    )


@category_mutation.field("updateCategory")
async def resolve_update(_: None, info: Info, id: str, input: dict[str, Any]) -> dict[str, Any]:
    context = info.context

    async def run() -> categories.Category:
        return await categories.update_category(
            context.resources, context.principal, parse_id(id), numeric_ids(input, "parent_id")
        )

    return await payload("category", run())


@category_mutation.field("deleteCategory")
async def resolve_delete(_: None, info: Info, id: str) -> dict[str, Any]:
    context = info.context

    async def run() -> int:
        return await categories.delete_category(context.resources, context.principal, parse_id(id))

    return await payload("deleted_id", run())

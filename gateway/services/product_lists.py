"""Product lists: sort orders, filters, full-text search and embedded relations, for
/products, /categories/{id}/products and both GraphQL product connections.

Every list of products the resolvers and the reference REST path read comes from `_pages`:
one statement composed from the read model (`gateway.reads.lists`) that reads a page per
root category, so a GraphQL page of categories gets all their product pages in one query,
and REST and GraphQL cursors of the same order are the same. Pages are read through the
service cache (`caching.page`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from gateway.db import Row
from gateway.errors import InvalidParameter, NotFound
from gateway.ids import parse_id
from gateway.reads import lists, positions
from gateway.reads.ordering import SortOrder, choose, orders_of, page_from
from gateway.reads.pagination import Page, check_limit
from gateway.services import caching, categories, products, reviews, tags
from gateway.services.parameters import Flag, Parameters, decimal_between, parse
from gateway.services.resources import Resources
from gateway.services.validation import Text

Sort = Literal[
    "id",
    "-id",
    "price",
    "-price",
    "name",
    "-name",
    "created_at",
    "-created_at",
    "rating_avg",
    "-rating_avg",
    "review_count",
    "-review_count",
]
"""The allow-listed sort orders; `-` for descending, id breaks ties."""

ORDERS: dict[str, SortOrder] = orders_of("Product")
DEFAULT_SORT: Sort = "id"

Include = Literal["category", "tags", "reviews"]
"""Relations a list can embed, each with one batched query for the whole page."""
INCLUDES: tuple[Include, ...] = ("category", "tags", "reviews")
EMBEDDED_REVIEWS = 10
"""How many of its newest reviews `include=reviews` embeds in each product."""

STATEMENTS: tuple[str, ...] = ()
"""Lists are composed from the read model (`gateway.reads.lists`): no named statements."""

_WHOLE_CATALOGUE = 0  # the root that stands for "every category"
_SLUG_OR_ID = r"^(?:[1-9][0-9]{0,18}|[a-z0-9]+(?:-[a-z0-9]+)*)$"

Price = Annotated[
    Decimal,
    BeforeValidator(decimal_between(Decimal(0), products.MAX_PRICE)),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": float(products.MAX_PRICE)}),
]
RatingFloor = Annotated[
    Decimal,
    BeforeValidator(decimal_between(Decimal(0), Decimal(5))),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 5}),
]


class ProductConditions(Parameters):
    """Which products a list shows, the category aside; given ones combine with AND."""

    min_price: Price | None = Field(
        default=None, description="Only products at this price or above."
    )
    max_price: Price | None = Field(
        default=None, description="Only products at this price or below."
    )
    in_stock: Flag | None = Field(
        default=None, description="`true`: only products in stock; `false`: only sold-out ones."
    )
    tag: Annotated[str, Field(max_length=50, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")] | None = Field(
        default=None, description="Only products carrying the tag with this name."
    )
    q: Annotated[Text, Field(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="Full-text search over name and description (web search syntax: "
        '`"exact phrase"`, `or`, `-excluded`), English stemming.',
    )
    rating_gte: RatingFloor | None = Field(
        default=None,
        description="Only products whose mean rating is at least this, 0 to 5 "
        "(unrated products never match).",
    )


class ProductFilter(ProductConditions):
    """Which products a list shows: the conditions, and the category they are filed under."""

    category: Annotated[str, Field(max_length=100, pattern=_SLUG_OR_ID)] | None = Field(
        default=None,
        description="A category id or slug: products filed under it or any category below it.",
    )


NO_FILTER = ProductFilter()


def check_filter(data: ProductConditions | Mapping[str, Any] | None) -> ProductFilter:
    """`data` as a filter; InvalidParameter naming the filter at fault otherwise."""
    if data is None:
        return NO_FILTER
    if isinstance(data, ProductFilter):
        wanted = data
    elif isinstance(data, ProductConditions):
        # Already validated (a REST query without a category): only the type changes.
        wanted = ProductFilter.model_construct(
            **{name: getattr(data, name) for name in ProductConditions.model_fields}
        )
    else:
        wanted = parse(ProductFilter, data)
    low, high = wanted.min_price, wanted.max_price
    if low is not None and high is not None and low > high:
        raise InvalidParameter("max_price", "must not be below min_price")
    return wanted


def check_position(after: str | None, sort: str) -> None:
    """Refuse an unknown sort, or a cursor not of `sort`, with InvalidParameter."""
    choose(ORDERS, sort).position(after)


def check_includes(include: Collection[str]) -> tuple[Include, ...]:
    """The relations to embed, in a fixed order; InvalidParameter for an unknown one."""
    for name in include:
        if name not in INCLUDES:
            raise InvalidParameter("include", f"must be among {', '.join(INCLUDES)}")
    return tuple(name for name in INCLUDES if name in include)


async def list_products(
    resources: Resources,
    *,
    limit: int,
    after: str | None = None,
    sort: str = DEFAULT_SORT,
    filters: ProductConditions | Mapping[str, Any] | None = None,
    count: bool = False,
    include: Collection[str] = (),
) -> Page[products.Product]:
    """One page of products in a sort order, filtered, with relations embedded on request.

    Statements: the page, plus one for `count`, one per included relation, and one to
    find a category given by slug. Raises InvalidParameter (limit, cursor, sort, filter,
    include).
    """
    check_limit(limit)
    order = choose(ORDERS, sort)
    order.position(after)
    wanted = check_filter(filters)
    embed = check_includes(include)

    async def load() -> Page[products.Product]:
        root = await _root(resources, wanted.category)
        if root is None:
            return Page(items=[], cursors=[], next_cursor=None, total=0 if count else None)
        (page,) = await _pages(resources, [root], limit, order, after, wanted)
        await _embed(resources, page.items, embed)
        if count:
            (total,) = await _counts(resources, [root], wanted)
            page = Page(page.items, page.cursors, page.next_cursor, total)
        return page

    query = [limit, after, sort, wanted.model_dump(mode="json"), count, list(embed)]
    return await caching.page(resources, "products", query, _tables(embed), load)


async def get_product(
    resources: Resources, product_id: int, *, include: Collection[str] = ()
) -> products.Product:
    """One product, its category and tags embedded, and its newest reviews on request.

    Raises InvalidParameter (include) or NotFound.
    """
    embed = check_includes(include)
    if "reviews" not in embed:
        return await products.get_product(resources, product_id)

    async def load() -> products.Product:
        product = await products.get_product(resources, product_id)
        (page,) = await reviews.pages_for_products(
            resources, [product_id], limit=EMBEDDED_REVIEWS, after=None
        )
        product["reviews"] = page.items
        return product

    found: products.Product = await caching.entity(
        resources, "product+reviews", [product_id], _tables(embed), load
    )
    return found


async def count_products(
    resources: Resources, filters: ProductConditions | Mapping[str, Any] | None = None
) -> int:
    """How many products match `filters` (GraphQL `totalCount`). Raises InvalidParameter."""
    wanted = check_filter(filters)
    root = await _root(resources, wanted.category)
    if root is None:
        return 0
    (total,) = await _counts(resources, [root], wanted)
    return total


async def category_products(
    resources: Resources,
    ref: int | str,
    *,
    limit: int,
    after: str | None = None,
    sort: str = DEFAULT_SORT,
    filters: ProductConditions | Mapping[str, Any] | None = None,
    count: bool = False,
    include: Collection[str] = (),
) -> Page[products.Product]:
    """Products under a category (by id or slug), its whole subtree, like `list_products`.

    Raises InvalidParameter (as `list_products`, or a `category` filter, which the
    category itself replaces) or NotFound (no such category).
    """
    check_limit(limit)
    order = choose(ORDERS, sort)
    order.position(after)
    wanted = _within_category(filters)
    embed = check_includes(include)

    async def load() -> Page[products.Product]:
        category_id = (await categories.get_category(resources, ref))["id"]
        (page,) = await _pages(resources, [category_id], limit, order, after, wanted)
        await _embed(resources, page.items, embed)
        if count:
            (total,) = await _counts(resources, [category_id], wanted)
            page = Page(page.items, page.cursors, page.next_cursor, total)
        return page

    query = [ref, limit, after, sort, wanted.model_dump(mode="json"), count, list(embed)]
    return await caching.page(resources, "category-products", query, _tables(embed), load)


async def pages_for_categories(
    resources: Resources,
    category_ids: Sequence[int],
    *,
    limit: int,
    after: str | None = None,
    sort: str = DEFAULT_SORT,
    filters: ProductConditions | Mapping[str, Any] | None = None,
) -> list[Page[products.Product]]:
    """A page of products under each category (subtree included), with one statement.

    For DataLoader batches (GraphQL Category.products). Raises InvalidParameter.
    """
    check_limit(limit)
    order = choose(ORDERS, sort)
    return await _pages(resources, category_ids, limit, order, after, _within_category(filters))


async def counts_for_categories(
    resources: Resources,
    category_ids: Sequence[int],
    filters: ProductConditions | Mapping[str, Any] | None = None,
) -> list[int]:
    """How many products match under each category, subtree included (DataLoader batch)."""
    return await _counts(resources, category_ids, _within_category(filters))


def _within_category(filters: ProductConditions | Mapping[str, Any] | None) -> ProductFilter:
    wanted = check_filter(filters)
    if wanted.category is not None:
        raise InvalidParameter("category", "not allowed here: the category is already given")
    return wanted


def _tables(embed: Sequence[str]) -> tuple[str, ...]:
    return caching.REVIEWS + caching.CATALOGUE if "reviews" in embed else caching.CATALOGUE


async def _root(resources: Resources, ref: str | None) -> int | None:
    """The root category a filter names (0 for none); None for a slug nothing carries."""
    if ref is None:
        return _WHOLE_CATALOGUE
    if ref.isdigit():
        # An id nobody has simply matches no products, as an unknown slug does.
        return parse_id(ref, "category")
    try:
        found = await categories.get_category(resources, ref)
    except NotFound:
        return None
    category_id: int = found["id"]
    return category_id


def _conditions(wanted: ProductFilter) -> list[tuple[str, Any]]:
    """The filters of `wanted` but its category, which the root of each page stands for."""
    return [(n, v) for n, v in positions.filter_values(wanted) if not n.startswith("category")]


async def _pages(
    resources: Resources,
    roots: Sequence[int],
    limit: int,
    order: SortOrder,
    after: str | None,
    wanted: ProductFilter,
) -> list[Page[products.Product]]:
    conditions = _conditions(wanted)
    position = order.position(after)
    whole = list(roots) == [_WHOLE_CATALOGUE]
    shape = lists.Rows(
        "Product",
        order.name,
        tuple(name for name, _ in conditions),
        bool(position),
        batch=None if whole else "Category.products",
    )
    args: list[Any] = [] if whole else [sorted(set(roots))]
    args += [value for _, value in conditions]
    args += [*position, limit + 1]
    found = await lists.fetch(resources.db, shape, args)
    grouped: defaultdict[int, list[Row]] = defaultdict(list)
    for row in found:
        grouped[_WHOLE_CATALOGUE if whole else row["parent_id"]].append(row)
    return [page_from(grouped[root], limit, order, products.from_row) for root in roots]


async def _counts(resources: Resources, roots: Sequence[int], wanted: ProductFilter) -> list[int]:
    conditions = _conditions(wanted)
    names = tuple(name for name, _ in conditions)
    values = [value for _, value in conditions]
    if list(roots) == [_WHOLE_CATALOGUE]:
        (row,) = await lists.fetch(resources.db, lists.Count("Product", names), values)
        return [int(row["count"])]
    shape = lists.Count("Product", names, batch="Category.products")
    found = await lists.fetch(resources.db, shape, [sorted(set(roots)), *values])
    totals = {row["parent_id"]: int(row["total"]) for row in found}
    return [totals.get(root, 0) for root in roots]


async def _embed(
    resources: Resources, items: list[products.Product], embed: Sequence[Include]
) -> None:
    """Add each included relation to every product with one batched query per relation."""
    if not items or not embed:
        return
    ids = [item["id"] for item in items]
    if "category" in embed:
        found = await categories.by_ids(resources, [item["category_id"] for item in items])
        for item, category in zip(items, found, strict=True):
            item["category"] = category
    if "tags" in embed:
        for item, product_tags in zip(items, await tags.of_products(resources, ids), strict=True):
            item["tags"] = product_tags
    if "reviews" in embed:
        pages = await reviews.pages_for_products(resources, ids, limit=EMBEDDED_REVIEWS, after=None)
        for item, page in zip(items, pages, strict=True):
            item["reviews"] = page.items

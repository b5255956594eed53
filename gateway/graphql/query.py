"""Resolvers of the root Query type, and the ProductSort enum both product lists take."""

from __future__ import annotations

from typing import Any

from ariadne import EnumType, QueryType

from gateway.graphql.category import category_loader
from gateway.graphql.connections import connection
from gateway.graphql.context import Info
from gateway.ids import parse_id
from gateway.reads.pagination import check_limit
from gateway.services import product_lists, products

query = QueryType()
# ProductSort values are the REST `sort` names, so both styles pick from one allow-list.
product_sort_enum = EnumType(
    "ProductSort",
    {
        name.lstrip("-").upper() + ("_DESC" if name.startswith("-") else ""): name
        for name in product_lists.ORDERS
    },
)


@query.field("product")
async def resolve_product(_: None, info: Info, id: str) -> products.Product:
    context = info.context
    product = await products.get_product(context.resources, parse_id(id))
    category_loader(info).prime(product["category_id"], product["category"])
    return product


@query.field("products")
async def resolve_products(
    _: None,
    info: Info,
    first: int,
    after: str | None = None,
    filter: dict[str, Any] | None = None,
    sort: str = product_lists.DEFAULT_SORT,
) -> dict[str, Any]:
    resources = info.context.resources
    wanted = product_lists.check_filter(filter)
    page = await product_lists.list_products(
        resources,
        limit=check_limit(first, parameter="first"),
        after=after,
        sort=sort,
        filters=wanted,
    )
    return connection(page, lambda: product_lists.count_products(resources, wanted))

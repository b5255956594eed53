"""Resolvers of the root Query type."""

from __future__ import annotations

from typing import Any

from ariadne import QueryType

from gateway.graphql.category import category_loader
from gateway.graphql.connections import connection
from gateway.graphql.context import Info
from gateway.ids import parse_id
from gateway.pagination import check_limit
from gateway.services import products

query = QueryType()


@query.field("product")
async def resolve_product(_: None, info: Info, id: str) -> products.Product:
    context = info.context
    product = await products.get_product(context.resources, parse_id(id))
    category_loader(info).prime(product["category_id"], product["category"])
    return product


@query.field("products")
async def resolve_products(
    _: None, info: Info, first: int, after: str | None = None
) -> dict[str, Any]:
    resources = info.context.resources
    page = await products.list_products(
        resources, limit=check_limit(first, parameter="first"), after=after
    )
    return connection(page, lambda: products.count_products(resources))

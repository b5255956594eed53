"""Resolvers of the Product type."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from gateway.graphql.category import category_loader
from gateway.graphql.context import Info

product = ObjectType("Product")


@product.field("category")
async def resolve_category(obj: dict[str, Any], info: Info) -> Any:
    return await category_loader(info).load(obj["category_id"])

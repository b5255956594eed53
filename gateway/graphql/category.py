"""Resolvers of the Category type."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from gateway.graphql.context import Info

category = ObjectType("Category")


@category.field("parent")
async def resolve_parent(obj: dict[str, Any], info: Info) -> Any:
    parent_id = obj["parent_id"]
    if parent_id is None:
        return None
    return await info.context.loaders.category.load(parent_id)

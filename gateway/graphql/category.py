"""Resolvers of the Category type, and the per-request category loader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ariadne import ObjectType

from gateway.graphql.context import Info
from gateway.graphql.loaders import DataLoader
from gateway.services import categories

category = ObjectType("Category")


def category_loader(info: Info) -> DataLoader[int, categories.Category | None]:
    """Categories by id, batched per request."""
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[categories.Category | None]:
        return await categories.by_ids(resources, ids)

    return info.context.loader("category", batch)


@category.field("parent")
async def resolve_parent(obj: dict[str, Any], info: Info) -> Any:
    parent_id = obj["parent_id"]
    if parent_id is None:
        return None
    return await category_loader(info).load(parent_id)

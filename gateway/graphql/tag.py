"""Tags in GraphQL: the tags connection, createTag/deleteTag, and the per-product tags loader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ariadne import MutationType, ObjectType

from gateway.graphql.connections import connection
from gateway.graphql.context import Info
from gateway.graphql.loaders import DataLoader
from gateway.graphql.payloads import payload
from gateway.ids import parse_id
from gateway.reads.pagination import check_limit
from gateway.services import tags

tag_query = ObjectType("Query")
tag_mutation = MutationType()


def product_tags_loader(info: Info) -> DataLoader[int, list[tags.Tag]]:
    """Each product's tags by product id, batched per request (one query per page)."""
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[list[tags.Tag]]:
        return await tags.of_products(resources, ids)

    return info.context.loader("product_tags", batch)


@tag_query.field("tags")
async def resolve_tags(_: None, info: Info, first: int, after: str | None = None) -> dict[str, Any]:
    resources = info.context.resources
    page = await tags.list_tags(resources, limit=check_limit(first, parameter="first"), after=after)
    return connection(page, lambda: tags.count_tags(resources))


@tag_mutation.field("createTag")
async def resolve_create(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    context = info.context
    return await payload("tag", tags.create_tag(context.resources, context.principal, input))


@tag_mutation.field("deleteTag")
async def resolve_delete(_: None, info: Info, id: str) -> dict[str, Any]:
    context = info.context

    async def run() -> int:
        return await tags.delete_tag(context.resources, context.principal, parse_id(id))

    return await payload("deleted_id", run())

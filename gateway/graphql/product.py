"""Products in GraphQL: the Product type's nested fields and the admin's product mutations."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, ObjectType

from gateway.graphql.category import category_loader, numeric_ids
from gateway.graphql.context import Info
from gateway.graphql.payloads import payload
from gateway.graphql.tag import product_tags_loader
from gateway.ids import parse_id
from gateway.services import products

product = ObjectType("Product")
product_mutation = MutationType()

_ID_FIELDS = ("category_id", "tag_ids")


@product.field("category")
async def resolve_category(obj: dict[str, Any], info: Info) -> Any:
    embedded = obj.get("category")
    if embedded is not None:
        return embedded
    return await category_loader(info).load(obj["category_id"])


@product.field("tags")
async def resolve_tags(obj: dict[str, Any], info: Info) -> Any:
    # A product read by id or just written carries its tags already; pages do not.
    embedded = obj.get("tags")
    if embedded is not None:
        return embedded
    return await product_tags_loader(info).load(obj["id"])


@product_mutation.field("createProduct")
async def resolve_create(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    context = info.context
    data = numeric_ids(input, *_ID_FIELDS)
    return await payload(
        "product", products.create_product(context.resources, context.principal, data)
    )


@product_mutation.field("updateProduct")
async def resolve_update(
    _: None, info: Info, id: str, input: dict[str, Any], expected_version: int | None = None
) -> dict[str, Any]:
    context = info.context

    async def run() -> products.Product:
        return await products.update_product(
            context.resources,
            context.principal,
            parse_id(id),
            numeric_ids(input, *_ID_FIELDS),
            expected_version=expected_version,
        )

    return await payload("product", run())


@product_mutation.field("deleteProduct")
async def resolve_delete(_: None, info: Info, id: str) -> dict[str, Any]:
    context = info.context

    async def run() -> int:
        return await products.delete_product(context.resources, context.principal, parse_id(id))

    return await payload("deleted_id", run())

"""The GraphQL schema as an Apollo Federation 2 subgraph (GRAPHQL_FEDERATION=true).

schema.graphql gains a link to the federation spec and `@key(fields: "id")` on each type
in ENTITIES; Ariadne's federation support adds `_service { sdl }` (the SDL a supergraph
composes) and `_entities(representations:)`, the query a federation gateway sends for
the fields of entities another subgraph referred to.

A query on `_entities` that the read model covers runs as ONE planned statement for all
its representations, whatever their number and types (`gateway.graphql.planned`). The
reference resolvers here are the reference path: per-request DataLoaders, so N
representations of a type are one batched query, as every other resolver reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ariadne.contrib.federation import FederatedObjectType, make_federated_schema
from ariadne.types import SchemaBindable
from graphql import (
    ConstArgumentNode,
    ConstDirectiveNode,
    GraphQLSchema,
    NameNode,
    ObjectTypeDefinitionNode,
    StringValueNode,
    parse,
    print_ast,
)

from gateway.errors import InvalidParameter
from gateway.graphql.category import category_loader
from gateway.graphql.context import Info
from gateway.graphql.loaders import DataLoader
from gateway.graphql.review import product_loader
from gateway.ids import parse_id
from gateway.services import accounts, reviews

FEDERATION = "https://specs.apollo.dev/federation/v2.6"
ENTITIES = ("Product", "Category", "Review", "User")
"""The entity types, each keyed by its id; a User is the public profile, never an email."""


def federated_sdl(type_defs: str) -> str:
    """`type_defs` linked to Federation 2, with `@key(fields: "id")` on every entity type."""
    document = parse(type_defs)
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value in ENTITIES:
            definition = replace(definition, directives=(*(definition.directives or ()), _key()))
        definitions.append(definition)
    link = f'extend schema @link(url: "{FEDERATION}", import: ["@key"])\n\n'
    return link + print_ast(replace(document, definitions=tuple(definitions)))


def _key() -> ConstDirectiveNode:
    fields = ConstArgumentNode(name=NameNode(value="fields"), value=StringValueNode(value="id"))
    return ConstDirectiveNode(name=NameNode(value="key"), arguments=(fields,))


def entity_type(representation: object, types: Sequence[str]) -> str:
    """The entity type a representation names; InvalidParameter unless it is an object
    whose `__typename` is one of `types`."""
    if not isinstance(representation, Mapping):
        raise InvalidParameter("representations", "each must be an object")
    type_name = representation.get("__typename")
    if type_name not in types:
        names = ", ".join(sorted(types))
        raise InvalidParameter("representations", f"__typename must be one of {names}")
    return str(type_name)


def entity_key(representation: object, types: Sequence[str]) -> tuple[str, int]:
    """The type and id a representation names; InvalidParameter unless it is an object
    naming one of `types` and carrying a valid id."""
    type_name = entity_type(representation, types)
    assert isinstance(representation, Mapping)
    key = representation.get("id")
    if key is None:
        raise InvalidParameter("representations", f"a {type_name} is found by its id")
    return type_name, parse_id(key)


def federated_schema(type_defs: str, bindables: Sequence[SchemaBindable]) -> GraphQLSchema:
    """`type_defs` and `bindables` as an executable Federation 2 subgraph schema."""
    schema = make_federated_schema(
        federated_sdl(type_defs), *bindables, *REFERENCES, convert_names_case=True
    )
    query = schema.query_type
    assert query is not None
    field = query.fields["_entities"]
    field.resolve = _checked(field.resolve)
    return schema


def _checked(resolve: Callable[..., Any] | None) -> Callable[..., Any]:
    """Ariadne's `_entities` resolver, refusing a representation that names no entity type
    (a TypeError, masked as an internal error, otherwise) before any reference resolver."""
    assert resolve is not None

    def resolve_entities(obj: Any, info: Info, *, representations: list[Any]) -> Any:
        for representation in representations:
            entity_type(representation, ENTITIES)
        return resolve(obj, info, representations=representations)

    return resolve_entities


# Reference resolvers: what an entity of each type is, from its representation.

product = FederatedObjectType("Product")
category = FederatedObjectType("Category")
review = FederatedObjectType("Review")
user = FederatedObjectType("User")
REFERENCES: list[SchemaBindable] = [product, category, review, user]


@product.reference_resolver
async def resolve_product(_: Any, info: Info, representation: dict[str, Any]) -> Any:
    return _own(await product_loader(info).load(entity_key(representation, ENTITIES)[1]))


@category.reference_resolver
async def resolve_category(_: Any, info: Info, representation: dict[str, Any]) -> Any:
    return _own(await category_loader(info).load(entity_key(representation, ENTITIES)[1]))


@review.reference_resolver
async def resolve_review(_: Any, info: Info, representation: dict[str, Any]) -> Any:
    return _own(await _review_loader(info).load(entity_key(representation, ENTITIES)[1]))


@user.reference_resolver
async def resolve_user(_: Any, info: Info, representation: dict[str, Any]) -> Any:
    return _own(await _profile_loader(info).load(entity_key(representation, ENTITIES)[1]))


def _own(found: Any) -> Any:
    """A copy of a loaded value: Ariadne writes `__typename` into what a reference resolver
    returns, and the loader's value may be shared with other fields of the request."""
    return None if found is None else {**found}


def _review_loader(info: Info) -> DataLoader[int, reviews.Review | None]:
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[reviews.Review | None]:
        return await reviews.reviews_by_ids(resources, ids)

    return info.context.loader("entity_reviews", batch)


def _profile_loader(info: Info) -> DataLoader[int, accounts.Profile | None]:
    resources = info.context.resources

    async def batch(ids: Sequence[int]) -> list[accounts.Profile | None]:
        return await accounts.public_profiles(resources, ids)

    return info.context.loader("entity_profiles", batch)

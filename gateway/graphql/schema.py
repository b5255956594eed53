"""The executable schema: `schema.graphql` bound to the resolvers of every type."""

from __future__ import annotations

import functools
from pathlib import Path

from ariadne import load_schema_from_path, make_executable_schema
from ariadne.types import SchemaBindable
from graphql import GraphQLSchema

from gateway.graphql import account, order, review
from gateway.graphql.category import category, category_mutation, category_query
from gateway.graphql.federation import federated_schema
from gateway.graphql.product import product, product_mutation
from gateway.graphql.query import product_sort_enum, query
from gateway.graphql.scalars import datetime_scalar
from gateway.graphql.subscriptions import subscription
from gateway.graphql.tag import tag_mutation, tag_query

BINDABLES: list[SchemaBindable] = [
    query,
    product_sort_enum,
    account.account_query,
    account.mutation,
    account.role_enum,
    product,
    product_mutation,
    category,
    category_query,
    category_mutation,
    tag_query,
    tag_mutation,
    review.review_query,
    review.review_mutation,
    review.review,
    review.product_reviews,
    order.order_query,
    order.order_mutation,
    order.order,
    order.order_item,
    order.order_status_enum,
    datetime_scalar,
    subscription,
]


def build_schema(path: Path, *, federation: bool = False) -> GraphQLSchema:
    """Load the SDL and bind resolvers; a resolver for a field not in the SDL fails here.
    `federation`: as an Apollo Federation 2 subgraph (`gateway.graphql.federation`).

    Built once per file version in a process: an app made again (tests, compare's own
    server) shares the schema, which nothing changes once it is built."""
    found = path.stat()
    return _built(path.resolve(), found.st_mtime_ns, found.st_size, federation, tuple(BINDABLES))


@functools.lru_cache(maxsize=4)
def _built(
    path: Path, mtime_ns: int, size: int, federation: bool, bindables: tuple[SchemaBindable, ...]
) -> GraphQLSchema:
    type_defs = load_schema_from_path(str(path))
    if federation:
        return federated_schema(type_defs, list(bindables))
    return make_executable_schema(type_defs, *bindables, convert_names_case=True)

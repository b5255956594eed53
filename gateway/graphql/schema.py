"""The executable schema: `schema.graphql` bound to the resolvers of every type."""

from __future__ import annotations

from pathlib import Path

from ariadne import load_schema_from_path, make_executable_schema
from ariadne.types import SchemaBindable
from graphql import GraphQLSchema

from gateway.graphql import account
from gateway.graphql.category import category
from gateway.graphql.product import product
from gateway.graphql.query import query
from gateway.graphql.scalars import datetime_scalar

BINDABLES: list[SchemaBindable] = [
    query,
    account.account_query,
    account.mutation,
    account.role_enum,
    product,
    category,
    datetime_scalar,
]


def build_schema(path: Path) -> GraphQLSchema:
    """Load the SDL and bind resolvers; a resolver for a field not in the SDL fails here."""
    return make_executable_schema(
        load_schema_from_path(str(path)), *BINDABLES, convert_names_case=True
    )

"""Whole answers to anonymous GraphQL queries the planner leaves to the resolvers.

A nested query the planner does not cover pays graphql-core's executor for every field of
every item. An anonymous query's answer depends only on its document, operation,
variables and the data, so the finished body is kept whole by the shared-answer service
(`gateway.services.shared_answers`, which says how it stays fresh). What is GraphQL's
here: what identifies an answer (the schema's fingerprint, the document, the operation
name and the variables) and which answers may be shared (queries from callers who are
not signed in).

A hit shows as `X-Cache: HIT` with no SQL; Redis down means the query simply runs
(`BYPASS`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLSchema, print_schema

from gateway.graphql.execution import Prepared
from gateway.principal import Principal
from gateway.services import shared_answers
from gateway.services.resources import Resources


class ResultCache:
    """Shared answers to anonymous queries for one schema."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.fingerprint = hashlib.sha256(print_schema(schema).encode()).hexdigest()[:16]

    async def respond(
        self,
        resources: Resources,
        prepared: Prepared,
        principal: Principal,
        run: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any] | bytes:
        """The stored body of this query (bytes), or its freshly run result, stored when
        it may be shared."""
        parts = [self.fingerprint, prepared.text, prepared.operation.name, prepared.variables]
        shareable = not principal.authenticated and prepared.operation.kind == "query"
        return await shared_answers.respond(resources, parts, run, shareable=shareable)

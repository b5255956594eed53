"""The GraphQL engine: what every request goes through, over HTTP and WebSocket alike.

    request data ─► persisted-query resolution ─► parse + static validation (cached)
                ─► operation chosen ─► variables coerced, cost and page sizes checked
                ─► execute (or subscribe) with a fresh per-request context

Everything before `execute` is pure CPU on the document and its variables: a refused
request never reaches a resolver, so it never runs SQL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
    subscribe,
)
from graphql.execution.values import VariableValues

from gateway.errors import InvalidParameter
from gateway.graphql.context import Context
from gateway.graphql.documents import Documents, VerdictCache
from gateway.graphql.errors import capped, format_error
from gateway.graphql.operations import Operation, select
from gateway.graphql.persisted import ManifestError, PersistedQueries, load_manifest
from gateway.graphql.protection import (
    Limits,
    check_limits,
    coerce_variables,
    cost_map,
    limits_key,
)
from gateway.services.resources import Resources
from gateway.settings import Settings


class Rejected(Exception):
    """The document or its variables were refused before execution; `errors` say why."""

    def __init__(self, errors: list[GraphQLError]) -> None:
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors))


@dataclass(frozen=True, slots=True)
class Checked:
    """The per-request verdict: refusals, or the coerced variables execution will see."""

    errors: list[GraphQLError]
    values: VariableValues | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A valid document with its chosen operation, ready for the per-request checks."""

    text: str
    document: DocumentNode
    node: OperationDefinitionNode
    operation: Operation
    variables: dict[str, Any] | None


class Engine:
    """Protection, persisted queries and execution for one schema and one configuration."""

    def __init__(
        self, schema: GraphQLSchema, settings: Settings, *, verdicts: VerdictCache | None = None
    ) -> None:
        self.schema = schema
        self.limits = Limits.from_settings(settings)
        self.documents = Documents(schema, self.limits, cache=verdicts)
        self.costs = cost_map(schema)
        # The limits' verdicts, per document, operation and the variables they depend on.
        self._verdicts: OrderedDict[tuple[str, str | None, bytes], list[GraphQLError]] = (
            OrderedDict()
        )
        manifest = self._manifest(settings)
        self.persisted = PersistedQueries(
            prefix=settings.cache_prefix,
            manifest=manifest,
            only=settings.graphql_persisted_only,
            max_bytes=settings.graphql_persisted_max_bytes,
            max_count=settings.graphql_persisted_max_count,
            ttl=settings.graphql_persisted_ttl,
        )

    def _manifest(self, settings: Settings) -> dict[str, str]:
        """The allow-list, every document checked now so a bad one stops start-up."""
        path = settings.graphql_persisted_manifest
        if path is None:
            if settings.graphql_persisted_only:
                raise ManifestError("GRAPHQL_PERSISTED_ONLY needs GRAPHQL_PERSISTED_MANIFEST")
            return {}
        manifest = load_manifest(path)
        for digest, body in manifest.items():
            errors = self.documents.verdict(body).errors
            if errors:
                raise ManifestError(f"{path}: document {digest[:12]}…: {errors[0].message}")
        return manifest

    async def prepare(
        self, resources: Resources, data: Any, *, may_register: bool = True
    ) -> Prepared:
        """Resolve, parse and validate a request's document and choose its operation.

        Raises InvalidParameter or PersistedQueryNotFound for a malformed request, and
        Rejected when the document fails parsing, validation or a static limit. A new
        persisted query is registered only once its document has passed validation.
        """
        if not isinstance(data, dict):
            raise InvalidParameter("body", "must be a JSON object with a query")
        variables, name = data.get("variables"), data.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            raise InvalidParameter("variables", "must be an object or null")
        if name is not None and not isinstance(name, str):
            raise InvalidParameter("operationName", "must be a string or null")
        resolved = await self.persisted.resolve(
            resources, data.get("query"), data.get("extensions"), may_register=may_register
        )
        verdict = self.documents.verdict(resolved.text)
        if verdict.document is None:
            raise Rejected(list(verdict.errors))
        node = get_operation_ast(verdict.document, name)
        operation = select(verdict.document, name)
        if node is None or operation is None:
            message = (
                f"No operation named {name!r} in the document."
                if name
                else "The document holds several operations: say which in operationName."
            )
            raise Rejected([GraphQLError(message)])
        if resolved.register is not None:
            await self.persisted.register(resources, resolved.register, resolved.text)
        return Prepared(resolved.text, verdict.document, node, operation, variables)

    def check(self, prepared: Prepared) -> Checked:
        """The variable-dependent limits (variables, cost, page sizes) for this request.

        Variables are coerced every time; the cost and page-size verdict, a walk over the
        whole document, is remembered per document, operation and the variables it can
        depend on (`limits_key`)."""
        values = coerce_variables(self.schema, prepared.node, prepared.variables)
        if isinstance(values, list):
            return Checked(values)
        key = (prepared.text, prepared.operation.name, limits_key(prepared.node, values))
        known = self._verdicts.get(key)
        if known is not None:
            self._verdicts.move_to_end(key)
            return Checked(known, values)
        errors = check_limits(
            self.schema, prepared.document, prepared.node, values, self.limits, self.costs
        )
        if len(prepared.text) <= self.documents.max_chars:
            self._verdicts[key] = errors
            while len(self._verdicts) > self.documents.cache.max_entries:
                self._verdicts.popitem(last=False)
        return Checked(errors, values)

    async def execute(self, prepared: Prepared, context: Context) -> dict[str, Any]:
        """Run a query or mutation; the formatted result (`data`, and `errors` if any)."""
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=prepared.variables,
            operation_name=prepared.operation.name,
            hide_suggestions=True,
        )
        if isawaitable(result):
            result = await result
        return formatted(result, self.limits.max_errors)

    def errors_body(self, errors: list[GraphQLError]) -> dict[str, Any]:
        """The body of a refusal before execution: errors only, no `data`."""
        return errors_body(errors, self.limits.max_errors)

    async def subscribe(
        self, prepared: Prepared, context: Context
    ) -> AsyncIterator[dict[str, Any]] | dict[str, Any]:
        """Start a subscription: its formatted results, or the formatted errors that refused it."""
        result = subscribe(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=prepared.variables,
            operation_name=prepared.operation.name,
            hide_suggestions=True,
        )
        if isawaitable(result):
            result = await result
        if isinstance(result, ExecutionResult):
            return formatted(result, self.limits.max_errors)
        return _formatted_stream(result, self.limits.max_errors)


async def _formatted_stream(
    results: AsyncIterator[ExecutionResult], max_errors: int
) -> AsyncIterator[dict[str, Any]]:
    try:
        async for result in results:
            yield formatted(result, max_errors)
    finally:
        aclose = getattr(results, "aclose", None)
        if aclose is not None:
            await aclose()


def formatted(result: ExecutionResult, max_errors: int) -> dict[str, Any]:
    """An execution result as the response body shows it, with at most `max_errors` errors."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = capped([format_error(error) for error in result.errors], max_errors)
    return body


def errors_body(errors: list[GraphQLError], max_errors: int) -> dict[str, Any]:
    """The body of a refusal before execution: errors only (at most `max_errors`), no `data`."""
    return {"errors": capped([format_error(error) for error in errors], max_errors)}

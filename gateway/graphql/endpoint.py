"""The /graphql HTTP endpoint: JSON POST in, orjson out, status codes that mean something."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from ariadne import graphql
from ariadne.explorer import ExplorerGraphiQL
from graphql import GraphQLError, GraphQLSchema, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway import telemetry
from gateway.bodies import json_body
from gateway.errors import (
    DBUnavailable,
    GatewayError,
    MethodNotAllowed,
    PoolExhausted,
    QueryTimeout,
    RateLimited,
)
from gateway.graphql.context import Context
from gateway.graphql.errors import codes, format_error
from gateway.graphql.operations import Operation, select
from gateway.middleware.authentication import identity_of, principal_of
from gateway.types import Resources

# Ariadne logs every error with a traceback, expected ones (NOT_FOUND, validation) included.
# Our error formatter logs the unexpected ones with the request id, so silence the engine's.
_ENGINE_LOG = logging.getLogger("gateway.graphql.engine")
_ENGINE_LOG.setLevel(logging.CRITICAL)

_INFRASTRUCTURE = {
    DBUnavailable.code: DBUnavailable,
    PoolExhausted.code: PoolExhausted,
    QueryTimeout.code: QueryTimeout,
}


class GraphQLEndpoint:
    """Executes GraphQL documents posted as application/json."""

    def __init__(self, schema: GraphQLSchema, *, introspection: bool, explorer: bool) -> None:
        self.schema = schema
        self.introspection = introspection
        self.explorer = ExplorerGraphiQL(title="Gateway GraphiQL") if explorer else None

    async def handle(self, request: Request) -> Response:
        try:
            if request.method == "GET":
                return self._get(request)
            if request.method != "POST":
                raise MethodNotAllowed(["GET", "POST"] if self.explorer else ["POST"])
            data = await json_body(
                request, wrong_type="GraphQL requests must be POSTed as application/json."
            )
        except GatewayError as error:
            return error_response(error)
        resources: Resources = request.state.resources
        operation = _operation(data)
        stats = telemetry.current()
        if stats is not None and operation is not None:
            stats.operation = operation.name
        limited = await _charge(request, resources, operation)
        if limited is not None:
            return limited
        _, result = await graphql(
            self.schema,
            data,
            context_value=Context(resources, principal_of(request.scope)),
            introspection=self.introspection,
            error_formatter=format_error,
            logger=_ENGINE_LOG,
            debug=False,
        )
        return _result_response(result)

    def _get(self, request: Request) -> Response:
        if self.explorer is not None and not request.query_params:
            return HTMLResponse(self.explorer.html(request))
        raise MethodNotAllowed(["GET", "POST"] if self.explorer else ["POST"])


def _operation(data: Any) -> Operation | None:
    """The operation about to run, or None when the document will fail parsing or selection."""
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None
    name = data.get("operationName")
    try:
        document = parse(data["query"])
    except GraphQLError:
        return None
    return select(document, name if isinstance(name, str) else None)


async def _charge(
    request: Request, resources: Resources, operation: Operation | None
) -> Response | None:
    """Charge one operation per root field (aliases count), and sign-ins against their own
    allowance; a 429 response when either is spent, else None."""
    identity = identity_of(request.scope)
    fields = operation.root_fields if operation else ()
    read_only = operation is not None and operation.kind == "query"
    decision = await resources.limiter.charge(
        identity, cost=max(1, len(fields)), read_only=read_only
    )
    logins = fields.count("login") if operation and operation.kind == "mutation" else 0
    if decision.allowed and logins:
        decision = await resources.limiter.charge(identity, "login", cost=logins)
    if decision.allowed:
        return None
    response = error_response(RateLimited(decision.reset))
    response.headers.update(decision.headers())
    return response


def _result_response(result: dict[str, Any]) -> Response:
    """Status per GraphQL over HTTP: 400 for a request that never ran, 503/504 when a backend
    failure left no data, else 200 (field errors travel in the body)."""
    status, headers = 200, {}
    data = result.get("data")
    errors = result.get("errors") or []
    if data is None or all(value is None for value in data.values()):
        found = [c for c in codes(result) if c in _INFRASTRUCTURE]
        # Parse, validation and variable errors carry no `path`: the operation never ran.
        never_ran = "data" not in result or (data is None and not any("path" in e for e in errors))
        if found:
            error = _INFRASTRUCTURE[found[0]]()
            status = error.status
            if error.retry_after is not None:
                headers["Retry-After"] = str(error.retry_after)
        elif never_ran:
            status = 400
    return Response(orjson.dumps(result), status, headers, media_type="application/json")


def error_response(error: GatewayError) -> Response:
    """A transport-level refusal in the GraphQL response shape, with the matching status."""
    stats = telemetry.current()
    body = {
        "errors": [
            {
                "message": error.detail,
                "extensions": {
                    "code": error.code,
                    "request_id": stats.request_id if stats else None,
                },
            }
        ]
    }
    headers = {}
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(orjson.dumps(body), error.status, headers, media_type="application/json")

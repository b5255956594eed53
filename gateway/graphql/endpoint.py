"""The /graphql HTTP endpoint: JSON POST and persisted-query GET in, orjson out, and
status codes that mean something.

POST runs any document sent as application/json (other bodies get 415 before anything
reads them). GET runs persisted queries only, never a mutation (405), and answers with a
strong ETag, so `If-None-Match` gets a bodiless 304.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from ariadne.explorer import ExplorerGraphiQL
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway import etags, telemetry
from gateway.bodies import json_body
from gateway.errors import (
    DBUnavailable,
    GatewayError,
    InternalError,
    InvalidParameter,
    MethodNotAllowed,
    PoolExhausted,
    QueryTimeout,
    RateLimited,
    ServerError,
)
from gateway.graphql.context import Context
from gateway.graphql.errors import codes
from gateway.graphql.execution import Engine, Rejected, errors_body
from gateway.graphql.operations import Operation
from gateway.graphql.results import ResultCache
from gateway.middleware.authentication import address_of, identity_of, principal_of
from gateway.responses import protocol_headers
from gateway.types import Resources

# A result whose data is gone because a backend failed answers with that failure's status.
_SERVER_ERRORS: dict[str, type[ServerError]] = {
    error.code: error for error in (DBUnavailable, PoolExhausted, QueryTimeout, InternalError)
}
_GET_PARAMETERS = frozenset({"extensions", "variables", "operationName"})


class GraphQLEndpoint:
    """Serves GraphQL over HTTP at /graphql."""

    def __init__(self, engine: Engine, *, explorer: bool, results: ResultCache) -> None:
        self.engine = engine
        self.results = results
        self.explorer = ExplorerGraphiQL(title="Gateway GraphiQL") if explorer else None

    async def handle(self, request: Request) -> Response:
        try:
            if request.method == "GET":
                return await self._get(request)
            if request.method != "POST":
                raise MethodNotAllowed(["GET", "POST"])
            data = await json_body(
                request, wrong_type="GraphQL requests must be POSTed as application/json."
            )
            return await self._run(request, data, via_get=False)
        except GatewayError as error:
            return error_response(error)

    async def _get(self, request: Request) -> Response:
        params = request.query_params
        if not params and self.explorer is not None:
            return HTMLResponse(self.explorer.html(request))
        if "extensions" not in params:
            raise MethodNotAllowed(
                ["POST"],
                "GET runs persisted queries only (extensions=...); POST the document instead.",
            )
        unknown = sorted(set(params) - _GET_PARAMETERS)
        if unknown:
            raise InvalidParameter(
                unknown[0], "unknown parameter (GET takes only a persisted query)"
            )
        data = {
            "extensions": _json_parameter(params, "extensions"),
            "variables": _json_parameter(params, "variables"),
            "operationName": params.get("operationName"),
        }
        response = await self._run(request, data, via_get=True)
        if response.status_code != 200:
            return response
        etag = etags.of(bytes(response.body))
        signed_in = principal_of(request.scope).authenticated
        headers = {
            "ETag": etag,
            # Anyone may store an anonymous answer but must check it is current; a signed-in
            # caller's answer is theirs alone.
            "Cache-Control": "private, no-store" if signed_in else "public, no-cache",
            "Vary": "Authorization",
        }
        condition = request.headers.get("if-none-match")
        if condition is not None and etags.none_match(condition, etag):
            return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return response

    async def _run(self, request: Request, data: Any, *, via_get: bool) -> Response:
        resources: Resources = request.state.resources
        try:
            prepared = await self.engine.prepare(resources.cache, data, may_register=not via_get)
        except Rejected as rejected:
            return await _charge(request, resources, None) or _refusal(rejected.errors)
        stats = telemetry.current()
        if stats is not None:
            stats.operation = prepared.operation.name
        kind = prepared.operation.kind
        if via_get and kind != "query":
            raise MethodNotAllowed(["POST"], f"A {kind} cannot run over GET; POST it.")
        if kind == "subscription":
            message = "Subscriptions run over WebSocket at /graphql (graphql-transport-ws)."
            return _refusal([GraphQLError(message)])
        limited = await _charge(request, resources, prepared.operation)
        if limited is not None:
            return limited
        errors = self.engine.check(prepared)
        if errors:
            return _refusal(errors)
        principal = principal_of(request.scope)
        context = Context(resources, principal, address=address_of(request.scope))
        answer = await self.results.respond(
            resources, prepared, principal, lambda: self.engine.execute(prepared, context)
        )
        if isinstance(answer, bytes):
            return Response(answer, media_type="application/json")
        if context.refused is not None:
            return _refused_response(answer, context.refused)
        return _result_response(answer)


def _json_parameter(params: Mapping[str, str], name: str) -> Any:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidParameter(name, "must be JSON") from None


async def _charge(
    request: Request, resources: Resources, operation: Operation | None
) -> Response | None:
    """Charge one operation per root field (aliases count); a 429 response when the
    allowance is spent, else None. (Failed sign-ins are limited by the `login` resolver.)"""
    identity = identity_of(request.scope)
    fields = operation.root_fields if operation else ()
    read_only = operation is not None and operation.kind == "query"
    decision = await resources.limiter.charge(
        identity, cost=max(1, len(fields)), read_only=read_only
    )
    if decision.allowed:
        return None
    response = error_response(RateLimited(decision.reset))
    response.headers.update(decision.headers())
    return response


def _refusal(errors: list[GraphQLError]) -> Response:
    """400 for a request that never ran: parse, validation, limits or variables."""
    return Response(orjson.dumps(errors_body(errors)), 400, media_type="application/json")


def _refused_response(result: dict[str, Any], refused: RateLimited) -> Response:
    """A sign-in refused by its limits: 429 with Retry-After and that limit's RateLimit-*
    headers when nothing else of the operation produced data, else the usual answer."""
    data = result.get("data")
    if data is None or all(value is None for value in data.values()):
        headers = protocol_headers(refused)
        return Response(orjson.dumps(result), 429, headers, media_type="application/json")
    return _result_response(result)


def _result_response(result: dict[str, Any]) -> Response:
    """200 when the operation ran (field errors travel in the body); when a backend failure
    or an unexpected error left no data at all, that failure's status (503, 504, 500)."""
    status, headers = 200, {}
    data = result.get("data")
    if data is None or all(value is None for value in data.values()):
        found = [c for c in codes(result) if c in _SERVER_ERRORS]
        if found:
            error = _SERVER_ERRORS[found[0]]()
            status, headers = error.status, protocol_headers(error)
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
    return Response(
        orjson.dumps(body), error.status, protocol_headers(error), media_type="application/json"
    )

"""The /graphql HTTP endpoint: JSON POST and persisted-query GET in, orjson out, and
status codes that mean something.

POST runs any document sent as application/json (other bodies get 415 before anything
reads them). GET runs persisted queries only, never a mutation (405), and answers with a
strong ETag, so `If-None-Match` gets a bodiless 304.
"""

from __future__ import annotations

import logging
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
from gateway.graphql.planned import Bound, PlannedQueries
from gateway.graphql.results import ResultCache
from gateway.middleware.authentication import identity_of, principal_of
from gateway.responses import protocol_headers
from gateway.types import Resources

log = logging.getLogger("gateway.graphql")

# A result whose data is gone because a backend failed answers with that failure's status.
_SERVER_ERRORS: dict[str, type[ServerError]] = {
    error.code: error for error in (DBUnavailable, PoolExhausted, QueryTimeout, InternalError)
}
_GET_PARAMETERS = frozenset({"extensions", "variables", "operationName"})


class GraphQLEndpoint:
    """Serves GraphQL over HTTP at /graphql."""

    def __init__(
        self,
        engine: Engine,
        *,
        explorer: bool,
        results: ResultCache,
        planned: PlannedQueries | None = None,
    ) -> None:
        self.engine = engine
        self.results = results
        self.planned = planned
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
        checked = self.engine.check(prepared)
        if checked.errors:
            return _refusal(checked.errors)
        principal = principal_of(request.scope)
        if self.planned is not None and resources.settings.read_planner:
            assert checked.values is not None
            bound = self.planned.bind(
                prepared.text, prepared.document, prepared.node, checked.values, principal
            )
            if bound is not None:
                planned = await _run_planned(self.planned, resources, bound)
                if planned is not None:
                    return planned
        context = Context(resources, principal)
        answer = await self.results.respond(
            resources, prepared, principal, lambda: self.engine.execute(prepared, context)
        )
        if isinstance(answer, bytes):
            return Response(answer, media_type="application/json")
        return _result_response(answer)


async def _run_planned(
    planned: PlannedQueries, resources: Resources, bound: Bound
) -> Response | None:
    """A query the planner covers: one statement. When the database is unreachable, busy or
    slow, the failure is reported per root field as the executor would; any other failure
    (a statement PostgreSQL refused) returns None, and the resolvers answer instead, so
    that every field that can still be read is, and the error is masked and logged."""
    try:
        body = await planned.run(resources, bound)
    except (DBUnavailable, PoolExhausted, QueryTimeout) as error:
        return _result_response(planned.failure(bound, error))
    except Exception:
        stats = telemetry.current()
        log.exception(
            "planned query failed; the resolvers answer it",
            extra={"request_id": stats.request_id if stats else None},
        )
        return None
    return Response(body, media_type="application/json")


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


def _refusal(errors: list[GraphQLError]) -> Response:
    """400 for a request that never ran: parse, validation, limits or variables."""
    return Response(orjson.dumps(errors_body(errors)), 400, media_type="application/json")


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

"""The /graphql HTTP endpoint: GraphQL over HTTP as its spec says, orjson out, and status
codes that mean something.

POST runs any document sent as application/json (other bodies get 415 before anything
reads them). GET and HEAD run queries (`query=`, or a persisted query's hash in
`extensions=`), never a mutation (405), and answer with a strong ETag, so
`If-None-Match` gets a bodiless 304. The answer's media type follows `Accept`
(`media.py`): application/graphql-response+json with that type's status codes, or
application/json; an Accept that allows neither is 406. A mutation sent with an
`Idempotency-Key` runs once; retries get its first answer back (`gateway.idempotency`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from ariadne.explorer import ExplorerGraphiQL
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway import telemetry
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
from gateway.graphql.errors import NotAcceptable, codes
from gateway.graphql.execution import Checked, Engine, Prepared, Rejected
from gateway.graphql.operations import Operation
from gateway.graphql.planned import Bound, PlannedQueries
from gateway.graphql.results import ResultCache
from gateway.http import etags, media
from gateway.http.bodies import json_body
from gateway.http.identity import address_of, identity_of, principal_of
from gateway.http.responses import graphql_error_response, protocol_headers
from gateway.services import idempotency
from gateway.services.resources import Resources

log = logging.getLogger("gateway.graphql")

# A result whose data is gone because a backend failed answers with that failure's status
# (under application/json; application/graphql-response+json answers 200 once it ran).
_SERVER_ERRORS: dict[str, type[ServerError]] = {
    error.code: error for error in (DBUnavailable, PoolExhausted, QueryTimeout, InternalError)
}
_GET_PARAMETERS = frozenset({"query", "extensions", "variables", "operationName"})
_METHODS = ["GET", "HEAD", "POST"]


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
        response = await self._answer(request)
        if request.method == "HEAD":
            response.body = b""  # Content-Length stays the GET's
        return response

    async def _answer(self, request: Request) -> Response:
        reading = request.method in ("GET", "HEAD")
        if reading and not request.query_params and self.explorer is not None:
            return HTMLResponse(self.explorer.html(request))
        chosen = media.negotiate(request.headers.get("accept"))
        try:
            if chosen is None:
                raise NotAcceptable(
                    f"Accept {media.GRAPHQL_RESPONSE} or {media.JSON}: /graphql answers in these."
                )
            if reading:
                response = await self._get(request, chosen)
            elif request.method == "POST":
                data = await json_body(
                    request, wrong_type="GraphQL requests must be POSTed as application/json."
                )
                response = await self._run(request, data, chosen, via_get=False)
            else:
                raise MethodNotAllowed(_METHODS)
        except GatewayError as error:
            response = error_response(error, chosen or media.JSON)
        # The media type, and with it the status, depend on Accept.
        vary = response.headers.get("vary")
        response.headers["Vary"] = f"{vary}, Accept" if vary else "Accept"
        return response

    async def _get(self, request: Request, chosen: str) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - _GET_PARAMETERS)
        if unknown:
            raise InvalidParameter(unknown[0], "unknown parameter")
        repeated = next((name for name in params if len(params.getlist(name)) > 1), None)
        if repeated is not None:
            raise InvalidParameter(repeated, "give it once")
        # The spec's GET encoding: an empty parameter is an absent one.
        data = {
            "query": params.get("query") or None,
            "extensions": _json_parameter(params, "extensions"),
            "variables": _json_parameter(params, "variables"),
            "operationName": params.get("operationName") or None,
        }
        response = await self._run(request, data, chosen, via_get=True)
        if response.status_code != 200:
            return response
        body = bytes(response.body)
        # One representation per media type: the tag covers the type as well as the bytes.
        etag = etags.of(body if chosen == media.JSON else chosen.encode() + b"\n" + body)
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

    async def _run(self, request: Request, data: Any, chosen: str, *, via_get: bool) -> Response:
        resources: Resources = request.state.resources
        try:
            prepared = await self.engine.prepare(resources, data, may_register=not via_get)
        except Rejected as rejected:
            limited = await _charge(request, resources, None, chosen)
            return limited or self._refusal(rejected.errors, chosen)
        stats = telemetry.current()
        if stats is not None:
            stats.operation = prepared.operation.name
        kind = prepared.operation.kind
        if via_get and kind != "query":
            raise MethodNotAllowed(["POST"], f"A {kind} cannot run over GET; POST it.")
        if kind == "subscription":
            message = "Subscriptions run over WebSocket at /graphql (graphql-transport-ws)."
            return self._refusal([GraphQLError(message)], chosen)
        limited = await _charge(request, resources, prepared.operation, chosen)
        if limited is not None:
            return limited
        checked = self.engine.check(prepared)
        if checked.errors:
            return self._refusal(checked.errors, chosen)
        if kind == "mutation":
            return await _once(request, lambda: self._respond(request, prepared, checked, chosen))
        return await self._respond(request, prepared, checked, chosen)

    async def _respond(
        self, request: Request, prepared: Prepared, checked: Checked, chosen: str
    ) -> Response:
        """Answer with one planned statement when the read model covers the query; else
        execute (or answer from the whole-answer cache); encode in `chosen`."""
        resources: Resources = request.state.resources
        principal = principal_of(request.scope)
        if self.planned is not None and resources.settings.read_planner:
            assert checked.values is not None
            bound = self.planned.bind(
                prepared.text, prepared.document, prepared.node, checked.values, principal
            )
            if bound is not None:
                planned = await _run_planned(self.planned, resources, bound, chosen)
                if planned is not None:
                    resources.metrics.graphql_queries.labels("planned").inc()
                    return planned
        if prepared.operation.kind == "query":
            resources.metrics.graphql_queries.labels("resolvers").inc()
        context = Context(resources, principal, address=address_of(request.scope))
        answer = await self.results.respond(
            resources, prepared, principal, lambda: self.engine.execute(prepared, context)
        )
        if isinstance(answer, bytes):
            return _encoded(answer, 200, chosen)
        if context.refused is not None:
            return _refused_response(answer, context.refused, chosen)
        return _result_response(answer, chosen)

    def _refusal(self, errors: list[GraphQLError], chosen: str) -> Response:
        """400 for a request that never ran: parse, validation, limits or variables."""
        return _encoded(orjson.dumps(self.engine.errors_body(errors)), 400, chosen)


async def _run_planned(
    planned: PlannedQueries, resources: Resources, bound: Bound, chosen: str
) -> Response | None:
    """A query the planner covers: one statement. When the database is unreachable, busy or
    slow, the failure is reported per root field as the executor would; any other failure
    (a statement PostgreSQL refused) returns None, and the resolvers answer instead, so
    that every field that can still be read is, and the error is masked and logged."""
    try:
        body = await planned.run(resources, bound)
    except (DBUnavailable, PoolExhausted, QueryTimeout) as error:
        return _result_response(planned.failure(bound, error), chosen)
    except Exception:
        stats = telemetry.current()
        log.exception(
            "planned query failed; the resolvers answer it",
            extra={"request_id": stats.request_id if stats else None},
        )
        return None
    return _encoded(body, 200, chosen)


def _json_parameter(params: Mapping[str, str], name: str) -> Any:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidParameter(name, "must be JSON") from None


async def _charge(
    request: Request, resources: Resources, operation: Operation | None, chosen: str
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
    response = error_response(RateLimited(decision.reset), chosen)
    response.headers.update(decision.headers())
    return response


async def _once(request: Request, respond: Callable[[], Awaitable[Response]]) -> Response:
    """A mutation with an Idempotency-Key runs once; a retry gets its answer back byte for
    byte. Answers that carry a server failure are not kept, so a retry can succeed."""
    keys = request.headers.getlist(idempotency.HEADER)
    if not keys:
        return await respond()
    given = idempotency.client_key(keys)
    resources: Resources = request.state.resources
    store = idempotency.IdempotencyStore(resources.cache, resources.settings.cache_prefix)
    path = request.url.path
    key = store.key(identity_of(request.scope), "POST", path, given)
    content_type = request.headers.get("content-type", "").encode("latin-1")
    digest = idempotency.fingerprint("POST", path, b"", content_type, await request.body())

    async def run() -> tuple[idempotency.Stored, bool]:
        response = await respond()
        body = bytes(response.body)
        failed = any(code in _SERVER_ERRORS for code in codes(orjson.loads(body)))
        stored = idempotency.Stored(digest, response.status_code, response.raw_headers, body)
        return stored, response.status_code < 500 and not failed

    outcome = await idempotency.run_once(store, key, digest, run)
    kept = outcome.response
    response = Response(kept.body, kept.status)
    response.raw_headers = list(kept.headers)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if outcome.bypassed:
        response.headers["X-Idempotency"] = "BYPASS"
    return response


def _refused_response(result: dict[str, Any], refused: RateLimited, chosen: str) -> Response:
    """A sign-in refused by its limits: 429 with Retry-After and that limit's RateLimit-*
    headers when nothing else of the operation produced data, else the usual answer."""
    data = result.get("data")
    if data is None or all(value is None for value in data.values()):
        return _encoded(orjson.dumps(result), 429, chosen, protocol_headers(refused))
    return _result_response(result, chosen)


def _result_response(result: dict[str, Any], chosen: str) -> Response:
    """200 when the operation ran (field errors travel in the body). Under application/json,
    when a backend failure or an unexpected error left no data at all, that failure's
    status (503, 504, 500); application/graphql-response+json keeps 200 for any answer
    that holds `data`, as its spec requires."""
    status, headers = 200, {}
    data = result.get("data")
    if chosen == media.JSON and (data is None or all(value is None for value in data.values())):
        found = [c for c in codes(result) if c in _SERVER_ERRORS]
        if found:
            error = _SERVER_ERRORS[found[0]]()
            status, headers = error.status, protocol_headers(error)
    return _encoded(orjson.dumps(result), status, chosen, headers)


def _encoded(
    body: bytes, status: int, chosen: str, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(body, status, headers, media_type=media.CONTENT_TYPES[chosen])


def error_response(error: GatewayError, chosen: str = media.JSON) -> Response:
    """A transport-level refusal in the GraphQL response shape, with the matching status."""
    return graphql_error_response(error, chosen)

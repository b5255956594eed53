"""HTTP responses both styles use: orjson bodies and RFC 9457 problem documents."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Scope

from gateway import telemetry
from gateway.errors import GatewayError, MethodNotAllowed, RateLimited, ValidationFailed
from gateway.http import media

PROBLEM_TYPE_BASE = "https://gateway.example/problems/"


def json_bytes(content: Any) -> bytes:
    """The exact bytes a JSONResponse sends for `content` (ETags are hashes of them)."""
    return orjson.dumps(content)


class JSONResponse(Response):
    """A JSON response serialized with orjson (datetimes as RFC 3339)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


def problem_body(error: GatewayError) -> dict[str, Any]:
    """The problem+json document for `error`; never a stack trace or SQL."""
    stats = telemetry.current()
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code.lower().replace("_", "-"),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "request_id": stats.request_id if stats else None,
    }
    if isinstance(error, ValidationFailed):
        body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    return body


def protocol_headers(error: GatewayError) -> dict[str, str]:
    """The HTTP headers that go with `error` in either style: Retry-After, Allow,
    WWW-Authenticate on a 401, and the RateLimit-* of the allowance that refused."""
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        headers.update(error.headers)
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="gateway"'
    return headers


GRAPHQL_PATH = "/graphql"


def graphql_error_response(error: GatewayError, chosen: str = media.JSON) -> Response:
    """A transport-level refusal in the GraphQL response shape, with the matching status,
    in the media type `chosen` (gateway.http.media)."""
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
        orjson.dumps(body),
        error.status,
        protocol_headers(error),
        media_type=media.CONTENT_TYPES[chosen],
    )


def refusal(scope: Scope, error: GatewayError) -> Response:
    """`error` as the path's clients read errors: the GraphQL shape at /graphql (in the media
    type its Accept prefers), problem+json everywhere else. For refusals made before any
    endpoint runs: a broken token, a body too large, a method the route does not take."""
    if scope.get("path") != GRAPHQL_PATH:
        return problem_response(error)
    chosen = media.negotiate(Headers(scope=scope).get("accept")) or media.JSON
    response = graphql_error_response(error, chosen)
    response.headers["Vary"] = "Accept"
    return response


def problem_response(error: GatewayError) -> Response:
    """An `application/problem+json` response for `error`, with its protocol headers."""
    headers = {"Cache-Control": "no-store", **protocol_headers(error)}
    return Response(
        orjson.dumps(problem_body(error)),
        status_code=error.status,
        headers=headers,
        media_type="application/problem+json",
    )

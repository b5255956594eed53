"""GraphQL error formatting: the shared error codes in `extensions`, nothing internal leaked."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from gateway import telemetry
from gateway.errors import GatewayError, InternalError

log = logging.getLogger("gateway.graphql")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def _unwrap(error: GraphQLError) -> BaseException | None:
    original: BaseException | None = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Ariadne's `error_formatter`: code and request id in extensions; unexpected errors masked."""
    original = _unwrap(error)
    formatted: dict[str, Any] = dict(error.formatted)
    if isinstance(original, GatewayError):
        code, message = original.code, original.detail
    elif original is None or isinstance(original, GraphQLError):
        code = PARSE_FAILED if error.message.startswith("Syntax Error") else VALIDATION_FAILED
        message = error.message
    else:
        # Full detail to the log only: no SQL, constraint names or tracebacks to the client.
        stats = telemetry.current()
        log.error(
            "unexpected error in resolver",
            exc_info=original,
            extra={"request_id": stats.request_id if stats else None, "path": error.path},
        )
        code, message = InternalError.code, InternalError().detail
    stats = telemetry.current()
    formatted["message"] = message
    formatted["extensions"] = {"code": code, "request_id": stats.request_id if stats else None}
    return formatted


def codes(result: dict[str, Any]) -> list[str]:
    """The error codes in a formatted result, in order."""
    return [e.get("extensions", {}).get("code", "") for e in result.get("errors") or []]

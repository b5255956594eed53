"""GraphQL error formatting: the shared error codes in `extensions`, nothing internal leaked.

The GraphQL-only refusals live here, under the shared tree of gateway/errors.py:

    ClientError
    ├── QueryTooLarge             400 QUERY_TOO_LARGE         more tokens than the parser takes
    ├── QueryTooDeep              400 QUERY_TOO_DEEP          fields nested too deeply
    ├── TooManyAliases            400 TOO_MANY_ALIASES        too many aliased fields
    ├── TooManyRootFields         400 TOO_MANY_ROOT_FIELDS    too many top-level fields
    ├── QueryTooComplex           400 QUERY_TOO_COMPLEX       the operation may cost too much
    ├── IntrospectionDisabled     400 INTROSPECTION_DISABLED  __schema/__type in production
    ├── PersistedQueryNotFound    400 PERSISTED_QUERY_NOT_FOUND  unknown hash, or not allowed
    ├── NotAcceptable             406 NOT_ACCEPTABLE          Accept allows no GraphQL media type
    └── TooManyOperations         400 TOO_MANY_OPERATIONS     a socket runs its most operations

A response carries at most GRAPHQL_MAX_ERRORS errors (`capped`): past it, the last one
is a TOO_MANY_ERRORS notice saying the rest were left out.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError

from gateway import telemetry
from gateway.errors import ClientError, GatewayError, InternalError

log = logging.getLogger("gateway.graphql")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"

# graphql-core is told to hide suggestions; this catches any message that still has one,
# so the schema cannot be mapped by guessing names even where introspection is off.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class QueryTooLarge(ClientError):
    """The document has more lexical tokens than the parser may read."""

    code = "QUERY_TOO_LARGE"
    title = "Query too large"


class QueryTooDeep(ClientError):
    """Fields are nested deeper than the depth limit."""

    code = "QUERY_TOO_DEEP"
    title = "Query too deep"


class TooManyAliases(ClientError):
    """An operation uses more aliases than allowed."""

    code = "TOO_MANY_ALIASES"
    title = "Too many aliases"


class TooManyRootFields(ClientError):
    """An operation selects more top-level fields than allowed."""

    code = "TOO_MANY_ROOT_FIELDS"
    title = "Too many root fields"


class QueryTooComplex(ClientError):
    """The operation's estimated cost is above the limit."""

    code = "QUERY_TOO_COMPLEX"
    title = "Query too complex"


class IntrospectionDisabled(ClientError):
    """Introspection was asked for where it is turned off (production)."""

    code = "INTROSPECTION_DISABLED"
    title = "Introspection disabled"


class PersistedQueryNotFound(ClientError):
    """No document is stored for the hash, or only allow-listed documents may run."""

    code = "PERSISTED_QUERY_NOT_FOUND"
    title = "Persisted query not found"


class NotAcceptable(ClientError):
    """The Accept header allows neither application/graphql-response+json nor application/json."""

    code = "NOT_ACCEPTABLE"
    title = "Not acceptable"
    status = 406


class TooManyOperations(ClientError):
    """A WebSocket connection already runs as many operations as it may."""

    code = "TOO_MANY_OPERATIONS"
    title = "Too many operations"


TOO_MANY_ERRORS = "TOO_MANY_ERRORS"


def capped(errors: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most `limit` formatted errors: past it, the first `limit - 1` and a notice that
    the rest were left out, so one document cannot make an answer of thousands of errors."""
    if len(errors) <= limit:
        return errors
    stats = telemetry.current()
    notice = {
        "message": f"Too many errors: only the first {limit - 1} are shown.",
        "extensions": {
            "code": TOO_MANY_ERRORS,
            "request_id": stats.request_id if stats else None,
        },
    }
    return [*errors[: limit - 1], notice]


def refusal(error: GatewayError, node: Any = None) -> GraphQLError:
    """A GraphQL error carrying one of our refusals, so the formatter reports its code."""
    return GraphQLError(error.detail, node, original_error=error)


def _unwrap(error: GraphQLError) -> BaseException | None:
    original: BaseException | None = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Ariadne's `error_formatter`: code and request id in extensions; unexpected errors masked.

    `debug` is accepted for Ariadne's signature and ignored: nothing internal is ever shown.
    """
    original = _unwrap(error)
    formatted: dict[str, Any] = dict(error.formatted)
    extensions: dict[str, Any] = {}
    if isinstance(original, GatewayError):
        code, message = original.code, original.detail
        # Extensions our own rules attach (the cost figures) are safe to pass on.
        extensions.update(error.extensions or {})
    elif original is None or isinstance(original, GraphQLError):
        code = PARSE_FAILED if error.message.startswith("Syntax Error") else VALIDATION_FAILED
        message = _SUGGESTION.sub("", error.message)
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
    formatted["extensions"] = {
        **extensions,
        "code": code,
        "request_id": stats.request_id if stats else None,
    }
    return formatted


def codes(result: dict[str, Any]) -> list[str]:
    """The error codes in a formatted result, in order."""
    return [e.get("extensions", {}).get("code", "") for e in result.get("errors") or []]

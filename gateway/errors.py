"""The gateway's error tree: one stable `code` per failure, shared by REST and GraphQL.

    GatewayError
    ├── ClientError                  the caller can fix it (4xx)
    │   ├── InvalidJSON              400 INVALID_JSON
    │   ├── ValidationFailed         400 VALIDATION_FAILED (carries field errors)
    │   ├── InvalidParameter         400 INVALID_PARAMETER
    │   ├── Unauthenticated          401 UNAUTHENTICATED
    │   ├── Forbidden                403 FORBIDDEN
    │   ├── NotFound                 404 NOT_FOUND
    │   ├── MethodNotAllowed         405 METHOD_NOT_ALLOWED
    │   ├── Conflict                 409 CONFLICT
    │   ├── PreconditionFailed       412 PRECONDITION_FAILED
    │   ├── PayloadTooLarge          413 PAYLOAD_TOO_LARGE
    │   ├── UnsupportedMediaType     415 UNSUPPORTED_MEDIA_TYPE
    │   ├── IdempotencyKeyReused     422 IDEMPOTENCY_KEY_REUSED
    │   └── RateLimited              429 RATE_LIMITED
    └── ServerError                  the gateway or its backends failed (5xx)
        ├── InternalError            500 INTERNAL_SERVER_ERROR
        ├── DBUnavailable            503 DB_UNAVAILABLE
        ├── PoolExhausted            503 POOL_EXHAUSTED
        └── QueryTimeout             504 QUERY_TIMEOUT

GraphQL-only rejections (QUERY_TOO_LARGE and friends) subclass ClientError in the
GraphQL package, so this module stays the vocabulary both styles share.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field: where it is and what is wrong."""

    field: str
    message: str


class GatewayError(Exception):
    """Base of every error the gateway reports on purpose."""

    code = "INTERNAL_SERVER_ERROR"
    status = 500
    title = "Internal server error"
    retry_after: int | None = None

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)


class ClientError(GatewayError):
    """The request cannot be served as sent; the caller can fix it."""

    status = 400
    title = "Bad request"


class InvalidJSON(ClientError):
    """The body is not valid JSON (or uses NaN/Infinity)."""

    code = "INVALID_JSON"
    title = "Invalid JSON"


class ValidationFailed(ClientError):
    """The body is JSON but fields are missing, unknown or out of range."""

    code = "VALIDATION_FAILED"
    title = "Validation failed"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        self.errors = errors
        super().__init__(detail or "One or more fields are invalid.")


class InvalidParameter(ClientError):
    """A path or query parameter is malformed or out of range."""

    code = "INVALID_PARAMETER"
    title = "Invalid parameter"

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class Unauthenticated(ClientError):
    """No valid credentials were presented."""

    code = "UNAUTHENTICATED"
    status = 401
    title = "Unauthenticated"


class Forbidden(ClientError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"
    status = 403
    title = "Forbidden"


class NotFound(ClientError):
    """Nothing the caller may see answers to this address."""

    code = "NOT_FOUND"
    status = 404
    title = "Not found"


class MethodNotAllowed(ClientError):
    """The resource exists but not with this HTTP method."""

    code = "METHOD_NOT_ALLOWED"
    status = 405
    title = "Method not allowed"

    def __init__(self, allowed: list[str], detail: str | None = None) -> None:
        self.allowed = allowed
        super().__init__(detail or f"Allowed methods: {', '.join(allowed)}.")


class Conflict(ClientError):
    """The request contradicts the current state (duplicate, out of stock...)."""

    code = "CONFLICT"
    status = 409
    title = "Conflict"


class PreconditionFailed(ClientError):
    """A precondition (If-Match, If-None-Match) does not hold for the current state."""

    code = "PRECONDITION_FAILED"
    status = 412
    title = "Precondition failed"


class PayloadTooLarge(ClientError):
    """The body is larger than the configured limit."""

    code = "PAYLOAD_TOO_LARGE"
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(ClientError):
    """The body's content type is not one this endpoint accepts."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    title = "Unsupported media type"


class IdempotencyKeyReused(ClientError):
    """An Idempotency-Key was sent again with a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422
    title = "Idempotency key reused"


class RateLimited(ClientError):
    """The caller has used up its allowance for now."""

    code = "RATE_LIMITED"
    status = 429
    title = "Too many requests"

    def __init__(
        self, retry_after: int, detail: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.retry_after = retry_after
        # The RateLimit-* headers of the allowance that refused, when it was not the
        # general one (sign-in failures).
        self.headers = headers or {}
        super().__init__(detail or f"Rate limit reached; retry in {retry_after} s.")


class ServerError(GatewayError):
    """The gateway or a backend failed; the request itself may be fine."""


class InternalError(ServerError):
    """Something unexpected broke; details go to the log, never to the client."""

    title = "Internal server error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "An unexpected error occurred.")


class DBUnavailable(ServerError):
    """PostgreSQL cannot be reached right now."""

    code = "DB_UNAVAILABLE"
    status = 503
    title = "Database unavailable"
    retry_after = 5

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "The database is unavailable; retry shortly.")


class PoolExhausted(ServerError):
    """No database connection became free within the acquire timeout."""

    code = "POOL_EXHAUSTED"
    status = 503
    title = "Service busy"
    retry_after = 1

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "All database connections are busy; retry shortly.")


class QueryTimeout(ServerError):
    """A statement ran past the statement timeout and was cancelled."""

    code = "QUERY_TIMEOUT"
    status = 504
    title = "Query timeout"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "The query took too long and was cancelled.")

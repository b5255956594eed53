"""Mutation payloads: `{ <thing>, errors: [UserError!]! }`.

Problems the caller can fix (bad input, conflicts, missing or stale targets) become
UserErrors in the payload. Authentication, authorization, rate limits and infrastructure
failures stay top-level errors with `extensions.code`, as DESIGN §5 says.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from gateway.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidParameter,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)

_FIXABLE = (Conflict, NotFound, PreconditionFailed, InvalidParameter, IdempotencyKeyReused)


def camel(path: str) -> str:
    """`items.0.product_id` -> `items.0.productId`: field paths in the schema's own names."""
    parts = []
    for part in path.split("."):
        head, *rest = part.split("_")
        parts.append(head + "".join(word.title() for word in rest))
    return ".".join(parts)


async def payload(key: str, operation: Awaitable[Any]) -> dict[str, Any]:
    """Run a mutation and wrap its result, or its user-fixable failure, in a payload."""
    try:
        value = await operation
    except ValidationFailed as error:
        errors = [
            {"code": error.code, "field": camel(e.field) or None, "message": e.message}
            for e in error.errors
        ]
        return {key: None, "errors": errors}
    except _FIXABLE as error:
        field = camel(error.parameter) if isinstance(error, InvalidParameter) else None
        return {
            key: None,
            "errors": [{"code": error.code, "field": field, "message": error.detail}],
        }
    return {key: value, "errors": []}

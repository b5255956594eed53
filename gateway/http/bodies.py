"""Reading JSON request bodies, for both styles: the right content type, valid JSON, or a 4xx."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from gateway.errors import InvalidJSON, UnsupportedMediaType


async def json_body(
    request: Request, *, wrong_type: str = "Send the body as application/json."
) -> Any:
    """The parsed body; 415 unless application/json, 400 INVALID_JSON when it does not parse.

    orjson refuses NaN, Infinity, numbers that overflow a double and lone surrogates, so
    none of them reach validation.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(wrong_type)
    body = await request.body()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"The body is not valid JSON: {exc}") from None

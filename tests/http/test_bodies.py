"""gateway/http/bodies.py: a JSON body is application/json and valid JSON, or a 415 or a 400."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from gateway.errors import InvalidJSON, UnsupportedMediaType
from gateway.http.bodies import json_body

pytestmark = pytest.mark.anyio


def request(body: bytes, content_type: str | None = "application/json") -> Request:
    headers = [] if content_type is None else [(b"content-type", content_type.encode())]
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers}

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8"]
)
async def test_json_in_its_media_type_parses(content_type: str) -> None:
    parsed: Any = await json_body(request(b'{"a": [1, 2.5, null, "\\u00e9"]}', content_type))
    assert parsed == {"a": [1, 2.5, None, "é"]}


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/jsonp", "application/problem+json"]
)
async def test_any_other_media_type_is_415_with_the_callers_message(
    content_type: str | None,
) -> None:
    with pytest.raises(UnsupportedMediaType, match=r"^Send the body as application/json\.$"):
        await json_body(request(b"{}", content_type))
    with pytest.raises(UnsupportedMediaType, match=r"^GraphQL wants JSON\.$"):
        await json_body(request(b"{}", content_type), wrong_type="GraphQL wants JSON.")


@pytest.mark.parametrize(
    "body",
    [b"", b'{"a": ', b"{'a': 1}", b"NaN", b'{"x": Infinity}', b"1e400", b'"\\ud800"', b"\xff"],
)
async def test_what_does_not_parse_strictly_is_400_invalid_json(body: bytes) -> None:
    with pytest.raises(InvalidJSON) as caught:
        await json_body(request(body))
    assert caught.value.detail.startswith("The body is not valid JSON: ")
    assert (caught.value.status, caught.value.code) == (400, "INVALID_JSON")


async def test_any_json_value_is_a_body() -> None:
    # The shape is the validator's business, not the reader's.
    assert await json_body(request(b"[]")) == []
    assert await json_body(request(b" 7 ")) == 7
    assert await json_body(request(b"null")) is None

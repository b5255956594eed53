"""gateway/errors.py: every error's stable code, status and default detail, and the tree."""

from __future__ import annotations

import re

import pytest

import gateway.errors as errors
from gateway.errors import (
    ClientError,
    DBUnavailable,
    FieldError,
    GatewayError,
    InvalidParameter,
    MethodNotAllowed,
    PoolExhausted,
    RateLimited,
    ServerError,
    ValidationFailed,
)


def _classes() -> list[type[GatewayError]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, GatewayError)
    ]


def test_the_tree_in_the_docstring_is_the_tree_in_the_code() -> None:
    # Each line of the drawing names a class, its status and its code: all three must hold.
    drawn = re.findall(r"[├└]── (\w+)\s+(\d{3}) (\w+)", errors.__doc__ or "")
    assert len(drawn) == len(_classes()) - 3  # GatewayError, ClientError, ServerError: no line
    for name, status, code in drawn:
        cls = getattr(errors, name)
        assert (cls.status, cls.code) == (int(status), code), name


def test_4xx_are_client_errors_and_5xx_server_errors_with_unique_codes() -> None:
    leaves = [c for c in _classes() if c not in (GatewayError, ClientError, ServerError)]
    for cls in leaves:
        assert issubclass(cls, ClientError) == (400 <= cls.status < 500), cls
        assert issubclass(cls, ServerError) == (cls.status >= 500), cls
        assert cls.__doc__ and "\n" not in cls.__doc__.strip(), cls
    assert len({c.code for c in leaves}) == len(leaves)


def test_detail_defaults_to_the_title_and_is_the_message() -> None:
    assert str(errors.NotFound()) == "Not found"
    assert errors.NotFound().detail == "Not found"
    assert errors.NotFound("No such product.").detail == "No such product."
    assert str(errors.Conflict("Out of stock.")) == "Out of stock."
    # An empty detail is no detail: the title stands in.
    assert errors.Forbidden("").detail == "Forbidden"


def test_server_errors_say_when_to_retry_and_never_leak_details() -> None:
    assert (DBUnavailable.retry_after, PoolExhausted.retry_after) == (5, 1)
    assert errors.QueryTimeout.retry_after is None and errors.NotFound.retry_after is None
    assert DBUnavailable().detail == "The database is unavailable; retry shortly."
    internal = errors.InternalError()
    assert (internal.status, internal.code) == (500, "INTERNAL_SERVER_ERROR")
    assert internal.detail == "An unexpected error occurred."


def test_errors_that_carry_more_than_a_detail() -> None:
    failed = ValidationFailed([FieldError("price", "must be positive")])
    assert failed.errors == [FieldError("price", "must be positive")]
    assert failed.detail == "One or more fields are invalid."
    parameter = InvalidParameter("limit", "must be at most 100")
    assert (parameter.parameter, parameter.detail) == ("limit", "limit: must be at most 100")
    method = MethodNotAllowed(["GET", "HEAD"])
    assert (method.allowed, method.detail) == (["GET", "HEAD"], "Allowed methods: GET, HEAD.")
    limited = RateLimited(7)
    assert limited.retry_after == 7 and limited.headers == {}
    assert limited.detail == "Rate limit reached; retry in 7 s."
    assert RateLimited(1, headers={"RateLimit-Limit": "5"}).headers == {"RateLimit-Limit": "5"}


def test_field_errors_are_frozen_values() -> None:
    assert FieldError("a", "b") == FieldError("a", "b")
    with pytest.raises(AttributeError):
        FieldError("a", "b").field = "c"  # type: ignore[misc]

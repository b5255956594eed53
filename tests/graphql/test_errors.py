"""graphql/errors.py: how errors are formatted (codes, masking, suggestions hidden, request id)
and how many a response may carry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import copy_context
from typing import Any, TypeVar

import pytest
from graphql import GraphQLError, Source, parse

from gateway import telemetry
from gateway.errors import NotFound, QueryTimeout
from gateway.graphql.errors import (
    PARSE_FAILED,
    TOO_MANY_ERRORS,
    VALIDATION_FAILED,
    QueryTooComplex,
    capped,
    codes,
    format_error,
    refusal,
)

T = TypeVar("T")


def in_request(request_id: str, run: Callable[[], T]) -> T:
    """`run()` as the request `request_id` would, leaving this test's own context untouched."""

    def begun() -> T:
        telemetry.begin(request_id)
        return run()

    return copy_context().run(begun)


def _errors(count: int) -> list[dict[str, Any]]:
    return [{"message": f"e{i}", "extensions": {"code": "X"}} for i in range(count)]


def test_up_to_the_limit_every_error_is_kept() -> None:
    errors = _errors(10)
    assert capped(errors, 10) == errors


def test_past_the_limit_the_last_place_says_the_rest_were_left_out() -> None:
    result = in_request("req-1", lambda: capped(_errors(11), 10))
    assert len(result) == 10
    assert [e["message"] for e in result[:9]] == [f"e{i}" for i in range(9)]
    assert result[9] == {
        "message": "Too many errors: only the first 9 are shown.",
        "extensions": {"code": TOO_MANY_ERRORS, "request_id": "req-1"},
    }


def test_a_refusal_reports_its_code_message_and_safe_extensions() -> None:
    error = refusal(QueryTooComplex("cost 2000 is above 1000"))
    error.extensions = {"cost": 2000, "limit": 1000}
    formatted = in_request("req-2", lambda: format_error(error))
    assert formatted["message"] == "cost 2000 is above 1000"
    assert formatted["extensions"] == {
        "cost": 2000,
        "limit": 1000,
        "code": "QUERY_TOO_COMPLEX",
        "request_id": "req-2",
    }


def test_a_gateway_error_wrapped_twice_keeps_its_code_and_path() -> None:
    inner = GraphQLError("wrapped", original_error=NotFound("Product 7 does not exist."))
    outer = GraphQLError("outer", path=["product"], original_error=inner)
    formatted = format_error(outer)
    assert formatted["message"] == "Product 7 does not exist."
    assert formatted["extensions"]["code"] == "NOT_FOUND"
    assert formatted["path"] == ["product"]


def test_syntax_and_validation_errors_get_their_own_codes_and_no_suggestions() -> None:
    with pytest.raises(GraphQLError) as syntax:
        parse(Source("{ products(", "doc"))
    assert format_error(syntax.value)["extensions"]["code"] == PARSE_FAILED
    hinted = GraphQLError('Cannot query field "prodcts" on type "Query". Did you mean "products"?')
    formatted = format_error(hinted)
    assert formatted["extensions"]["code"] == VALIDATION_FAILED
    assert formatted["message"] == 'Cannot query field "prodcts" on type "Query".'


def test_an_unexpected_error_is_masked_and_logged_in_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    leak = RuntimeError('duplicate key value violates unique constraint "users_email_key"')
    error = GraphQLError(str(leak), path=["register"], original_error=leak)
    with caplog.at_level(logging.ERROR, logger="gateway.graphql"):
        formatted = in_request("req-3", lambda: format_error(error))
    assert formatted["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "request_id": "req-3"}
    assert "users_email_key" not in formatted["message"]
    (record,) = caplog.records
    assert record.exc_info is not None and record.exc_info[1] is leak
    assert record.__dict__["request_id"] == "req-3"


def test_a_server_failure_keeps_its_own_code() -> None:
    formatted = format_error(GraphQLError("x", original_error=QueryTimeout()))
    assert formatted["extensions"]["code"] == "QUERY_TIMEOUT"
    assert formatted["message"] == QueryTimeout().detail


def test_codes_lists_each_errors_code_in_order() -> None:
    result = {"errors": [{"extensions": {"code": "A"}}, {"message": "no extensions"}, {}]}
    assert codes(result) == ["A", "", ""]
    assert codes({"data": {}}) == []

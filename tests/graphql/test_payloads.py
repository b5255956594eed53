"""graphql/payloads.py: a mutation's result, or its user-fixable failure, as a payload; the rest
stays an exception (a top-level error)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import (
    Conflict,
    FieldError,
    Forbidden,
    GatewayError,
    IdempotencyKeyReused,
    InvalidParameter,
    NotFound,
    PreconditionFailed,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from gateway.graphql.payloads import camel, payload

pytestmark = pytest.mark.anyio


async def _fails(error: Exception) -> Any:
    raise error


async def _value(value: Any) -> Any:
    return value


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("items.0.product_id", "items.0.productId"),
        ("tag_ids", "tagIds"),
        ("expected_version_number", "expectedVersionNumber"),
        ("name", "name"),
        ("", ""),
    ],
)
def test_field_paths_take_the_schemas_names(path: str, expected: str) -> None:
    assert camel(path) == expected


async def test_a_result_comes_back_under_its_key_with_no_errors() -> None:
    assert await payload("tag", _value({"id": 1})) == {"tag": {"id": 1}, "errors": []}


async def test_each_invalid_field_is_one_user_error_at_its_schema_path() -> None:
    error = ValidationFailed(
        [FieldError("items.0.product_id", "must be an id"), FieldError("", "empty body")]
    )
    result = await payload("order", _fails(error))
    assert result == {
        "order": None,
        "errors": [
            {"code": "VALIDATION_FAILED", "field": "items.0.productId", "message": "must be an id"},
            {"code": "VALIDATION_FAILED", "field": None, "message": "empty body"},
        ],
    }


async def test_an_invalid_parameter_names_its_field() -> None:
    result = await payload("review", _fails(InvalidParameter("product_id", "is not an ID")))
    (error,) = result["errors"]
    assert result["review"] is None
    assert error["code"] == "INVALID_PARAMETER"
    assert error["field"] == "productId"
    assert error["message"] == InvalidParameter("product_id", "is not an ID").detail


@pytest.mark.parametrize(
    "error",
    [
        Conflict("sku taken"),
        NotFound("Product 9 does not exist."),
        PreconditionFailed("version is 3"),
        IdempotencyKeyReused("another body"),
    ],
)
async def test_fixable_failures_become_user_errors_without_a_field(error: GatewayError) -> None:
    result = await payload("product", _fails(error))
    assert result == {
        "product": None,
        "errors": [{"code": error.code, "field": None, "message": error.detail}],
    }


@pytest.mark.parametrize(
    "error", [Unauthenticated("sign in"), Forbidden("admins only"), RateLimited(30), KeyError("x")]
)
async def test_other_failures_stay_top_level_errors(error: Exception) -> None:
    with pytest.raises(type(error)):
        await payload("product", _fails(error))

"""Every REST operation answers bad input with a problem document, never with a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.rest import OPERATIONS
from gateway.rest.spec import Operation
from gateway.settings import Settings
from gateway.tokens import TokenIssuer
from tests.conftest import TEST_JWT_SECRET, app_client, app_settings

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def api(database_url: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
        login_failures_per_address=1_000_000,
    )
    # The account admin() signs for: tokens of accounts that do not exist are refused.
    conn = await asyncpg.connect(database_url)
    try:
        admin_id = await conn.fetchval(
            "INSERT INTO users (email, display_name, password_hash, role) "
            "VALUES ('admin-errors@example.com', 'Admin', '!', 'admin') RETURNING id"
        )
    finally:
        await conn.close()
    assert admin_id == 1
    async with app_client(settings) as http:
        yield http


def admin() -> dict[str, str]:
    defaults = Settings()
    issuer = TokenIssuer(
        TEST_JWT_SECRET,
        issuer=defaults.jwt_issuer,
        audience=defaults.jwt_audience,
        ttl=defaults.access_token_ttl,
    )
    return {"Authorization": f"Bearer {issuer.issue(1, 'admin')}"}


def url(operation: Operation[Any], ident: str = "1") -> str:
    return "/api/v1" + operation.path.replace("{id}", ident)


def label(operation: Operation[Any]) -> str:
    return f"{operation.method} {operation.path}"


WITH_BODY = [op for op in OPERATIONS if op.body is not None]
VALID_BODIES: dict[str, dict[str, Any]] = {
    "ReplaceProductInput": {
        "sku": "S",
        "name": "N",
        "description": "",
        "price": 1,
        "stock": 1,
        "category_id": 1,
        "tag_ids": [],
    },
    "UpdateProductInput": {"name": "N"},
    "UpdateCategoryInput": {"name": "N"},
    "AddReviewInput": {"rating": 3, "title": "T"},
    "UpdateReviewInput": {"title": "T"},
    "StatusChange": {"status": "paid"},
    "RoleInput": {"role": "customer"},
}
WITH_ID = [op for op in OPERATIONS if "{id}" in op.path]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem


@pytest.mark.parametrize("operation", OPERATIONS, ids=label)
@pytest.mark.parametrize("query", ["nope=1", "limit=1&limit=2&nope", "%ff=%00", "=x"])
async def test_unknown_or_repeated_query_parameters_are_400(
    api: httpx.AsyncClient, operation: Operation[Any], query: str
) -> None:
    response = await api.request(operation.method, f"{url(operation)}?{query}", headers=admin())
    assert_problem(response, 400, "INVALID_PARAMETER")
    assert response.headers["x-query-count"] == "0"


@pytest.mark.parametrize("operation", WITH_ID, ids=label)
@pytest.mark.parametrize(
    "ident", ["0", "-1", "007", "1.0", "1e3", "9223372036854775808", "%C2%B2", "%00", "%ff"]
)
async def test_malformed_or_out_of_range_ids_are_400(
    api: httpx.AsyncClient, operation: Operation[Any], ident: str
) -> None:
    # Categories also take a slug; anything else is still refused, only later (404).
    response = await api.request(operation.method, url(operation, ident), headers=admin())
    if operation.path.startswith("/categories/{id}") and operation.method == "GET":
        assert response.status_code in (400, 404)
        assert response.headers["content-type"] == PROBLEM
        return
    assert_problem(response, 400, "INVALID_PARAMETER")
    assert response.headers["x-query-count"] == "0"


@pytest.mark.parametrize("operation", WITH_ID, ids=label)
async def test_absent_ids_are_404(api: httpx.AsyncClient, operation: Operation[Any]) -> None:
    kwargs: dict[str, Any] = {}
    if operation.body is not None:
        kwargs["json"] = VALID_BODIES[operation.body.__name__]
    response = await api.request(
        operation.method, url(operation, "9223372036854775807"), headers=admin(), **kwargs
    )
    assert_problem(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("operation", WITH_BODY, ids=label)
@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/plain", b"{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (None, b"{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("application/json", b'{"name": ', 400, "INVALID_JSON"),
        ("application/json", b'{"price": NaN}', 400, "INVALID_JSON"),
        ("application/json", b'{"price": Infinity}', 400, "INVALID_JSON"),
        ("application/json", b'{"price": 1e999}', 400, "INVALID_JSON"),
        ("application/json", b'{"name": "\\ud800"}', 400, "INVALID_JSON"),
        ("application/json", b'{"name": "\xff"}', 400, "INVALID_JSON"),
        ("application/json", b"[]", 400, "VALIDATION_FAILED"),
        ("application/json", b'"text"', 400, "VALIDATION_FAILED"),
        ("application/json", b'{"unknown_field": 1}', 400, "VALIDATION_FAILED"),
    ],
)
async def test_bodies_that_are_not_the_declared_json_are_refused(
    api: httpx.AsyncClient,
    operation: Operation[Any],
    content_type: str | None,
    body: bytes,
    status: int,
    code: str,
) -> None:
    headers = admin()
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await api.request(operation.method, url(operation), content=body, headers=headers)
    problem = assert_problem(response, status, code)
    if code == "VALIDATION_FAILED":
        assert problem["errors"], "each problem names its field"


@pytest.mark.parametrize("operation", WITH_BODY, ids=label)
async def test_nul_characters_in_any_string_field_are_400(
    api: httpx.AsyncClient, operation: Operation[Any]
) -> None:
    strings = [
        name
        for name, field in operation.body.model_fields.items()  # type: ignore[union-attr]
        if field.annotation is not None and "str" in str(field.annotation)
    ]
    if not strings:
        pytest.skip("no string fields")
    body = dict.fromkeys(strings, "bad\u0000value")
    response = await api.request(operation.method, url(operation), json=body, headers=admin())
    problem = assert_problem(response, 400, "VALIDATION_FAILED")
    assert {e["field"] for e in problem["errors"]} & set(strings)


async def test_unknown_routes_and_methods_are_problems(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/v1/nothing/here")
    assert_problem(missing, 404, "NOT_FOUND")
    wrong = await api.request("TRACE", "/api/v1/products")
    problem = assert_problem(wrong, 405, "METHOD_NOT_ALLOWED")
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert "GET" in problem["detail"]
    item = await api.delete("/api/v1/orders/1")
    assert set(item.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH"}


async def test_validation_lists_every_field_at_fault(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/products",
        json={"sku": "", "name": "x" * 201, "price": -1, "category_id": 0, "id": 5},
        headers=admin(),
    )
    problem = assert_problem(response, 400, "VALIDATION_FAILED")
    assert {e["field"] for e in problem["errors"]} == {"sku", "name", "price", "category_id", "id"}

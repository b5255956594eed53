"""GraphQL over HTTP: what may be sent, and what comes back when things go wrong:
masked unexpected errors, malformed requests, subscriptions refused over HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.db import ConstraintViolation
from gateway.services import products
from tests.conftest import Actors

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    async def fill() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                """
                INSERT INTO categories (slug, name) VALUES ('home', 'Home');
                INSERT INTO products (sku, name, price, stock, category_id)
                VALUES ('L-1', 'Lamp', 10, 1, 1);
                """
            )
        finally:
            await conn.close()

    asyncio.run(fill())
    return database_url


@pytest.fixture
async def api(catalogue: str, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    yield client


@pytest.mark.parametrize(
    "content_type", ["application/graphql", "text/plain; charset=utf-8", "application/xml"]
)
async def test_only_json_bodies_execute(api: httpx.AsyncClient, content_type: str) -> None:
    response = await api.post(
        "/graphql", content=b"{ __typename }", headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_json_with_a_charset_executes(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ([{"query": "{ __typename }"}], "body"),
        ({"variables": {}}, "query"),
        ({"query": 42}, "query"),
        ({"query": ""}, "query"),
        ({"query": "{ __typename }", "variables": [1]}, "variables"),
        ({"query": "{ __typename }", "operationName": 7}, "operationName"),
    ],
)
async def test_malformed_requests_are_400(
    api: httpx.AsyncClient, body: Any, parameter: str
) -> None:
    response = await api.post("/graphql", json=body)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["message"].startswith(parameter)


async def test_an_unknown_or_ambiguous_operation_is_400(api: httpx.AsyncClient) -> None:
    two = "query A { __typename } query B { __typename }"
    for body in ({"query": two}, {"query": two, "operationName": "C"}):
        response = await api.post("/graphql", json=body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    chosen = await api.post("/graphql", json={"query": two, "operationName": "B"})
    assert chosen.json() == {"data": {"__typename": "Query"}}


async def test_a_subscription_over_http_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/graphql", json={"query": 'subscription { productChanged(id: "1") { id } }'}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert "WebSocket" in error["message"]
    assert response.headers["x-query-count"] == "0"


# Masked errors -----------------------------------------------------------------------------

SECRET = "SELECT password_hash FROM users -- products_price_check"


@pytest.mark.parametrize(
    "failure",
    [ConstraintViolation("check", "products_price_check"), RuntimeError(SECRET)],
    ids=["constraint", "exception"],
)
async def test_unexpected_errors_are_masked_and_logged(
    api: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
) -> None:
    # A stand-in for a bug: our own service raising what no caller expects. The services
    # map every constraint they know, so no real request reaches this path; patching the
    # service is the one place these tests fake our own layer, and only to prove masking.
    async def broken(*_: object) -> None:
        raise failure

    monkeypatch.setattr(products, "get_product", broken)
    with caplog.at_level(logging.ERROR, logger="gateway.graphql"):
        response = await api.post("/graphql", json={"query": '{ product(id: "1") { id } }'})
    assert response.status_code == 500
    body = response.json()
    assert body["data"] == {"product": None}
    error = body["errors"][0]
    assert error["message"] == "An unexpected error occurred."
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "request_id": response.headers["x-request-id"],
    }
    for leak in ("products_price_check", "password_hash", "Traceback", "SELECT"):
        assert leak not in response.text
    logged = [r for r in caplog.records if r.name == "gateway.graphql"]
    assert logged and logged[0].exc_info is not None
    assert logged[0].request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]


async def test_a_masked_error_beside_data_keeps_the_data_and_200(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(products, "get_product", broken)
    response = await api.post(
        "/graphql", json={"query": '{ product(id: "1") { id } tags { totalCount } }'}
    )
    assert response.status_code == 200
    assert response.json()["data"]["tags"] == {"totalCount": 0}
    assert SECRET not in response.text


async def test_domain_errors_keep_their_code(api: httpx.AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    response = await api.post(
        "/graphql",
        json={"query": 'mutation { createTag(input: {name: "x"}) { tag { id } } }'},
        headers=customer.headers,
    )
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

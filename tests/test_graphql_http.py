"""GraphQL over HTTP: what may be sent, and what comes back when things go wrong:
masked unexpected errors, malformed requests, subscriptions refused over HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Actors, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        VALUES ('L-1', 'Lamp', 10, 1, 1);
        """,
    )
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


@asynccontextmanager
async def fault(database_url: str, do: str, undo: str) -> AsyncIterator[None]:
    """Break this module's database for a moment, the way a bad deploy or a missing
    migration would, so our own code meets an error nobody planned for (no mocks)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(do)
        yield
    finally:
        await conn.execute(undo)
        await conn.close()


UNKNOWN_CHECK = (
    "ALTER TABLE tags ADD CONSTRAINT tags_secret_check CHECK (name <> 'not-allowed')",
    "ALTER TABLE tags DROP CONSTRAINT tags_secret_check",
)
MISSING_COLUMN = (
    "ALTER TABLE products RENAME COLUMN description TO description_gone",
    "ALTER TABLE products RENAME COLUMN description_gone TO description",
)


def assert_masked(response: httpx.Response, caplog: pytest.LogCaptureFixture) -> None:
    error = response.json()["errors"][0]
    assert error["message"] == "An unexpected error occurred."
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "request_id": response.headers["x-request-id"],
    }
    for leak in ("tags_secret_check", "description", "Traceback", "SELECT", "asyncpg"):
        assert leak not in response.text
    logged = [r for r in caplog.records if r.name == "gateway.graphql"]
    assert logged and logged[0].exc_info is not None
    assert logged[0].request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]


async def test_an_unexpected_constraint_violation_is_masked_and_logged(
    api: httpx.AsyncClient, database_url: str, actors: Actors, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await actors.admin()
    async with fault(database_url, *UNKNOWN_CHECK):
        with caplog.at_level(logging.ERROR, logger="gateway.graphql"):
            response = await api.post(
                "/graphql",
                json={
                    "query": 'mutation { createTag(input: {name: "not-allowed"}) { tag { id } } }'
                },
                headers=admin.headers,
            )
    assert response.status_code == 500
    assert response.json()["data"] is None
    assert_masked(response, caplog)


async def test_an_unexpected_database_error_is_masked_and_logged(
    api: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with fault(database_url, *MISSING_COLUMN):
        with caplog.at_level(logging.ERROR, logger="gateway.graphql"):
            response = await api.post(
                "/graphql", json={"query": '{ product(id: "1") { id description } }'}
            )
    assert response.status_code == 500
    assert response.json()["data"] == {"product": None}
    assert_masked(response, caplog)


async def test_a_masked_error_beside_data_keeps_the_data_and_200(
    api: httpx.AsyncClient, database_url: str
) -> None:
    async with fault(database_url, *MISSING_COLUMN):
        response = await api.post(
            "/graphql",
            json={"query": '{ product(id: "1") { id description } tags { totalCount } }'},
        )
    assert response.status_code == 200
    assert response.json()["data"]["tags"] == {"totalCount": 0}
    assert response.json()["data"]["product"] is None
    assert "description" not in response.text


async def test_domain_errors_keep_their_code(api: httpx.AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    response = await api.post(
        "/graphql",
        json={"query": 'mutation { createTag(input: {name: "x"}) { tag { id } } }'},
        headers=customer.headers,
    )
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

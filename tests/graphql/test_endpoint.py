"""GraphQL over HTTP: what may be sent, and what comes back when things go wrong:
masked unexpected errors, malformed requests, subscriptions refused over HTTP; queries
over GET and HEAD, cacheable, never a mutation."""

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


def vary(response: httpx.Response) -> set[str]:
    """The names in Vary (compression adds Accept-Encoding to every answer it could compress)."""
    return {name.strip() for name in response.headers["vary"].split(",")}


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


async def test_a_backend_failure_is_200_under_graphql_response_json(
    api: httpx.AsyncClient, database_url: str
) -> None:
    # Under application/json it is 500 (above); the spec's own media type promises 2xx
    # whenever the answer holds `data`, so a client reads the errors from the body.
    async with fault(database_url, *MISSING_COLUMN):
        response = await api.post(
            "/graphql",
            json={"query": '{ product(id: "1") { id description } }'},
            headers={"Accept": "application/graphql-response+json"},
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert response.json()["data"] == {"product": None}
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


# GET and HEAD ------------------------------------------------------------------------------

LAMP = "query Lamp($id: ID!) { product(id: $id) { id name } }"


async def test_get_runs_a_query_with_variables_and_answers_304(api: httpx.AsyncClient) -> None:
    params = {"query": LAMP, "variables": '{"id": "1"}', "operationName": "Lamp"}
    first = await api.get("/graphql", params=params)
    assert first.status_code == 200
    assert first.json() == {"data": {"product": {"id": "1", "name": "Lamp"}}}
    assert first.headers["content-type"] == "application/json"
    assert first.headers["cache-control"] == "public, no-cache"
    assert vary(first) == {"Authorization", "Accept", "Accept-Encoding"}
    etag = first.headers["etag"]
    again = await api.get("/graphql", params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert vary(again) == {"Authorization", "Accept", "Accept-Encoding"}
    # The other media type is another representation, with its own tag.
    other = await api.get(
        "/graphql",
        params=params,
        headers={"If-None-Match": etag, "Accept": "application/graphql-response+json"},
    )
    assert other.status_code == 200
    assert other.content == first.content
    assert other.headers["etag"] != etag


async def test_get_treats_empty_parameters_as_absent(api: httpx.AsyncClient) -> None:
    params = {"query": "{ __typename }", "variables": "", "operationName": "", "extensions": ""}
    response = await api.get("/graphql", params=params)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_get_and_head_never_run_a_mutation(
    api: httpx.AsyncClient, actors: Actors, database_url: str, method: str
) -> None:
    admin = await actors.admin()
    for params in (
        {"query": 'mutation { createTag(input: {name: "via-get"}) { tag { id } } }'},
        {
            "query": 'query Q { __typename } mutation M { createTag(input: {name: "via-get"}) { tag { id } } }',
            "operationName": "M",
        },
    ):
        response = await api.request(method, "/graphql", params=params, headers=admin.headers)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.headers["x-query-count"] == "0"
        if method == "GET":
            assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM tags WHERE name = 'via-get'") == 0
    finally:
        await conn.close()


async def test_head_answers_like_get_without_a_body(api: httpx.AsyncClient) -> None:
    params = {"query": LAMP, "variables": '{"id": "1"}'}
    get = await api.get("/graphql", params=params)
    head = await api.head("/graphql", params=params)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "cache-control", "vary"):
        assert head.headers[name] == get.headers[name], name
    cached = await api.head(
        "/graphql", params=params, headers={"If-None-Match": get.headers["etag"]}
    )
    assert cached.status_code == 304
    refused = await api.head("/graphql", params={"query": "{ nope }"})
    assert refused.status_code == 400
    assert refused.content == b""


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"query": "{ __typename }", "debug": "1"}, "debug"),
        ({"variables": '{"id": "1"}'}, "query"),
        ({"query": "{ __typename }", "variables": "[1"}, "variables"),
    ],
)
async def test_malformed_gets_are_400(
    api: httpx.AsyncClient, params: dict[str, str], parameter: str
) -> None:
    response = await api.get("/graphql", params=params)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["message"].startswith(parameter)


async def test_a_repeated_get_parameter_is_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/graphql?query=%7B__typename%7D&query=%7Bnope%7D")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("query")


async def test_graphiql_on_a_plain_get_in_development(api: httpx.AsyncClient) -> None:
    page = await api.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    head = await api.head("/graphql")
    assert head.status_code == 200
    assert head.content == b""

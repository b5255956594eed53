"""GraphQL over HTTP media types: Accept negotiation, the answer's Content-Type and Vary,
406, and the status codes of application/graphql-response+json."""

from __future__ import annotations

import httpx
import pytest

from gateway.http.media import GRAPHQL_RESPONSE, JSON, negotiate
from tests.conftest import run_sql

pytestmark = pytest.mark.anyio


def vary(response: httpx.Response) -> set[str]:
    """The names in Vary (compression adds Accept-Encoding to every answer it could compress)."""
    return {name.strip() for name in response.headers["vary"].split(",")}


GR = "application/graphql-response+json"
GR_TYPE = "application/graphql-response+json; charset=utf-8"


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        (GR, GRAPHQL_RESPONSE),
        (f"{GR}; charset=utf-8", GRAPHQL_RESPONSE),
        # What the spec tells clients to send.
        (f"{GR}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GR}", JSON),  # equal q: the one listed first
        (f"{GR}, application/json", GRAPHQL_RESPONSE),
        (f"{GR};q=0.5, application/json;q=0.9", JSON),
        (f"*/*, {GR}", GRAPHQL_RESPONSE),  # a named type beats the wildcard
        (f"{GR};q=0.2, */*;q=0.1", GRAPHQL_RESPONSE),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE),
        ("APPLICATION/JSON", JSON),
        ("text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", JSON),
        ("text/html", None),
        ("application/xml, text/plain;q=0.5", None),
        (f"{GR};q=0", None),
        (f"{GR};q=nope", None),
        ("nonsense", None),
    ],
)
def test_negotiation(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


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


async def post(api: httpx.AsyncClient, body: object, accept: str | None) -> httpx.Response:
    headers = {"Accept": accept} if accept is not None else {}
    return await api.post("/graphql", json=body, headers=headers)


async def test_the_issue_reproducer_answers_in_the_preferred_type(api: httpx.AsyncClient) -> None:
    response = await post(api, {"query": "{ nope }"}, GR)
    assert response.status_code == 400
    assert response.headers["content-type"] == GR_TYPE
    assert vary(response) == {"Accept", "Accept-Encoding"}
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"query": '{ product(id: "1") { name } }'}, 200, None),
        ({"query": "{"}, 400, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, 400, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "query A { __typename } query B { __typename }"}, 400, None),
        ({"query": "query Q($id: ID!) { product(id: $id) { name } }", "variables": {}}, 400, None),
        ({"query": 42}, 400, "INVALID_PARAMETER"),
        ({"qeury": "{ __typename }"}, 400, "INVALID_PARAMETER"),
        # Executed: field errors travel in the body, the status is 200.
        ({"query": '{ product(id: "999") { name } }'}, 200, "NOT_FOUND"),
    ],
)
async def test_status_codes_of_graphql_response_json(
    api: httpx.AsyncClient, body: object, status: int, code: str | None
) -> None:
    response = await post(api, body, GR)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == GR_TYPE
    answer = response.json()
    # No `data` exactly when the request never executed.
    assert ("data" in answer) is (status == 200)
    if code is not None:
        assert answer["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", f"application/json, {GR}"])
async def test_json_for_everyone_else(api: httpx.AsyncClient, accept: str | None) -> None:
    ok = await post(api, {"query": "{ __typename }"}, accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/json"
    assert vary(ok) == {"Accept", "Accept-Encoding"}
    refused = await post(api, {"query": "{ nope }"}, accept)
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/json"


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_an_accept_that_allows_neither_is_406(api: httpx.AsyncClient, method: str) -> None:
    response = await api.request(
        method,
        "/graphql",
        json={"query": "{ __typename }"} if method == "POST" else None,
        params={"query": "{ __typename }"} if method == "GET" else None,
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/json"
    assert vary(response) == {"Accept", "Accept-Encoding"}
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "NOT_ACCEPTABLE"
    assert GR in error["message"]
    assert response.headers["x-query-count"] == "0"


async def test_transport_refusals_use_the_chosen_type_too(api: httpx.AsyncClient) -> None:
    wrong_type = await api.post(
        "/graphql", content=b"{ __typename }", headers={"Accept": GR, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert wrong_type.headers["content-type"] == GR_TYPE
    wrong_method = await api.put("/graphql", headers={"Accept": GR})
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, HEAD, POST"
    assert wrong_method.headers["content-type"] == GR_TYPE
    assert wrong_method.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"

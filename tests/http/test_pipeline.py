"""The request pipeline (gateway/http/pipeline.py): every answer passes every response stage,
refusals included, and the stages keep their order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import Message

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import app_client, run_sql

pytestmark = pytest.mark.anyio

ORIGIN = "https://shop.example"


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(
        database_url,
        "INSERT INTO categories (slug, name) VALUES ('home', 'Home');"
        "INSERT INTO products (sku, name, price, stock, category_id)"
        " SELECT 'P-' || n, 'Lamp ' || n || repeat(' long name', 10), n, n, 1"
        " FROM generate_series(1, 30) n;",
    )
    return database_url


@pytest.fixture
async def api(settings: Settings, shop: str) -> AsyncIterator[httpx.AsyncClient]:
    configured = replace(
        settings,
        cors_allow_origins=(ORIGIN,),
        allowed_hosts=("testserver",),
        max_body_bytes=1000,
        rate_limit_per_minute=5,
    )
    async with app_client(configured) as http:
        yield http


def answered_by_the_pipeline(response: httpx.Response) -> None:
    """The headers every answer gets on its way out, whoever made it."""
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "x-query-count" in response.headers
    assert "app;dur=" in response.headers["server-timing"]
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in response.headers["vary"]


async def test_refusals_before_the_router_pass_the_response_stages(
    api: httpx.AsyncClient,
) -> None:
    headers = {"Origin": ORIGIN}
    broken = await api.get("/api/v1/products", headers={**headers, "Authorization": "Bearer x"})
    assert broken.status_code == 401
    large = await api.post(
        "/api/v1/tags", content=b"x" * 2000, headers={**headers, "Content-Type": "application/json"}
    )
    assert large.status_code == 413
    elsewhere = await api.get("/api/v1/products", headers={**headers, "Host": "evil.example"})
    assert elsewhere.status_code == 400
    for refused in (broken, large, elsewhere):
        answered_by_the_pipeline(refused)
        assert refused.headers["content-type"] == "application/problem+json"
    preflight = await api.options(
        "/api/v1/products",
        headers={**headers, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    answered_by_the_pipeline(preflight)
    for _ in range(5):
        await api.get("/api/v1/tags", headers=headers)
    limited = await api.get("/api/v1/tags", headers=headers)
    assert limited.status_code == 429
    answered_by_the_pipeline(limited)
    assert limited.headers["ratelimit-remaining"] == "0"


@pytest.mark.parametrize(
    "condition", [{"If-None-Match": "*"}, {"If-Match": '"nothing-like-it"'}, {"If-Match": "0"}]
)
async def test_an_error_answer_is_never_judged_as_a_representation(
    api: httpx.AsyncClient, condition: dict[str, str]
) -> None:
    # Held for compression like any large enough answer; still a 400 or 404, never 304/412.
    headers = {"Accept-Encoding": "gzip", **condition}
    missing = await api.get("/api/v1/products/999?fields=name", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    repeated = await api.get("/api/v1/tags?limit=1&limit=2", headers=headers)
    assert repeated.status_code == 400
    assert repeated.json()["code"] == "INVALID_PARAMETER"


async def test_a_read_is_judged_then_compressed_then_labelled(api: httpx.AsyncClient) -> None:
    plain = await api.get("/api/v1/products?limit=30")
    assert plain.status_code == 200 and len(plain.content) > 1024
    tag = plain.headers["etag"]
    compressed = await api.get("/api/v1/products?limit=30", headers={"Accept-Encoding": "br"})
    assert compressed.headers["content-encoding"] == "br"
    assert compressed.headers["etag"] == tag[:-1] + '-br"'
    assert compressed.headers["vary"].count("Accept-Encoding") == 1
    again = await api.get(
        "/api/v1/products?limit=30",
        headers={"Accept-Encoding": "br", "If-None-Match": compressed.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == compressed.headers["etag"]
    assert again.headers["x-content-type-options"] == "nosniff"
    assert again.headers["cache-control"] == "public, max-age=30"


async def test_a_client_gone_before_its_body_arrived_is_no_server_error(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # What uvicorn hands the app when the client closes its connection half-way through
    # the body (bench/scaleout.py met it as wrk stopped mid-request): the gateway used to
    # log an "unhandled error" with a traceback and count a 500.
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"query": "{ produ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", b"200"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    async with LifespanManager(create_app(settings)) as manager:
        with caplog.at_level(logging.INFO):
            await manager.app(scope, receive, send)
    assert sent == []
    assert "unhandled error" not in caplog.text
    [access] = [r for r in caplog.records if r.name == "gateway.access"]
    assert access.__dict__["status"] == 499

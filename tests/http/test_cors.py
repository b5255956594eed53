"""CORS: preflights answered for the origins CORS_ALLOW_ORIGINS lists, nothing for others."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.http.cors import ALLOW_HEADERS, EXPOSE_HEADERS
from gateway.settings import Settings, SettingsError
from tests.conftest import app_client, run_sql

pytestmark = pytest.mark.anyio

APP = "https://app.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'C-' || n, 'Product ' || n, n, 5, 1 FROM generate_series(1, 3) n;
        """,
    )
    return database_url


@pytest.fixture
async def api(shop: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, cors_allow_origins=(APP, "http://localhost:5173")) as http:
        yield http


def preflight(
    method: str, headers: str = "authorization, content-type", origin: str = APP
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith(("access-control-", "timing-allow-origin"))
    }


def vary(response: httpx.Response) -> set[str]:
    return {
        item.strip().lower()
        for value in response.headers.get_list("vary")
        for item in value.split(",")
    }


@pytest.mark.parametrize(
    ("path", "request_method", "methods"),
    [
        ("/api/v1/products/1", "PATCH", {"GET", "HEAD", "PATCH", "PUT", "DELETE"}),
        ("/api/v1/products", "POST", {"GET", "HEAD", "POST"}),
        ("/api/v1/orders/7/cancel", "POST", {"POST"}),
        ("/graphql", "POST", {"GET", "HEAD", "POST"}),
    ],
)
async def test_a_preflight_from_an_allowed_origin_is_answered_for_its_path(
    api: httpx.AsyncClient, path: str, request_method: str, methods: set[str]
) -> None:
    headers = "authorization, content-type, if-match, if-none-match, idempotency-key, x-request-id"
    response = await api.options(path, headers=preflight(request_method, headers))
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == APP
    allowed = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert allowed == methods
    asked = {h.strip() for h in headers.split(",")}
    offered = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert asked <= offered
    assert int(response.headers["access-control-max-age"]) > 0
    assert "origin" in vary(response)
    assert "access-control-allow-credentials" not in response.headers
    # The other configured origin, as a dev server on localhost would send it.
    local = await api.options(
        path, headers=preflight(request_method, origin="http://localhost:5173")
    )
    assert local.status_code == 204
    assert local.headers["access-control-allow-origin"] == "http://localhost:5173"


async def test_a_preflight_from_another_origin_gets_nothing_cors(api: httpx.AsyncClient) -> None:
    response = await api.options("/api/v1/products/1", headers=preflight("PATCH", origin=OTHER))
    assert response.status_code == 405
    assert cors_headers(response) == {}
    # Lookalikes of an allowed origin are other origins.
    for lookalike in (APP + ".evil.net", "http://app.example.com", APP + ":8443", "null"):
        answer = await api.options("/api/v1/products", headers=preflight("POST", origin=lookalike))
        assert answer.status_code == 405, lookalike
        assert cors_headers(answer) == {}, lookalike


async def test_without_configured_origins_there_is_no_cross_origin_access(
    shop: str, settings: Settings
) -> None:
    assert settings.cors_allow_origins == ()
    async with app_client(settings) as http:
        response = await http.options("/api/v1/products", headers=preflight("POST"))
        assert response.status_code == 405
        assert cors_headers(response) == {}
        read = await http.get("/api/v1/products", headers={"Origin": APP})
        assert read.status_code == 200
        assert cors_headers(read) == {}
        assert "origin" not in vary(read)


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/api/v1/products", {}, 200),
        ("GET", "/api/v1/products/99", {}, 404),
        ("GET", "/api/v1/users/me", {}, 401),
        ("GET", "/api/v1/products", {"Authorization": "Bearer nonsense"}, 401),
        ("POST", "/api/v1/products", {"Content-Type": "application/json"}, 401),
        ("POST", "/graphql", {"Content-Type": "application/json"}, 400),
    ],
)
async def test_answers_to_an_allowed_origin_are_readable_by_its_pages(
    api: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = await api.request(method, path, headers={"Origin": APP, **headers}, content=b"{}")
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == APP
    exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
    assert set(EXPOSE_HEADERS) <= exposed
    assert {"ETag", "Link", "Location", "Retry-After", "X-Request-ID"} <= exposed
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= exposed
    assert "origin" in vary(response)


async def test_a_conditional_read_from_an_allowed_origin_keeps_its_cors_headers(
    api: httpx.AsyncClient,
) -> None:
    first = await api.get("/api/v1/products/1", headers={"Origin": APP})
    again = await api.get(
        "/api/v1/products/1", headers={"Origin": APP, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["access-control-allow-origin"] == APP
    assert "origin" in vary(again)


async def test_other_origins_and_same_origin_reads_say_vary_origin_and_allow_nothing(
    api: httpx.AsyncClient,
) -> None:
    # A shared cache must not hand the answer without CORS headers to an allowed origin's
    # page (or the other way round): every answer varies by Origin.
    for headers in ({"Origin": OTHER}, {}):
        response = await api.get("/api/v1/products", headers=headers)
        assert response.status_code == 200
        assert cors_headers(response) == {}
        assert "origin" in vary(response)


async def test_any_origin_with_a_star(shop: str, settings: Settings) -> None:
    async with app_client(settings, cors_allow_origins=("*",)) as http:
        response = await http.options("/api/v1/products", headers=preflight("POST", origin=OTHER))
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == "*"
        read = await http.get("/api/v1/products")
        assert read.headers["access-control-allow-origin"] == "*"
        assert "origin" not in vary(read)


async def test_a_preflight_for_a_path_that_does_not_exist_is_not_answered(
    api: httpx.AsyncClient,
) -> None:
    response = await api.options("/api/v1/nothing-here", headers=preflight("GET"))
    assert response.status_code == 404
    assert "access-control-allow-methods" not in response.headers


def test_allowed_headers_are_what_the_api_reads() -> None:
    assert set(ALLOW_HEADERS) == {
        "Authorization",
        "Content-Type",
        "If-Match",
        "If-None-Match",
        "Idempotency-Key",
        "X-Request-ID",
    }


def test_the_setting_takes_origins_and_refuses_what_is_not_one() -> None:
    env = {"CORS_ALLOW_ORIGINS": " https://App.example.com , http://localhost:5173 "}
    assert Settings.from_env(env).cors_allow_origins == (APP, "http://localhost:5173")
    assert Settings.from_env({}).cors_allow_origins == ()
    assert Settings.from_env({"CORS_ALLOW_ORIGINS": "*"}).cors_allow_origins == ("*",)
    for bad in (
        "https://app.example.com/",
        "app.example.com",
        "https://app.example.com/x",
        "ftp://a",
    ):
        with pytest.raises(SettingsError, match="CORS_ALLOW_ORIGINS"):
            Settings.from_env({"CORS_ALLOW_ORIGINS": bad})

"""What gateway/rest/docs.py serves: /openapi.json built once for the configured PUBLIC_URL,
the /docs page wired to it with no outside calls, and only the named Swagger UI assets, each
with its media type."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import version

import httpx
import pytest

from gateway.rest import OPERATIONS
from gateway.rest.docs import ASSETS, openapi_document
from tests.conftest import app_client, app_settings

pytestmark = pytest.mark.anyio

PUBLIC = "https://api.example.com"


@pytest.fixture(scope="module")
async def api(database_url: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = app_settings(
        database_url,
        redis_url,
        public_url=PUBLIC,
        cache_enabled=True,
        rate_limit_per_minute=600,
    )
    async with app_client(settings) as http:
        yield http


def test_the_document_names_the_public_url_or_this_host() -> None:
    assert openapi_document(public_url=PUBLIC)["servers"] == [
        {"url": PUBLIC, "description": "This gateway."}
    ]
    assert openapi_document()["servers"][0]["url"] == "/"


def test_the_document_carries_the_installed_version_and_every_operation() -> None:
    document = openapi_document()
    assert document["info"]["version"] == version("gateway")
    ids = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    assert ids == {operation.operation_id for operation in OPERATIONS}


async def test_openapi_json_is_the_document_for_the_configured_public_url(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == openapi_document(public_url=PUBLIC)


async def test_the_page_loads_the_document_and_calls_no_validator(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'url: "/openapi.json"' in page.text
    assert "validatorUrl: null" in page.text
    assert "http" not in page.text.replace("http-equiv", "")


@pytest.mark.parametrize(("name", "media_type"), sorted(ASSETS.items()))
async def test_each_asset_is_served_with_its_media_type(
    api: httpx.AsyncClient, name: str, media_type: str
) -> None:
    response = await api.get(f"/docs/assets/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert len(response.content) > 100


@pytest.mark.parametrize("name", ["index.html", "swagger-ui.js", "..%2Fpyproject.toml"])
async def test_any_other_asset_is_a_404_problem(api: httpx.AsyncClient, name: str) -> None:
    response = await api.get(f"/docs/assets/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"


async def test_the_documentation_is_read_only(api: httpx.AsyncClient) -> None:
    response = await api.post("/openapi.json")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


def test_each_caller_gets_a_document_of_its_own() -> None:
    # The document is built once per process; what a caller does to its copy stays there.
    first = openapi_document()
    first["paths"].clear()
    assert openapi_document()["paths"]

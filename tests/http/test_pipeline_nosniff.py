"""`X-Content-Type-Options: nosniff` on every answer: data, problems, pages, assets, metrics."""

from __future__ import annotations

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import app_client

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/api/v1/products", {}, 200),
        ("GET", "/api/v1/products/999", {}, 404),
        ("GET", "/api/v1/products?nope=1", {}, 400),
        ("GET", "/api/v1/users/me", {}, 401),
        ("DELETE", "/api/v1/products", {}, 405),
        ("GET", "/nowhere", {}, 404),
        ("POST", "/graphql", {"Content-Type": "application/json"}, 400),
        ("GET", "/docs", {}, 200),
        ("GET", "/docs/assets/swagger-ui.css", {}, 200),
        ("GET", "/openapi.json", {}, 200),
        ("GET", "/compare", {}, 200),
        ("GET", "/metrics", {}, 200),
        ("GET", "/livez", {}, 200),
        ("GET", "/readyz", {}, 200),
    ],
)
async def test_every_answer_says_nosniff(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = await client.request(method, path, headers=headers, content=b"{}")
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_not_modified_preflight_and_refused_host_answers_say_it_too(
    settings: Settings,
) -> None:
    async with app_client(
        settings, cors_allow_origins=("https://app.example.com",), allowed_hosts=("testserver",)
    ) as http:
        first = await http.get("/openapi.json")
        again = await http.get("/openapi.json", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        preflight = await http.options(
            "/api/v1/products",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        refused = await http.get("/livez", headers={"Host": "evil.example"})
        assert refused.status_code == 400
        for response in (again, preflight, refused):
            assert response.headers["x-content-type-options"] == "nosniff"

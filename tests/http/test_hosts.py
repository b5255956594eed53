"""The Host header: never echoed into Link or Location, and checked against ALLOWED_HOSTS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.types import Message

from gateway.app import create_app
from gateway.settings import PRODUCTION_HOSTS, Settings, SettingsError
from tests.conftest import Actors, app_client, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'H-' || n, 'Product ' || n, n, 5, 1 FROM generate_series(1, 5) n;
        """,
    )
    return database_url


@pytest.fixture
async def api(shop: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as http:
        yield http


def next_link(response: httpx.Response) -> str:
    link = response.headers["link"]
    assert link.startswith("<") and link.endswith('>; rel="next"')
    return link[1 : -len('>; rel="next"')]


@pytest.mark.parametrize("host", ["evil.example", "testserver", "127.0.0.1:8000"])
async def test_the_next_link_is_relative_whatever_the_host(
    api: httpx.AsyncClient, host: str
) -> None:
    response = await api.get(
        "/api/v1/products?limit=2&fields=name,price&sort=-price", headers={"Host": host}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")
    url = next_link(response)
    assert url.startswith("/api/v1/products?")
    assert "evil" not in response.headers["link"] and "//" not in url
    assert "after=" + response.json()["page"]["next_cursor"] in url
    following = await api.get(url)
    assert following.status_code == 200
    assert [p["price"] for p in following.json()["data"]] == [3.0, 2.0]
    assert set(following.json()["data"][0]) == {"id", "name", "price"}


async def test_each_next_link_carries_the_query_and_one_fresh_after(
    api: httpx.AsyncClient,
) -> None:
    url = "/api/v1/products?limit=1&fields=name,price&sort=-price"
    seen: list[int] = []
    for _ in range(3):
        response = await api.get(url)
        assert response.status_code == 200
        seen.append(response.json()["data"][0]["id"])
        url = next_link(response)
        query = parse_qsl(urlsplit(url).query)
        assert query[:3] == [("limit", "1"), ("fields", "name,price"), ("sort", "-price")]
        assert query[3:] == [("after", response.json()["page"]["next_cursor"])]
    assert len(set(seen)) == 3


async def test_location_is_relative_whatever_the_host(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    created = await api.post(
        "/api/v1/tags", json={"name": "hosted"}, headers={**admin.headers, "Host": "evil.example"}
    )
    assert created.status_code == 201
    assert created.headers["location"] == f"/api/v1/tags/{created.json()['data']['id']}"


async def test_a_public_url_makes_links_absolute_under_it(
    shop: str, settings: Settings, actors: Actors
) -> None:
    public = "https://api.example.com"
    async with app_client(settings, public_url=public) as http:
        page = await http.get("/api/v1/products?limit=2", headers={"Host": "evil.example"})
        assert next_link(page).startswith(public + "/api/v1/products?limit=2&after=")
        admin = await actors.admin()
        created = await http.post(
            "/api/v1/tags", json={"name": "public"}, headers={**admin.headers, "Host": "x.example"}
        )
        assert created.headers["location"] == f"{public}/api/v1/tags/{created.json()['data']['id']}"
        document = (await http.get("/openapi.json")).json()
        assert document["servers"] == [{"url": public, "description": "This gateway."}]


ALLOWED = ("api.example.com", "*.example.org", "[::1]", "127.0.0.1")


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("api.example.com", 200),
        ("API.Example.com:8443", 200),
        ("shop.example.org", 200),
        ("a.b.example.org", 200),
        ("[::1]:8000", 200),
        ("127.0.0.1", 200),
        ("example.org", 400),
        ("evil.example", 400),
        ("api.example.com.evil.example", 400),
        ("api.example.com@evil.example", 400),
        ("", 400),
    ],
)
async def test_only_allowed_hosts_are_served(
    shop: str, settings: Settings, host: str, status: int
) -> None:
    async with app_client(settings, allowed_hosts=ALLOWED) as http:
        response = await http.get("/api/v1/products/1", headers={"Host": host})
        assert response.status_code == status
        if status == 400:
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["code"] == "INVALID_PARAMETER"
            assert body["detail"].startswith("Host:")
            assert body["request_id"] == response.headers["x-request-id"]
            assert response.headers["x-query-count"] == "0"


async def test_a_websocket_to_another_host_is_refused(settings: Settings) -> None:
    app = create_app(Settings(**{**_fields(settings), "allowed_hosts": ("api.example.com",)}))
    sent: list[Message] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "headers": [
            (b"host", b"evil.example"),
            (b"sec-websocket-protocol", b"graphql-transport-ws"),
        ],
        "subprotocols": ["graphql-transport-ws"],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    await app(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


def test_allowed_hosts_defaults_and_forms() -> None:
    assert Settings.from_env({}).allowed_hosts == ("*",)
    production = Settings.from_env({"GATEWAY_ENV": "production", "JWT_SECRET": "x" * 40})
    assert production.allowed_hosts == PRODUCTION_HOSTS == ("localhost", "127.0.0.1", "[::1]")
    given = Settings.from_env({"ALLOWED_HOSTS": "API.example.com, *.example.org,[::1]"})
    assert given.allowed_hosts == ("api.example.com", "*.example.org", "[::1]")
    for bad in ("https://api.example.com", "api.example.com:8000", "api.*.com", "*example.com"):
        with pytest.raises(SettingsError, match="ALLOWED_HOSTS"):
            Settings.from_env({"ALLOWED_HOSTS": bad})


def test_public_url_forms() -> None:
    assert Settings.from_env({}).public_url is None
    given = Settings.from_env({"PUBLIC_URL": "https://api.example.com/"})
    assert given.public_url == "https://api.example.com"
    for bad in ("api.example.com", "ftp://api.example.com", "https://api.example.com/?x=1"):
        with pytest.raises(SettingsError, match="PUBLIC_URL"):
            Settings.from_env({"PUBLIC_URL": bad})

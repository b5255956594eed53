"""What gateway/rest/tags.py decides: the /tags routes and methods, the list and item
representations on both read paths, fields= names, 201 with Location and 204 on delete."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Actors, app_client, app_settings, reference, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def module_settings(database_url: str, redis_url: str) -> Settings:
    run_sql(database_url, "INSERT INTO tags (name) VALUES ('warm'), ('bright'), ('cold')")
    return app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
    )


@pytest.fixture(scope="module")
async def api(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def services(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def admin(module_settings: Settings) -> dict[str, str]:
    return (await Actors(module_settings.database_url or "", module_settings).admin()).headers


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tags",
        "/api/v1/tags?limit=2",
        "/api/v1/tags?sort=-name&count=exact",
        "/api/v1/tags?fields=name",
        "/api/v1/tags/2",
        "/api/v1/tags/2?fields=id",
    ],
)
async def test_both_read_paths_answer_the_same_bytes(
    api: httpx.AsyncClient, services: httpx.AsyncClient, url: str
) -> None:
    planned, served = await api.get(url), await services.get(url)
    assert planned.status_code == served.status_code == 200
    assert planned.content == served.content
    assert planned.headers.get("link") == served.headers.get("link")


async def test_the_list_sorts_by_name_and_pages_with_a_link(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/tags?limit=2")
    body = response.json()
    assert body["data"] == [{"id": 2, "name": "bright"}, {"id": 3, "name": "cold"}]
    assert body["page"] == {"limit": 2, "next_cursor": body["page"]["next_cursor"]}
    cursor = body["page"]["next_cursor"]
    assert response.headers["link"] == f'</api/v1/tags?limit=2&after={cursor}>; rel="next"'
    last = (await api.get(f"/api/v1/tags?limit=2&after={cursor}")).json()
    assert last["data"] == [{"id": 1, "name": "warm"}]
    assert last["page"]["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("fields=slug", "fields"), ("sort=id", "sort"), ("include=products", "include")],
)
async def test_what_tags_do_not_have_is_400(
    api: httpx.AsyncClient, query: str, parameter: str
) -> None:
    for url in (f"/api/v1/tags?{query}", f"/api/v1/tags/1?{query.replace('sort', 'limit')}"):
        response = await api.get(url)
        assert response.status_code == 400, url
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "INVALID_PARAMETER"


async def test_an_absent_tag_is_404_naming_it(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/tags/404")
    assert response.status_code == 404
    assert response.json()["detail"] == "Tag 404 does not exist."


async def test_create_is_201_with_location_and_delete_is_204(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await api.post("/api/v1/tags", json={"name": "oak-wood"}, headers=admin)
    assert created.status_code == 201
    tag = created.json()["data"]
    assert set(tag) == {"id", "name"} and tag["name"] == "oak-wood"
    assert created.headers["location"] == f"/api/v1/tags/{tag['id']}"
    assert (await api.get(created.headers["location"])).json() == {"data": tag}
    deleted = await api.delete(created.headers["location"], headers=admin)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await api.get(created.headers["location"])).status_code == 404


async def test_writes_are_for_admins(api: httpx.AsyncClient, module_settings: Settings) -> None:
    customer = await Actors(module_settings.database_url or "", module_settings).customer()
    assert (await api.post("/api/v1/tags", json={"name": "x"})).status_code == 401
    refused = await api.delete("/api/v1/tags/1", headers=customer.headers)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/tags", {"GET", "HEAD", "POST"}),
        ("PATCH", "/api/v1/tags/1", {"GET", "HEAD", "DELETE"}),
        ("POST", "/api/v1/tags/1", {"GET", "HEAD", "DELETE"}),
    ],
)
async def test_other_methods_are_405_with_allow(
    api: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].split(", ")) == allowed

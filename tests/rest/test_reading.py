"""What gateway/rest/reading.py owns: a REST read as one planned statement whose bytes become
the body behind `{"data":`, the next-page Link, the caller's kind, the error raised when the
row is absent, and the bounded memory of read shapes (one per shape, not per value)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest

from gateway.principal import ANONYMOUS, Principal
from gateway.rest import reading
from gateway.settings import Settings
from tests.conftest import Actors, app_client, app_settings, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def module_settings(database_url: str, redis_url: str) -> Settings:
    run_sql(
        database_url,
        """
        INSERT INTO tags (name) SELECT 'tag-' || n FROM generate_series(1, 5) n;
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'P-' || n, 'Lamp ' || n, n, n, 1 FROM generate_series(1, 3) n;
        """,
    )
    return app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
    )


@pytest.fixture(scope="module")
async def api(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(module_settings) as http:
        yield http


def test_the_caller_is_anonymous_a_user_or_an_admin() -> None:
    assert reading.caller_of(ANONYMOUS) == "anonymous"
    assert reading.caller_of(Principal(7, "customer")) == "user"
    assert reading.caller_of(Principal(7, "admin")) == "admin"


async def test_one_resource_is_one_statement_inside_the_envelope(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/tags/3")
    assert response.status_code == 200
    assert response.content.startswith(b'{"data":{')
    assert response.json() == {"data": {"id": 3, "name": "tag-3"}}
    assert response.headers["x-query-count"] == "1"
    assert response.headers["content-type"] == "application/json"


async def test_a_page_is_one_statement_with_a_link_while_there_is_more(
    api: httpx.AsyncClient,
) -> None:
    first = await api.get("/api/v1/tags?limit=4&count=exact")
    assert first.headers["x-query-count"] == "1"
    page = first.json()["page"]
    assert page["total"] == 5 and page["limit"] == 4
    assert first.headers["link"] == (
        f'</api/v1/tags?limit=4&count=exact&after={page["next_cursor"]}>; rel="next"'
    )
    last = await api.get(f"/api/v1/tags?limit=4&count=exact&after={page['next_cursor']}")
    assert [t["id"] for t in last.json()["data"]] == [5]
    assert "link" not in last.headers


async def test_an_absent_row_raises_the_error_the_handler_named(api: httpx.AsyncClient) -> None:
    one = await api.get("/api/v1/tags/99")
    assert one.status_code == 404 and one.json()["detail"] == "Tag 99 does not exist."
    parent = await api.get("/api/v1/products/99/reviews")
    assert parent.status_code == 404 and parent.json()["detail"] == "Product 99 does not exist."
    assert parent.headers["x-query-count"] == "1"


async def test_the_signed_in_callers_id_is_bound(
    api: httpx.AsyncClient, module_settings: Settings
) -> None:
    actors = Actors(module_settings.database_url or "", module_settings)
    first, second = await actors.customer("first"), await actors.customer("second")
    for actor in (first, second):
        me = (await api.get("/api/v1/users/me", headers=actor.headers)).json()["data"]
        assert me["id"] == actor.user_id and me["display_name"] == actor.email.split("-")[0]


async def test_a_shape_is_built_once_whatever_its_values(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "_shapes", OrderedDict())
    for tag_id in (1, 2, 3, 99):
        await api.get(f"/api/v1/tags/{tag_id}?fields=name")
    assert len(reading._shapes) == 1
    await api.get("/api/v1/tags/1?fields=id")
    assert len(reading._shapes) == 2


async def test_the_shapes_kept_are_bounded_the_oldest_going_first(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "_shapes", OrderedDict())
    monkeypatch.setattr(reading, "MAX_SHAPES", 2)
    for query in ("sort=name", "sort=-name", "sort=name&fields=name"):
        assert (await api.get(f"/api/v1/tags?{query}")).status_code == 200
    assert len(reading._shapes) == 2
    oldest, newest = (cast(tuple[Any, ...], key) for key in reading._shapes)
    assert "-name" in oldest and ("name",) in newest
    # A forgotten shape is built again and answers the same.
    again = await api.get("/api/v1/tags?sort=name&limit=1")
    assert again.json()["data"] == [{"id": 1, "name": "tag-1"}]

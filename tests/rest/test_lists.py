"""What gateway/rest/lists.py builds: the `{"data": ...}` envelope and its `page`, sparse
items, ETag-carrying bodies, and the next-page Link (relative or under PUBLIC_URL, the query
kept in order with `after` last, never the request's Host)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from gateway.cache import MemoryCache
from gateway.http import etags
from gateway.reads.pagination import Page
from gateway.rest.lists import (
    item_response,
    list_response,
    next_link,
    next_page_url,
    sparse,
    tagged,
)
from gateway.settings import Settings
from tests.conftest import service_resources

ITEM = {"id": 1, "name": "Lamp", "price": 2.5, "category": {"id": 3}}


def request(path: str, query: str = "", public_url: str | None = None) -> Request:
    """A request as the pipeline hands it on: its resources in the scope's state."""
    cache = MemoryCache()
    settings = Settings(public_url=public_url, cache_prefix="t", cache_enabled=False)
    resources = service_resources(cache, settings, limit=1)
    scope = {
        "type": "http",
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"host", b"evil.example")],
        "state": {"resources": resources},
    }
    return Request(scope)


def body(response: Any) -> Any:
    return orjson.loads(bytes(response.body))


def test_the_next_page_keeps_the_query_in_order_with_after_last() -> None:
    url = next_page_url(request("/api/v1/tags", "sort=-name&limit=2"), "Q1")
    assert url == "/api/v1/tags?sort=-name&limit=2&after=Q1"
    assert next_page_url(request("/api/v1/tags"), "Q1") == "/api/v1/tags?after=Q1"


def test_the_previous_after_is_replaced_wherever_it_stood() -> None:
    for query in ("after=OLD&limit=2", "limit=2&after=OLD", "after=OLD&limit=2&after=X-_9"):
        assert next_page_url(request("/t", query), "NEW") == "/t?limit=2&after=NEW", query


def test_values_are_re_encoded_as_starlette_writes_them() -> None:
    url = next_page_url(request("/t", "fields=id,name&q=a b&x=%2F"), "C")
    assert url == "/t?fields=id%2Cname&q=a+b&x=%2F&after=C"


def test_a_long_query_is_kept_the_same_way() -> None:
    # Past the remembered length the query is parsed afresh; the answer is the same.
    names = "&".join(f"p{n}=v{n}" for n in range(80))
    assert len(names) > 512
    url = next_page_url(request("/t", f"after=OLD&{names}"), "C")
    assert url == f"/t?{names}&after=C"


def test_the_link_is_under_public_url_never_the_host() -> None:
    given = request("/api/v1/tags", "limit=1", public_url="https://shop.example.com")
    assert (
        next_link(given, "C")
        == '<https://shop.example.com/api/v1/tags?limit=1&after=C>; rel="next"'
    )
    assert "evil.example" not in next_link(request("/api/v1/tags", "limit=1"), "C")


def test_a_path_with_reserved_characters_stays_one_path() -> None:
    assert next_page_url(request("/a?b#c"), "C") == "/a%3Fb%23c?after=C"


def test_a_list_has_its_page_and_a_link_only_when_there_is_more() -> None:
    more = list_response(request("/t", "limit=1"), Page([ITEM], ["c1"], "c1", total=5), 1)
    assert body(more) == {"data": [ITEM], "page": {"limit": 1, "next_cursor": "c1", "total": 5}}
    assert more.headers["link"] == '</t?limit=1&after=c1>; rel="next"'
    last = list_response(request("/t"), Page([ITEM], ["c1"], None), 20)
    assert body(last) == {"data": [ITEM], "page": {"limit": 20, "next_cursor": None}}
    assert "link" not in last.headers


def test_fields_keep_the_id_the_named_ones_and_the_kept_relations() -> None:
    assert sparse(ITEM, ["price"]) == {"id": 1, "price": 2.5}
    assert sparse(ITEM, ["price"], ["category"]) == {"id": 1, "price": 2.5, "category": {"id": 3}}
    assert list(sparse(ITEM, ["price", "name"])) == ["id", "name", "price"]
    listed = list_response(request("/t"), Page([ITEM], ["c"], None), 5, fields=["name"])
    assert body(listed)["data"] == [{"id": 1, "name": "Lamp"}]
    assert body(item_response(ITEM, fields=["name"])) == {"data": {"id": 1, "name": "Lamp"}}
    assert body(item_response(ITEM)) == {"data": ITEM}


def test_a_tagged_body_carries_the_etag_of_its_bytes() -> None:
    response = tagged({"data": ITEM}, status=201, headers={"Location": "/x"})
    assert response.status_code == 201
    assert response.headers["location"] == "/x"
    assert response.headers["etag"] == etags.of(bytes(response.body))
    assert response.headers["content-type"] == "application/json"
    assert tagged({"data": ITEM}).headers["etag"] == response.headers["etag"]
    assert tagged({"data": {}}).headers["etag"] != response.headers["etag"]

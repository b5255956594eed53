"""The declaration contract of gateway/rest/spec.py: one Operation gives a route, its methods
(405 with Allow), its access check before any parsing, its query parsing (repeats joined only
for lists), If-Match / If-None-Match judged as declared, per-user Cache-Control and Location
under PUBLIC_URL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from gateway.errors import InvalidParameter
from gateway.rest import OPERATIONS, ROUTES, spec
from gateway.rest.categories import CategoryListQuery
from gateway.rest.spec import (
    Answer,
    Call,
    NoQuery,
    Operation,
    list_parameters,
    query_values,
    routes,
)
from gateway.rest.tags import TagListQuery
from gateway.settings import Settings
from tests.conftest import Actors, app_client, app_settings, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def module_settings(database_url: str, redis_url: str) -> Settings:
    run_sql(database_url, "INSERT INTO tags (name) VALUES ('bright'), ('warm'), ('cold')")
    return app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
        public_url="https://shop.example.com",
    )


@pytest.fixture(scope="module")
async def api(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def admin(module_settings: Settings) -> dict[str, str]:
    actor = await Actors(module_settings.database_url or "", module_settings).admin()
    return actor.headers


@pytest.fixture(scope="module")
async def customer(module_settings: Settings) -> dict[str, str]:
    actor = await Actors(module_settings.database_url or "", module_settings).customer()
    return actor.headers


def request_with(query: str) -> Request:
    return Request({"type": "http", "query_string": query.encode(), "headers": []})


async def _noop(call: Call[NoQuery]) -> Response:
    return Response(status_code=204)


# Pure declarations -------------------------------------------------------------------------


def test_a_method_declared_twice_on_one_path_is_refused() -> None:
    twice = [Operation("GET", "/x", _noop, "X", "t", NoQuery, Answer()) for _ in range(2)]
    with pytest.raises(ValueError, match="GET /x is declared twice"):
        routes(twice)


def test_one_route_per_path_with_every_declared_method() -> None:
    built = routes(OPERATIONS)
    paths = [route.path for route in built]
    assert len(paths) == len(set(paths))
    declared: dict[str, set[str]] = {}
    for operation in OPERATIONS:
        declared.setdefault(operation.path, set()).add(operation.method)
    for route in built:
        # Starlette adds HEAD wherever GET is.
        assert (route.methods or set()) - {"HEAD"} == declared[route.path]


def test_a_fixed_path_shadowed_by_a_template_claims_every_method() -> None:
    me = next(route for route in ROUTES if route.path == "/users/me")
    scope = {"type": "http", "path": "/users/me", "method": "DELETE", "root_path": ""}
    assert me.matches(scope)[0] is Match.FULL
    templated = next(route for route in ROUTES if route.path == "/users/{id}")
    assert templated.matches(scope)[0] is Match.PARTIAL


def test_list_parameters_are_the_array_properties() -> None:
    assert list_parameters(CategoryListQuery) == {"fields", "include"}
    assert list_parameters(TagListQuery) == {"fields"}
    assert list_parameters(NoQuery) == frozenset()


def test_repeats_join_for_lists_and_are_refused_otherwise() -> None:
    joined = query_values(request_with("fields=id&limit=3&fields=name"), frozenset({"fields"}))
    assert joined == {"fields": "id,name", "limit": "3"}
    with pytest.raises(InvalidParameter) as refused:
        query_values(request_with("limit=3&limit=4"), frozenset({"fields"}))
    assert str(refused.value) == "limit: given more than once"


# Over HTTP ---------------------------------------------------------------------------------


async def test_a_shadowed_fixed_path_answers_405_with_its_own_methods(
    api: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    response = await api.patch("/api/v1/users/me", json={}, headers=customer)
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


async def test_who_may_call_is_settled_before_the_query_is_parsed(
    api: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    anonymous = await api.get("/api/v1/orders?limit=0")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "UNAUTHENTICATED"
    unprivileged = await api.post("/api/v1/tags?bogus=1", json={"name": "x"}, headers=customer)
    assert unprivileged.status_code == 403
    assert unprivileged.json()["code"] == "FORBIDDEN"
    signed_in = await api.get("/api/v1/orders?limit=0", headers=customer)
    assert signed_in.status_code == 400
    assert signed_in.json()["detail"].startswith("limit:")


async def test_an_operation_without_a_query_refuses_any_parameter(
    api: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    response = await api.get("/api/v1/users/me?fields=id", headers=customer)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"
    assert response.json()["detail"].startswith("fields:")


async def test_a_list_parameter_may_repeat_and_a_plain_one_may_not(api: httpx.AsyncClient) -> None:
    repeated = await api.get("/api/v1/tags?fields=name&fields=id&sort=name")
    assert repeated.status_code == 200
    assert repeated.json()["data"][0] == {"id": 1, "name": "bright"}
    twice = await api.get("/api/v1/tags?sort=name&sort=name")
    assert twice.status_code == 400
    assert twice.json()["detail"] == "sort: given more than once"


async def test_a_parsed_query_is_remembered_but_a_refusal_or_a_long_one_is_not(
    api: httpx.AsyncClient,
) -> None:
    for _ in range(2):
        assert (await api.get("/api/v1/tags?limit=2")).json()["page"]["limit"] == 2
        assert (await api.get("/api/v1/tags?limit=200")).status_code == 400
    assert (TagListQuery, True, b"limit=2") in spec._PARSED
    assert (TagListQuery, True, b"limit=200") not in spec._PARSED

    # Longer than is kept: every character percent-encoded, each value at its longest.
    def encoded(text: str) -> str:
        return "".join(f"%{ord(c):02X}" for c in text)

    long = f"q={encoded('a' * 200)}&tag={encoded('b' * 50)}&category={encoded('c' * 100)}"
    assert len(long) > 1024
    assert (await api.get(f"/api/v1/products?{long}")).status_code == 200
    products = _operation("GET", "/products").query
    assert (products, True, long.encode()) not in spec._PARSED
    assert (await api.get("/api/v1/products?limit=2")).status_code == 200
    assert (products, True, b"limit=2") in spec._PARSED


async def test_one_raw_query_is_judged_by_each_operations_own_model(
    api: httpx.AsyncClient,
) -> None:
    other = await api.get("/api/v1/categories?fields=name&include=parent")
    tags = await api.get("/api/v1/tags?fields=name&include=parent")
    assert other.status_code == 200
    assert tags.status_code == 400 and tags.json()["detail"].startswith("include:")


async def test_if_match_on_an_operation_that_does_not_take_it_is_400(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await api.delete("/api/v1/tags/3", headers={**admin, "If-Match": '"abc"'})
    assert response.status_code == 400
    assert response.json()["detail"] == "If-Match: this operation does not take conditional writes"
    assert (await api.get("/api/v1/tags/3")).status_code == 200


async def test_if_none_match_holds_back_a_write_to_the_current_representation(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await api.post("/api/v1/tags", json={"name": "doomed"}, headers=admin)
    doomed = created.json()["data"]["id"]
    current = await api.get(f"/api/v1/tags/{doomed}")
    etag = current.headers.get("etag") or ""
    assert etag
    for condition in (etag, "*"):
        held = await api.delete(
            f"/api/v1/tags/{doomed}", headers={**admin, "If-None-Match": condition}
        )
        assert held.status_code == 412
        assert held.json()["code"] == "PRECONDITION_FAILED"
    other = await api.delete(f"/api/v1/tags/{doomed}", headers={**admin, "If-None-Match": '"x"'})
    assert other.status_code == 204
    # Absent, `*` matches nothing: the write goes on and answers for itself.
    gone = await api.delete(f"/api/v1/tags/{doomed}", headers={**admin, "If-None-Match": "*"})
    assert gone.status_code == 404


async def test_a_malformed_if_none_match_is_400_even_on_a_post(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bad = await api.post(
        "/api/v1/tags", json={"name": "x"}, headers={**admin, "If-None-Match": "x"}
    )
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("If-None-Match:")
    created = await api.post(
        "/api/v1/tags", json={"name": "fresh"}, headers={**admin, "If-None-Match": "*"}
    )
    assert created.status_code == 201


async def test_location_is_absolute_under_public_url(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await api.post("/api/v1/tags", json={"name": "located"}, headers=admin)
    assert response.status_code == 201
    tag_id = response.json()["data"]["id"]
    assert response.headers["location"] == f"https://shop.example.com/api/v1/tags/{tag_id}"


async def test_per_user_answers_are_private_even_without_a_token(api: httpx.AsyncClient) -> None:
    body = {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
        "password": "a long enough passphrase 42",
        "display_name": "New",
    }
    registered = await api.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    assert registered.headers["cache-control"] == "private, no-store"
    public = await api.get("/api/v1/tags")
    assert public.headers["cache-control"] != "private, no-store"


async def test_head_answers_as_get_without_a_body(api: httpx.AsyncClient) -> None:
    get = await api.get("/api/v1/tags/1")
    head = await api.head("/api/v1/tags/1")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def _operation(method: str, path: str) -> Operation[Any]:
    return next(o for o in OPERATIONS if o.method == method and o.path == path)


def test_operation_ids_are_the_handler_names_and_path_ids_default() -> None:
    tag = _operation("GET", "/tags/{id}")
    assert tag.operation_id == "get_tag"
    assert tag.path_parameter("id").schema["maximum"] == 2**63 - 1
    category = _operation("GET", "/categories/{id}")
    assert "anyOf" in category.path_parameter("id").schema

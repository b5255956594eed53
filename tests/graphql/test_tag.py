"""graphql/tag.py: the tags connection (its defaults, and the count run only when asked),
createTag/deleteTag payloads and who may call them (reference path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Actors, app_settings, reference, run_sql
from tests.support import gql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    run_sql(
        database_url,
        "INSERT INTO tags (name) SELECT 'tag-' || lpad(i::text, 2, '0') "
        "FROM generate_series(1, 22) AS i;",
    )
    return database_url


@pytest.fixture(scope="module")
async def ref(catalogue: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(app_settings(catalogue, redis_url)) as http:
        yield http


async def mutate(
    http: httpx.AsyncClient, query: str, headers: dict[str, str], **variables: Any
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


async def test_tags_come_20_at_a_time_with_a_next_page(ref: httpx.AsyncClient) -> None:
    query = "{ tags { edges { node { name } } pageInfo { hasNextPage endCursor } } }"
    first = (await gql(ref, query)).json()["data"]["tags"]
    names = [e["node"]["name"] for e in first["edges"]]
    assert len(names) == 20 and names[0] == "tag-01"
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        ref,
        "query($after: String) { tags(after: $after) { edges { node { name } } } }",
        after=first["pageInfo"]["endCursor"],
    )
    # Tags other tests of the module create come after these.
    assert [e["node"]["name"] for e in rest.json()["data"]["tags"]["edges"]][:2] == [
        "tag-21",
        "tag-22",
    ]


async def test_the_total_is_counted_only_when_selected(ref: httpx.AsyncClient) -> None:
    without = await gql(ref, "{ tags(first: 1) { edges { cursor } } }")
    counted = await gql(ref, "{ tags(first: 1) { totalCount edges { cursor } } }")
    assert counted.json()["data"]["tags"]["totalCount"] >= 22
    assert int(counted.headers["x-query-count"]) == int(without.headers["x-query-count"]) + 1


async def test_create_then_create_again_is_a_conflict_in_the_payload(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    query = """mutation($name: String!) { createTag(input: {name: $name}) {
        tag { name } errors { code field } } }"""
    made = await mutate(ref, query, admin.headers, name="fresh")
    assert made["data"]["createTag"] == {"tag": {"name": "fresh"}, "errors": []}
    again = await mutate(ref, query, admin.headers, name="fresh")
    assert again["data"]["createTag"] == {
        "tag": None,
        "errors": [{"code": "CONFLICT", "field": None}],
    }


@pytest.mark.parametrize(
    ("id", "error"),
    [
        ("abc", {"code": "INVALID_PARAMETER", "field": "id"}),
        ("99999", {"code": "NOT_FOUND", "field": None}),
    ],
)
async def test_delete_reports_bad_and_missing_ids_in_the_payload(
    ref: httpx.AsyncClient, actors: Actors, id: str, error: dict[str, Any]
) -> None:
    admin = await actors.admin()
    query = "mutation($id: ID!) { deleteTag(id: $id) { deletedId errors { code field } } }"
    body = await mutate(ref, query, admin.headers, id=id)
    assert body["data"]["deleteTag"] == {"deletedId": None, "errors": [error]}


async def test_delete_answers_with_the_deleted_id(ref: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    create = 'mutation { createTag(input: {name: "short-lived"}) { tag { id } } }'
    made = (await mutate(ref, create, admin.headers))["data"]["createTag"]["tag"]["id"]
    query = "mutation($id: ID!) { deleteTag(id: $id) { deletedId errors { code } } }"
    body = await mutate(ref, query, admin.headers, id=made)
    assert body["data"]["deleteTag"] == {"deletedId": made, "errors": []}


async def test_tag_writes_are_for_admins(ref: httpx.AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    for query in (
        'mutation { createTag(input: {name: "x"}) { errors { code } } }',
        'mutation { deleteTag(id: "1") { errors { code } } }',
    ):
        body = await mutate(ref, query, customer.headers)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await mutate(ref, 'mutation { deleteTag(id: "1") { deletedId } }', {})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

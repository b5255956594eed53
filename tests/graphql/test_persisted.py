"""Automatic persisted queries (Apollo's protocol) in Redis, GET with ETags, and the
allow-list mode with its start-up manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis.asyncio as redis

from gateway.app import create_app
from gateway.graphql.persisted import ManifestError
from gateway.settings import Settings
from tests.conftest import Actors, app_client, run_sql

pytestmark = pytest.mark.anyio

QUERY = "query Lamp($id: ID!) { product(id: $id) { id name } }"
MUTATION = 'mutation { createTag(input: {name: "x"}) { tag { id } } }'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        VALUES ('L-1', 'Lamp', 10, 1, 1);
        """,
    )
    return database_url


async def stored(settings: Settings, digest: str) -> bytes | None:
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        return cast(bytes | None, await client.get(f"{settings.cache_prefix}:apq:{digest}"))
    finally:
        await client.aclose()


async def test_miss_then_register_then_hit_on_another_replica(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    digest = sha(QUERY)
    ask = {"extensions": persisted(digest), "variables": {"id": "1"}}
    miss = await api.post("/graphql", json=ask)
    assert miss.status_code == 400
    error = miss.json()["errors"][0]
    # Apollo's clients recognise a miss by this message and retry with the document.
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.headers["x-query-count"] == "0"

    register = await api.post("/graphql", json={**ask, "query": QUERY})
    assert register.json() == {"data": {"product": {"id": "1", "name": "Lamp"}}}
    assert await stored(settings, digest) == QUERY.encode()

    async with app_client(settings) as replica:
        hit = await replica.post("/graphql", json=ask)
        assert hit.status_code == 200
        assert hit.json() == {"data": {"product": {"id": "1", "name": "Lamp"}}}


async def test_a_hash_that_is_not_the_documents_is_refused_and_not_stored(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    forged = sha("{ __typename }")
    response = await api.post(
        "/graphql",
        json={"query": QUERY, "variables": {"id": "1"}, "extensions": persisted(forged)},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert "sha256Hash" in error["message"]
    assert response.headers["x-query-count"] == "0"
    assert await stored(settings, forged) is None


@pytest.mark.parametrize(
    ("bad", "name"),
    [
        ("{ nope }", None),
        ("{", None),
        ("query A { __typename }", "B"),
        ("{ __schema { x } }", None),
    ],
)
async def test_an_invalid_document_is_never_registered(
    api: httpx.AsyncClient, settings: Settings, bad: str, name: str | None
) -> None:
    response = await api.post(
        "/graphql", json={"query": bad, "operationName": name, "extensions": persisted(sha(bad))}
    )
    assert response.status_code == 400
    assert await stored(settings, sha(bad)) is None


# What anonymous callers can make Redis hold ------------------------------------------------


def padded(number: int, size: int) -> str:
    """A valid document of about `size` bytes, distinct per `number`."""
    head = f"query Q{number} {{ __typename }}\n"
    return head + "#" + "x" * (size - len(head) - 2) + "\n"


async def apq_keys(settings: Settings) -> dict[bytes, tuple[int, int]]:
    """Every registered document under the prefix: its length and milliseconds to live."""
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        found = {}
        async for name in client.scan_iter(match=f"{settings.cache_prefix}:apq:*", count=1000):
            found[name] = (await client.strlen(name), await client.pttl(name))
        return found
    finally:
        await client.aclose()


async def test_a_document_over_the_size_cap_is_refused_and_not_stored(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    large = padded(1, 16 * 1024 + 1)
    response = await api.post(
        "/graphql", json={"query": large, "extensions": persisted(sha(large))}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert "16384 bytes" in error["message"]
    assert await stored(settings, sha(large)) is None
    # Without the extension the same document simply runs: only storing it is capped.
    assert (await api.post("/graphql", json={"query": large})).status_code == 200
    fits = padded(2, 16 * 1024)
    ok = await api.post("/graphql", json={"query": fits, "extensions": persisted(sha(fits))})
    assert ok.json() == {"data": {"__typename": "Query"}}
    assert await stored(settings, sha(fits)) == fits.encode()


async def test_redis_holds_at_most_the_cap_of_documents(settings: Settings, catalogue: str) -> None:
    bounded = replace(
        settings,
        graphql_persisted_max_count=5,
        graphql_persisted_max_bytes=2048,
        graphql_persisted_ttl=600,
    )
    documents = [padded(n, 2000) for n in range(30)]
    async with app_client(bounded) as http:
        for document in documents:
            response = await http.post(
                "/graphql", json={"query": document, "extensions": persisted(sha(document))}
            )
            assert response.status_code == 200, response.text
    kept = await apq_keys(settings)
    # The newest five; 30 anonymous requests cannot grow Redis past 5 x 2 KB.
    expected = {f"{settings.cache_prefix}:apq:{sha(d)}".encode() for d in documents[-5:]}
    assert set(kept) == expected
    assert sum(length for length, _ in kept.values()) <= 5 * 2048
    assert all(0 < ttl <= 600_000 for _, ttl in kept.values())
    async with app_client(bounded) as replica:
        evicted = await replica.post("/graphql", json={"extensions": persisted(sha(documents[0]))})
        assert evicted.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        newest = await replica.post("/graphql", json={"extensions": persisted(sha(documents[-1]))})
        assert newest.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "XYZ"}},
        {"persistedQuery": "yes"},
        [],
    ],
)
async def test_malformed_extensions_are_400(api: httpx.AsyncClient, extensions: Any) -> None:
    response = await api.post("/graphql", json={"query": QUERY, "extensions": extensions})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PARAMETER"


# GET ---------------------------------------------------------------------------------------


async def get(api: httpx.AsyncClient, digest: str, **params: Any) -> httpx.Response:
    query = {"extensions": json.dumps(persisted(digest))}
    query.update({k: json.dumps(v) if k == "variables" else v for k, v in params.items()})
    return await api.get("/graphql", params=query)


async def test_get_runs_a_persisted_query_with_a_strong_etag(api: httpx.AsyncClient) -> None:
    digest = sha(QUERY)
    register = {"query": QUERY, "variables": {"id": "1"}, "extensions": persisted(digest)}
    await api.post("/graphql", json=register)
    first = await get(api, digest, variables={"id": "1"}, operationName="Lamp")
    assert first.status_code == 200
    assert first.json() == {"data": {"product": {"id": "1", "name": "Lamp"}}}
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, no-cache"
    # Accept-Encoding: the answer may be sent compressed (gateway/http/compression.py).
    assert {v.strip() for v in first.headers["vary"].split(",")} == {
        "Authorization",
        "Accept",
        "Accept-Encoding",
    }

    params = {"extensions": json.dumps(persisted(digest)), "variables": '{"id": "1"}'}
    again = await api.get("/graphql", params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    changed = await api.get("/graphql", params=params, headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


async def test_get_is_private_for_a_signed_in_caller(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    me = "{ me { id } }"
    await api.post("/graphql", json={"query": me, "extensions": persisted(sha(me))})
    customer = await actors.customer()
    params = {"extensions": json.dumps(persisted(sha(me)))}
    response = await api.get("/graphql", params=params, headers=customer.headers)
    assert response.json() == {"data": {"me": {"id": str(customer.user_id)}}}
    assert response.headers["cache-control"] == "private, no-store"


async def test_get_never_runs_a_mutation(api: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    register = await api.post(
        "/graphql",
        json={"query": MUTATION, "extensions": persisted(sha(MUTATION))},
        headers=admin.headers,
    )
    assert register.json()["data"]["createTag"]["tag"]["id"]
    params = {"extensions": json.dumps(persisted(sha(MUTATION)))}
    response = await api.get("/graphql", params=params, headers=admin.headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["x-query-count"] == "0"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"extensions": json.dumps(persisted("0" * 64))}, 400, "PERSISTED_QUERY_NOT_FOUND"),
        ({"extensions": "{not json"}, 400, "INVALID_PARAMETER"),
        (
            {"extensions": json.dumps(persisted("0" * 64)), "variables": "[1"},
            400,
            "INVALID_PARAMETER",
        ),
        ({"extensions": json.dumps(persisted("0" * 64)), "debug": "1"}, 400, "INVALID_PARAMETER"),
    ],
)
async def test_get_rules(
    api: httpx.AsyncClient, params: dict[str, str], status: int, code: str
) -> None:
    response = await api.get("/graphql", params=params)
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert response.headers["x-query-count"] == "0"


# Allow-list mode ---------------------------------------------------------------------------


def manifest(path: Path, *bodies: str) -> Path:
    operations = [{"id": sha(b), "body": b, "name": None, "type": "query"} for b in bodies]
    document = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
    path.write_text(json.dumps(document))
    return path


async def test_persisted_only_runs_the_manifest_and_nothing_else(
    settings: Settings, catalogue: str, tmp_path: Path
) -> None:
    allowed = manifest(tmp_path / "manifest.json", QUERY)
    async with app_client(
        settings, graphql_persisted_only=True, graphql_persisted_manifest=allowed
    ) as http:
        ask = {"extensions": persisted(sha(QUERY)), "variables": {"id": "1"}}
        ok = await http.post("/graphql", json=ask)
        assert ok.json() == {"data": {"product": {"id": "1", "name": "Lamp"}}}
        via_get = await http.get(
            "/graphql",
            params={"extensions": json.dumps(persisted(sha(QUERY))), "variables": '{"id": "1"}'},
        )
        assert via_get.status_code == 200

        other = "{ __typename }"
        for body in (
            {"query": other},
            {"query": other, "extensions": persisted(sha(other))},
            {"extensions": persisted(sha(other))},
        ):
            refused = await http.post("/graphql", json=body)
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
            assert refused.headers["x-query-count"] == "0"
        assert await stored(settings, sha(other)) is None


def test_a_bad_manifest_stops_start_up(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="needs GRAPHQL_PERSISTED_MANIFEST"):
        create_app(replace(settings, graphql_persisted_only=True))
    forged = tmp_path / "forged.json"
    forged.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": "0" * 64, "body": QUERY}],
            }
        )
    )
    with pytest.raises(ManifestError, match="not sha256"):
        create_app(replace(settings, graphql_persisted_manifest=forged))
    invalid = manifest(tmp_path / "invalid.json", "{ nope }")
    with pytest.raises(ManifestError, match="nope"):
        create_app(replace(settings, graphql_persisted_manifest=invalid))

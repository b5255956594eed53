"""Idempotency-Key on REST POSTs and GraphQL mutations: replay byte for byte, refuse reuse,
run concurrent duplicates once; requests compared by what their JSON says."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import httpx
import pytest

from gateway import cache
from gateway.cache import MemoryCache
from gateway.services.idempotency import IdempotencyStore, fingerprint
from gateway.settings import Settings
from gateway.tokens import TokenIssuer
from tests.conftest import TEST_JWT_SECRET, app_client, app_settings, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def settings_for_module(database_url: str, redis_url: str) -> Settings:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        VALUES ('LAMP', 'Lamp', 10, 100, 1);
        INSERT INTO users (email, display_name, password_hash, role) VALUES
            ('admin@example.com', 'Admin', '!', 'admin'),
            ('a@example.com', 'A', '!', 'customer'),
            ('b@example.com', 'B', '!', 'customer');
        """,
    )
    return app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
    )


@pytest.fixture(scope="module")
async def api(settings_for_module: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings_for_module) as http:
        yield http


def bearer(user_id: int, role: str) -> dict[str, str]:
    defaults = Settings()
    issuer = TokenIssuer(
        TEST_JWT_SECRET,
        issuer=defaults.jwt_issuer,
        audience=defaults.jwt_audience,
        ttl=defaults.access_token_ttl,
    )
    return {"Authorization": f"Bearer {issuer.issue(user_id, role)}"}  # type: ignore[arg-type]


ADMIN, ALICE, BOB = bearer(1, "admin"), bearer(2, "customer"), bearer(3, "customer")


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def scalar(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_a_retry_gets_the_first_response_byte_for_byte(
    api: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**ALICE, **key()}
    order = {"items": [{"product_id": 1, "quantity": 2}]}
    first = await api.post("/api/v1/orders", json=order, headers=headers)
    retry = await api.post("/api/v1/orders", json=order, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["cache-control"] == first.headers["cache-control"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["x-request-id"] != first.headers["x-request-id"]
    assert retry.headers["x-query-count"] == "0"
    assert await scalar(database_url, "SELECT count(*) FROM orders") == 1
    assert await scalar(database_url, "SELECT stock FROM products WHERE id = 1") == 98


async def test_the_same_key_on_another_body_is_422_and_runs_nothing(
    api: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**ADMIN, **key()}
    assert (
        await api.post("/api/v1/tags", json={"name": "one"}, headers=headers)
    ).status_code == 201
    reused = await api.post("/api/v1/tags", json={"name": "two"}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await scalar(database_url, "SELECT count(*) FROM tags WHERE name = 'two'") == 0
    elsewhere = await api.post(
        "/api/v1/categories", json={"slug": "x", "name": "X"}, headers=headers
    )
    assert elsewhere.status_code == 201, "a key is scoped to its path"


async def test_keys_belong_to_their_caller(api: httpx.AsyncClient) -> None:
    shared = key()
    body = {"rating": 4, "title": "Good"}
    alice = await api.post("/api/v1/products/1/reviews", json=body, headers={**ALICE, **shared})
    bob = await api.post("/api/v1/products/1/reviews", json=body, headers={**BOB, **shared})
    assert alice.status_code == bob.status_code == 201
    assert alice.json()["data"]["author"]["id"] == 2
    assert bob.json()["data"]["author"]["id"] == 3
    assert "idempotent-replayed" not in bob.headers


async def test_client_errors_are_kept_too(api: httpx.AsyncClient) -> None:
    headers = {**ADMIN, **key()}
    first = await api.post("/api/v1/tags", json={"name": "Bad Name"}, headers=headers)
    retry = await api.post("/api/v1/tags", json={"name": "Bad Name"}, headers=headers)
    assert first.status_code == retry.status_code == 400
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"


async def test_concurrent_duplicates_run_once(api: httpx.AsyncClient, database_url: str) -> None:
    headers = {**BOB, **key()}
    order = {"items": [{"product_id": 1, "quantity": 1}]}
    before = await scalar(database_url, "SELECT count(*) FROM orders")
    responses = await asyncio.gather(
        *(api.post("/api/v1/orders", json=order, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert await scalar(database_url, "SELECT count(*) FROM orders") == before + 1


async def test_a_duplicate_waits_then_gets_409_while_the_first_still_runs(
    api: httpx.AsyncClient, settings_for_module: Settings
) -> None:
    # Hold the lock as a request still running would, then send its duplicate.
    headers = {**ADMIN, **key(), "Content-Type": "application/json"}
    body = b'{"name":"held"}'
    redis = cache.connect(settings_for_module.redis_url, timeout=1.0)
    try:
        store = IdempotencyStore(redis, settings_for_module.cache_prefix)
        record = store.key("user:1", "POST", "/api/v1/tags", headers["Idempotency-Key"])
        digest = fingerprint("POST", "/api/v1/tags", b"", b"application/json", body)
        assert await store.lock(record, digest)
        started = time.monotonic()
        response = await api.post("/api/v1/tags", content=body, headers=headers)
        assert time.monotonic() - started >= 1.5, "it waited for the first to finish"
        assert response.status_code == 409
        assert response.json()["code"] == "CONFLICT"
        assert response.headers["retry-after"] == "1"
        other = await api.post("/api/v1/tags", content=b'{"name":"other"}', headers=headers)
        assert other.status_code == 422, "a different request under a held key"
    finally:
        await redis.close()


@pytest.mark.parametrize("make", [MemoryCache, None])
async def test_set_if_absent_is_the_same_in_both_caches(
    make: type[MemoryCache] | None, redis_url: str
) -> None:
    store = make() if make is not None else cache.connect(redis_url, timeout=1.0)
    name = f"gwtest:nx:{uuid.uuid4().hex}"
    try:
        assert await store.set_if_absent(name, b"first", ttl=5)
        assert not await store.set_if_absent(name, b"second", ttl=5)
        assert await store.get(name) == b"first"
        await store.delete(name)
        assert await store.set_if_absent(name, b"third", ttl=0.05)
        await asyncio.sleep(0.1)
        assert await store.set_if_absent(name, b"fourth", ttl=5), "an expired lock is free"
    finally:
        await store.close()


@pytest.mark.parametrize("value", [b"", b"x" * 256, b"has space", "caf\u00e9".encode()])
async def test_malformed_keys_are_400(api: httpx.AsyncClient, value: bytes) -> None:
    headers = [(name.encode(), v.encode()) for name, v in ADMIN.items()]
    headers.append((b"idempotency-key", value))
    response = await api.post("/api/v1/tags", json={"name": "never"}, headers=headers)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Idempotency-Key:")


async def test_without_the_cache_requests_run_unprotected_but_never_fail(
    settings_for_module: Settings,
) -> None:
    down = replace(settings_for_module, redis_url="redis://127.0.0.1:9")
    async with app_client(down) as http:
        headers = {**ADMIN, **key()}
        first = await http.post("/api/v1/tags", json={"name": "no-cache"}, headers=headers)
        assert first.status_code == 201
        assert first.headers["x-idempotency"] == "BYPASS"
        retry = await http.post("/api/v1/tags", json={"name": "no-cache"}, headers=headers)
        assert retry.status_code == 409  # the name is taken: it ran again, as it had to
        assert retry.headers["x-idempotency"] == "BYPASS"


async def test_server_errors_are_not_kept(settings_for_module: Settings) -> None:
    unreachable = replace(
        settings_for_module,
        database_url="postgresql://nobody@127.0.0.1:9/none",
        db_pool_timeout=0.2,
    )
    async with app_client(unreachable) as http:
        headers = {**ADMIN, **key()}
        for _ in range(2):
            response = await http.post("/api/v1/tags", json={"name": "later"}, headers=headers)
            assert response.status_code == 503
            assert "idempotent-replayed" not in response.headers


async def test_a_retry_is_the_same_request_whatever_its_key_order_or_whitespace(
    api: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**ALICE, **key(), "Content-Type": "application/json"}
    before = await scalar(database_url, "SELECT count(*) FROM orders")
    first = await api.post(
        "/api/v1/orders", content=b'{"items":[{"product_id":1,"quantity":1}]}', headers=headers
    )
    retry = await api.post(
        "/api/v1/orders",
        content=b'{ "items" : [ { "quantity" : 1, "product_id" : 1 } ] }\n',
        headers={**headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert await scalar(database_url, "SELECT count(*) FROM orders") == before + 1
    other = await api.post(
        "/api/v1/orders", content=b'{"items":[{"product_id":1,"quantity":2}]}', headers=headers
    )
    assert other.status_code == 422


# GraphQL mutations -------------------------------------------------------------------------

PLACE = 'mutation Place($qty: Int!) { placeOrder(input: {items: [{productId: "1", quantity: $qty}]}) { order { id } errors { code } } }'


async def graphql(
    http: httpx.AsyncClient, headers: dict[str, str], query: str = PLACE, **variables: object
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def test_a_graphql_mutation_runs_once_per_key(
    api: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**BOB, **key()}
    before = await scalar(database_url, "SELECT count(*) FROM orders")
    first = await graphql(api, headers, qty=1)
    assert first.status_code == 200, first.text
    assert first.json()["data"]["placeOrder"]["order"]["id"]
    retry = await api.post(
        "/graphql",
        # The same request, written differently: the same JSON, keys in another order.
        content=b'{"variables": {"qty": 1}, "query": ' + json.dumps(PLACE).encode() + b"}",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert retry.status_code == 200
    assert retry.content == first.content
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["x-query-count"] == "0"
    assert await scalar(database_url, "SELECT count(*) FROM orders") == before + 1


async def test_a_graphql_key_reused_on_another_request_is_422(
    api: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**BOB, **key()}
    assert (await graphql(api, headers, qty=1)).status_code == 200
    before = await scalar(database_url, "SELECT count(*) FROM orders")
    reused = await graphql(api, headers, qty=2)
    assert reused.status_code == 422
    error = reused.json()["errors"][0]
    assert error["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "data" not in reused.json()
    assert await scalar(database_url, "SELECT count(*) FROM orders") == before


async def test_concurrent_graphql_duplicates_run_once(
    api: httpx.AsyncClient, database_url: str
) -> None:
    headers = {**ALICE, **key()}
    before = await scalar(database_url, "SELECT count(*) FROM orders")
    responses = await asyncio.gather(*(graphql(api, headers, qty=1) for _ in range(6)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert await scalar(database_url, "SELECT count(*) FROM orders") == before + 1


async def test_queries_ignore_the_key_and_bad_keys_are_400(api: httpx.AsyncClient) -> None:
    headers = {**BOB, **key()}
    query = "{ me { id } }"
    for _ in range(2):
        response = await graphql(api, headers, query)
        assert response.status_code == 200
        assert "idempotent-replayed" not in response.headers
    bad = await graphql(api, {**BOB, "Idempotency-Key": "has space"}, qty=1)
    assert bad.status_code == 400
    error = bad.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["message"].startswith("Idempotency-Key:")


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_graphql_server_failures_are_not_kept(
    settings_for_module: Settings, accept: str
) -> None:
    unreachable = replace(
        settings_for_module,
        database_url="postgresql://nobody@127.0.0.1:9/none",
        db_pool_timeout=0.2,
    )
    async with app_client(unreachable) as http:
        headers = {**ADMIN, **key(), "Accept": accept}
        tag = 'mutation { createTag(input: {name: "later"}) { tag { id } } }'
        for _ in range(2):
            response = await graphql(http, headers, tag)
            assert response.json()["errors"][0]["extensions"]["code"] == "DB_UNAVAILABLE"
            assert "idempotent-replayed" not in response.headers

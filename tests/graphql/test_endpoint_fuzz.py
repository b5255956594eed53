"""Fuzzing /graphql with documents generated from the schema (hypothesis-graphql): valid
and invalid queries and mutations, anonymous and as an admin, never answer 5xx."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from gateway.app import create_app
from gateway.settings import PROJECT_ROOT
from tests.conftest import Actors, app_settings

SCHEMA = (PROJECT_ROOT / "schema.graphql").read_text()
T = TypeVar("T")

# Bounded so the whole module runs in well under a minute.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Gateway:
    """A started app on its own event loop, driven from synchronous hypothesis tests."""

    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    admin: dict[str, str]

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def post(self, document: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.run(self.http.post("/graphql", json={"query": document}, headers=headers))


@pytest.fixture(scope="module")
def gateway(database_url: str, redis_url: str) -> Iterator[Gateway]:
    config = app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=10_000_000,
        login_failures_per_address=10_000_000,
    )
    loop = asyncio.new_event_loop()

    async def start() -> LifespanManager:
        # The manager picks its concurrency backend when built: build it on the loop.
        manager = LifespanManager(create_app(config))
        await manager.__aenter__()
        return manager

    manager = loop.run_until_complete(start())
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://t")
    try:
        loop.run_until_complete(_seed(database_url))
        admin = loop.run_until_complete(Actors(database_url, config).admin())
        yield Gateway(loop, http, admin.headers)
    finally:
        loop.run_until_complete(http.aclose())
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


async def _seed(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            INSERT INTO categories (slug, name) VALUES ('home', 'Home');
            INSERT INTO products (sku, name, price, stock, category_id)
            SELECT 'F-' || n, 'F' || n, n, n, 1 FROM generate_series(1, 5) n;
            """
        )
    finally:
        await conn.close()


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    assert "data" in body or body.get("errors"), body


@FUZZ
@given(document=st.one_of(queries(SCHEMA), queries(SCHEMA, mode=Mode.NEGATIVE)))
def test_generated_queries_never_fail_the_server(gateway: Gateway, document: Any) -> None:
    check(gateway.post(str(document)))


@FUZZ
@given(document=st.one_of(mutations(SCHEMA), mutations(SCHEMA, mode=Mode.NEGATIVE)))
def test_generated_mutations_never_fail_the_server(gateway: Gateway, document: Any) -> None:
    check(gateway.post(str(document), headers=gateway.admin))

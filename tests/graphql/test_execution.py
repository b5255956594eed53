"""graphql/execution.py: the Engine every request goes through: preparing a document and choosing
its operation, the variable-dependent limits (remembered per document and variables that matter),
execution with a real Context, and the shape of results and refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from gateway import cache, telemetry
from gateway.db import Database
from gateway.graphql.context import Context
from gateway.graphql.execution import Engine, Rejected
from gateway.graphql.schema import build_schema
from gateway.services.resources import Resources
from gateway.settings import Settings
from tests.conftest import STATEMENTS, run_sql, service_resources

pytestmark = pytest.mark.anyio
T = TypeVar("T")

PRODUCT = "query One($id: ID!) { product(id: $id) { name } }"
PAGE = (
    "query Page($n: Int!, $id: ID!) { products(first: $n) { totalCount } product(id: $id) { id } }"
)


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


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Resources]:
    """The process resources the lifespan would open: the module's database and Redis."""
    assert settings.database_url is not None
    db = Database(settings.database_url, STATEMENTS, min_size=0, max_size=2)
    await db.connect()
    store = cache.connect(settings.redis_url, timeout=1.0)
    try:
        yield service_resources(store, replace(settings, cache_enabled=False), db=db)
    finally:
        await store.close()
        await db.disconnect()


@pytest.fixture
async def resources(catalogue: str, settings: Settings) -> AsyncIterator[Resources]:
    async with opened(settings) as opened_resources:
        yield opened_resources


def engine_for(settings: Settings, **overrides: Any) -> Engine:
    changed = replace(settings, **overrides)
    return Engine(build_schema(changed.schema_path), changed)


async def counted(run: Callable[[], Awaitable[T]]) -> tuple[T, int]:
    """`run()` as one request: its result and the SQL statements it ran."""

    async def request() -> tuple[T, int]:
        stats = telemetry.begin("test")
        return await run(), stats.queries

    return await asyncio.create_task(request())


async def test_prepare_chooses_the_named_operation_and_keeps_the_variables_as_sent(
    resources: Resources, settings: Settings
) -> None:
    engine = engine_for(settings)
    text = PRODUCT + " query Other { me { id } }"
    prepared = await engine.prepare(
        resources, {"query": text, "operationName": "One", "variables": {"id": "1"}}
    )
    assert prepared.text == text
    assert prepared.operation.name == "One"
    assert prepared.operation.root_fields == ("product",)
    assert prepared.node.name is not None and prepared.node.name.value == "One"
    assert prepared.variables == {"id": "1"}


async def test_an_unknown_or_missing_operation_name_is_rejected_with_a_message_saying_so(
    resources: Resources, settings: Settings
) -> None:
    engine = engine_for(settings)
    two = "query A { __typename } query B { __typename }"
    with pytest.raises(Rejected, match="No operation named 'C' in the document."):
        await engine.prepare(resources, {"query": two, "operationName": "C"})
    with pytest.raises(Rejected, match="several operations: say which in operationName"):
        await engine.prepare(resources, {"query": two})


async def test_a_document_that_fails_validation_is_rejected_with_every_error(
    resources: Resources, settings: Settings
) -> None:
    engine = engine_for(settings)
    with pytest.raises(Rejected) as rejected:
        await engine.prepare(resources, {"query": "{ nope alsoNope }"})
    assert len(rejected.value.errors) == 2
    assert str(rejected.value) == "; ".join(e.message for e in rejected.value.errors)
    body = engine.errors_body(rejected.value.errors)
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"] * 2


async def test_variables_are_coerced_with_their_defaults_or_refused(
    resources: Resources, settings: Settings
) -> None:
    engine = engine_for(settings)
    text = "query($n: Int = 3) { products(first: $n) { totalCount } }"
    fine = engine.check(await engine.prepare(resources, {"query": text}))
    assert fine.errors == []
    assert fine.values is not None and fine.values.coerced == {"n": 3}
    bad = engine.check(await engine.prepare(resources, {"query": text, "variables": {"n": "x"}}))
    assert bad.values is None
    assert len(bad.errors) == 1 and "$n" in bad.errors[0].message


async def test_the_limits_verdict_is_shared_by_requests_that_differ_only_in_ids(
    resources: Resources, settings: Settings
) -> None:
    engine = engine_for(settings)

    async def check(n: int, id: str) -> list[Any]:
        data = {"query": PAGE, "variables": {"n": n, "id": id}}
        return engine.check(await engine.prepare(resources, data)).errors

    first = await check(5, "1")
    assert await check(5, "2") is first
    assert await check(6, "1") is not first


async def test_a_page_size_or_cost_past_the_limit_is_refused_before_any_sql(
    resources: Resources, settings: Settings
) -> None:
    engine = engine_for(settings, graphql_max_cost=50)

    async def refused() -> list[str]:
        data = {"query": PAGE, "variables": {"n": 101, "id": "1"}}
        checked = engine.check(await engine.prepare(resources, data))
        return [e["extensions"]["code"] for e in engine.errors_body(checked.errors)["errors"]]

    found, statements = await counted(refused)
    assert "QUERY_TOO_COMPLEX" in found
    assert statements == 0


async def test_execute_runs_the_resolvers_with_the_context_it_is_given(
    resources: Resources, settings: Settings
) -> None:
    engine = engine_for(settings)
    prepared = await engine.prepare(resources, {"query": PRODUCT, "variables": {"id": "1"}})

    async def run() -> dict[str, Any]:
        return await engine.execute(prepared, Context(resources))

    result, statements = await counted(run)
    assert result == {"data": {"product": {"name": "Lamp"}}}
    assert statements == 1


async def test_an_execution_result_carries_at_most_max_errors_errors(
    resources: Resources, settings: Settings
) -> None:
    engine = engine_for(settings, graphql_max_errors=3)
    text = "{ " + " ".join(f'p{i}: product(id: "{900 + i}") {{ id }}' for i in range(5)) + " }"
    prepared = await engine.prepare(resources, {"query": text})
    result = await engine.execute(prepared, Context(resources))
    assert result["data"] == {f"p{i}": None for i in range(5)}
    codes = [e["extensions"]["code"] for e in result["errors"]]
    assert codes == ["NOT_FOUND", "NOT_FOUND", "TOO_MANY_ERRORS"]

"""gateway/services/shared_answers.py: whole answers shared between anonymous callers.

On a real Redis: a shareable answer is stored once and then served as bytes, stamped with
the generations as they were before it was built, so any write (even one that commits
while it is being built) retires it; never shared when not shareable, never stored with
errors or past its size bound; Redis down is a bypass.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import orjson
import pytest

from gateway import telemetry
from gateway.cache import RedisCache
from gateway.services import shared_answers
from gateway.services.resources import Resources
from gateway.settings import Settings
from tests.conftest import TEST_JWT_SECRET, service_resources
from tests.processes import free_port

pytestmark = pytest.mark.anyio

PARTS: list[object] = ["schema-digest", "{ __schema { queryType { name } } }", None, {}]


def _resources(cache: RedisCache, *, enabled: bool = True) -> Resources:
    # Answers here come from `run`, not SQL: a database that is never connected.
    prefix = f"gwtest:{uuid.uuid4().hex[:8]}"
    settings = Settings(cache_prefix=prefix, jwt_secret=TEST_JWT_SECRET, cache_enabled=enabled)
    return service_resources(cache, settings)


@pytest.fixture
async def resources(redis_url: str) -> AsyncIterator[Resources]:
    cache = RedisCache(redis_url, timeout=0.5)
    resources = _resources(cache)
    yield resources
    await resources.reads.close()
    await cache.close()


class Builder:
    """The field-by-field execution behind an answer: counts how often it runs."""

    def __init__(self, result: dict[str, Any] | None = None) -> None:
        self.result = result if result is not None else {"data": {"n": 1}}
        self.runs = 0
        self.during: Callable[[], Coroutine[Any, Any, None]] | None = None

    async def run(self) -> dict[str, Any]:
        self.runs += 1
        if self.during is not None:
            await self.during()
        return self.result


async def _respond(resources: Resources, builder: Builder, *, shareable: bool = True) -> Any:
    return await shared_answers.respond(resources, PARTS, builder.run, shareable=shareable)


async def test_a_shareable_answer_is_built_once_then_served_as_its_body(
    resources: Resources,
) -> None:
    builder = Builder()
    telemetry.begin("first")
    assert await _respond(resources, builder) == {"data": {"n": 1}}
    stats = telemetry.begin("second")
    assert await _respond(resources, builder) == b'{"data":{"n":1}}'
    assert builder.runs == 1 and stats.cache_hits == 1
    other = await shared_answers.respond(
        resources, [*PARTS[:3], {"v": 2}], builder.run, shareable=True
    )
    assert other == {"data": {"n": 1}} and builder.runs == 2, "other variables, other answer"


async def test_an_answer_that_may_not_be_shared_is_never_read_nor_stored(
    resources: Resources,
) -> None:
    builder = Builder()
    telemetry.begin("shared")
    await _respond(resources, builder)
    stats = telemetry.begin("signed in")
    assert await _respond(resources, builder, shareable=False) == {"data": {"n": 1}}
    assert builder.runs == 2 and stats.cache_hits == 0
    private = Builder({"data": {"me": "secret"}})
    for _ in range(2):
        await shared_answers.respond(resources, ["private"], private.run, shareable=False)
    telemetry.begin("anonymous")
    await shared_answers.respond(resources, ["private"], private.run, shareable=True)
    assert private.runs == 3


async def test_any_write_retires_the_answer(resources: Resources) -> None:
    builder = Builder()
    telemetry.begin("t")
    await _respond(resources, builder)
    await resources.reads.invalidate("tags")
    assert await _respond(resources, builder) == {"data": {"n": 1}}
    assert builder.runs == 2
    assert await _respond(resources, builder) == b'{"data":{"n":1}}'


async def test_a_write_committed_while_it_was_built_leaves_it_stale(
    resources: Resources,
) -> None:
    builder = Builder()
    telemetry.begin("t")

    async def write() -> None:
        await resources.reads.invalidate("products")

    builder.during = write
    await _respond(resources, builder)
    builder.during = None
    assert await _respond(resources, builder) == {"data": {"n": 1}}, "stamped before the write"
    assert builder.runs == 2
    assert isinstance(await _respond(resources, builder), bytes)


async def test_an_answer_with_errors_is_never_stored(resources: Resources) -> None:
    builder = Builder({"data": None, "errors": [{"message": "boom"}]})
    telemetry.begin("t")
    for _ in range(2):
        assert await _respond(resources, builder) == builder.result
    assert builder.runs == 2


def _body_of(size: int) -> dict[str, Any]:
    padding = size - len(orjson.dumps({"data": {"x": ""}}))
    result = {"data": {"x": "a" * padding}}
    assert len(orjson.dumps(result)) == size
    return result


@pytest.mark.parametrize(
    ("size", "stored"),
    [(shared_answers.MAX_BODY_BYTES, True), (shared_answers.MAX_BODY_BYTES + 1, False)],
)
async def test_answers_up_to_the_size_bound_are_stored(
    resources: Resources, size: int, stored: bool
) -> None:
    builder = Builder(_body_of(size))
    telemetry.begin("t")
    await _respond(resources, builder)
    second = await _respond(resources, builder)
    assert isinstance(second, bytes) == stored
    assert builder.runs == (1 if stored else 2)


async def test_outside_a_request_cold_or_disabled_it_just_builds(
    redis_url: str, resources: Resources
) -> None:
    builder = Builder()
    with telemetry.aside():
        await _respond(resources, builder)
    telemetry.begin("cold").cold = True
    await _respond(resources, builder)
    assert builder.runs == 2
    telemetry.begin("warm")
    assert isinstance(await _respond(resources, builder), dict), "nothing was stored"
    cache = RedisCache(redis_url, timeout=0.5)
    disabled = _resources(cache, enabled=False)
    try:
        for _ in range(2):
            await shared_answers.respond(disabled, PARTS, builder.run, shareable=True)
        assert builder.runs == 5
    finally:
        await cache.close()


async def test_redis_down_is_a_bypass() -> None:
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", timeout=0.1)
    resources = _resources(cache)
    builder = Builder()
    try:
        stats = telemetry.begin("t")
        for _ in range(2):
            assert await _respond(resources, builder) == {"data": {"n": 1}}
        assert builder.runs == 2 and stats.cache_bypasses == 2 and stats.cache_hits == 0
    finally:
        await cache.close()

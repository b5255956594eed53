"""graphql/context.py: the per-request Context: one loader per name and request, forgotten on
demand (a subscription's next event), and cleanups run newest first when the operation ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest

from gateway.cache.memory import MemoryCache
from gateway.db import Database
from gateway.graphql.context import Context
from gateway.principal import ANONYMOUS
from gateway.services.resources import Resources
from gateway.settings import Settings
from tests.conftest import STATEMENTS, service_resources

pytestmark = pytest.mark.anyio


@pytest.fixture
def resources(settings: Settings) -> Resources:
    """Resources the loaders here never touch: nothing is opened."""
    assert settings.database_url is not None
    store = MemoryCache()
    db = Database(settings.database_url, STATEMENTS, min_size=0, max_size=1)
    return service_resources(store, settings, db=db, limit=10)  # the cache off, as `settings`


class Batches:
    """A batch function that squares its keys and remembers each batch it was given."""

    def __init__(self) -> None:
        self.seen: list[list[int]] = []

    async def __call__(self, keys: Sequence[int]) -> list[int]:
        self.seen.append(list(keys))
        return [key * key for key in keys]


async def test_a_fresh_context_is_anonymous_from_an_unknown_address(resources: Resources) -> None:
    context = Context(resources)
    assert context.principal is ANONYMOUS
    assert context.address == "unknown"
    assert context.refused is None


async def test_one_loader_per_name_batches_and_memoizes_within_the_request(
    resources: Resources,
) -> None:
    context = Context(resources)
    batches, other = Batches(), Batches()
    loader = context.loader("squares", batches)
    # A second call with another batch function still gets the first loader.
    assert context.loader("squares", other) is loader
    assert await loader.load(3) == 9
    assert await context.loader("squares", other).load(3) == 9
    assert batches.seen == [[3]] and other.seen == []
    assert context.loader("cubes", other) is not loader


async def test_each_request_has_its_own_loaders(resources: Resources) -> None:
    batches = Batches()
    first, second = Context(resources), Context(resources)
    await first.loader("squares", batches).load(2)
    await second.loader("squares", batches).load(2)
    assert batches.seen == [[2], [2]]


async def test_forget_drops_every_loader_and_its_memo(resources: Resources) -> None:
    context = Context(resources)
    batches = Batches()
    before = context.loader("squares", batches)
    await before.load(4)
    context.forget()
    after = context.loader("squares", batches)
    assert after is not before
    await after.load(4)
    assert batches.seen == [[4], [4]]


async def test_close_runs_the_cleanups_newest_first_and_only_once(resources: Resources) -> None:
    context = Context(resources)
    ran: list[str] = []

    def cleanup(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            ran.append(name)

        return run

    context.on_close(cleanup("listener"))
    context.on_close(cleanup("subscription"))
    await context.close()
    await context.close()
    assert ran == ["subscription", "listener"]

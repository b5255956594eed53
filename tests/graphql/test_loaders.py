"""DataLoader: one batch per tick, memoized per loader, errors reach every waiter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from gateway.graphql.loaders import DataLoader

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail

    async def __call__(self, keys: Sequence[int]) -> list[str | None]:
        self.batches.append(list(keys))
        if self.fail:
            raise LookupError("backend down")
        return [f"v{k}" if k < 100 else None for k in keys]


async def test_loads_in_one_tick_become_one_batch() -> None:
    batch = Recorder()
    loader: DataLoader[int, str | None] = DataLoader(batch)
    values = await asyncio.gather(*(loader.load(k) for k in (3, 1, 3, 2, 100)))
    assert values == ["v3", "v1", "v3", "v2", None]
    assert batch.batches == [[3, 1, 2, 100]]


async def test_memo_answers_repeat_keys_without_a_batch() -> None:
    batch = Recorder()
    loader: DataLoader[int, str | None] = DataLoader(batch)
    assert await loader.load(1) == "v1"
    assert await loader.load(1) == "v1"
    loader.prime(7, "primed")
    assert await loader.load(7) == "primed"
    assert batch.batches == [[1]]


async def test_large_batches_are_split() -> None:
    batch = Recorder()
    loader: DataLoader[int, str | None] = DataLoader(batch, max_batch=4)
    await asyncio.gather(*(loader.load(k) for k in range(10)))
    assert [len(b) for b in batch.batches] == [4, 4, 2]


async def test_a_failed_batch_fails_every_waiter_and_is_not_memoized() -> None:
    batch = Recorder(fail=True)
    loader: DataLoader[int, str | None] = DataLoader(batch)
    results = await asyncio.gather(loader.load(1), loader.load(2), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    batch.fail = False
    assert await loader.load(1) == "v1"
    assert batch.batches == [[1, 2], [1]]


async def test_wrong_batch_length_is_an_error() -> None:
    async def short(keys: Sequence[int]) -> list[str]:
        return ["only one"]

    loader: DataLoader[int, str] = DataLoader(short)
    with pytest.raises(RuntimeError, match="one value per key"):
        await asyncio.gather(loader.load(1), loader.load(2))

"""Per-request DataLoaders: batch the keys asked for in one tick into one query.

A loader lives in one request's context and is never shared across requests or users,
so its memo cannot leak one caller's data to another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BatchFn = Callable[[Sequence[K]], Awaitable[Sequence[V]]]


class DataLoader(Generic[K, V]):
    """Collect `load(key)` calls made in the same tick and resolve them with one batch call."""

    def __init__(self, batch: BatchFn[K, V], *, max_batch: int = 1000) -> None:
        self._batch = batch
        self._max_batch = max_batch
        self._memo: dict[K, asyncio.Future[V]] = {}
        self._queue: list[K] = []

    def load(self, key: K) -> asyncio.Future[V]:
        """A future for the value of `key`; the first call in a tick schedules the batch."""
        future = self._memo.get(key)
        if future is not None:
            return future
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._memo[key] = future
        if not self._queue:
            loop.call_soon(self._dispatch)
        self._queue.append(key)
        return future

    def prime(self, key: K, value: V) -> None:
        """Seed the memo with a value fetched another way (for example by a join)."""
        if key not in self._memo:
            future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
            future.set_result(value)
            self._memo[key] = future

    def _dispatch(self) -> None:
        keys, self._queue = self._queue, []
        for start in range(0, len(keys), self._max_batch):
            chunk = keys[start : start + self._max_batch]
            task = asyncio.ensure_future(self._run(chunk))
            task.add_done_callback(_consume)

    async def _run(self, keys: list[K]) -> None:
        try:
            values = await self._batch(keys)
            if len(values) != len(keys):
                raise RuntimeError("a DataLoader batch must return one value per key")
        except BaseException as exc:
            for key in keys:
                future = self._memo.pop(key)
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for key, value in zip(keys, values, strict=True):
            future = self._memo[key]
            if not future.done():
                future.set_result(value)


def _consume(task: asyncio.Task[None]) -> None:
    # Errors were handed to every waiting future; keep asyncio from logging them again.
    if not task.cancelled():
        task.exception()

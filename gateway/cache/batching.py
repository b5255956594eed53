"""Automatic pipelining: the Redis commands issued in one event-loop turn travel together.

Under load many requests want Redis at the same moment (a rate-limit charge, a cache
look-up). redis-py spends most of a round trip's CPU per call (taking a pooled
connection, arming timeouts, one write and one read per command); sending every command
queued during one turn of the loop as a single pipeline pays that once per batch, while
each caller still gets its own reply or its own error. Nothing changes for one caller at a
time: a batch of one is one round trip, as before. Within a batch, commands keep the
order they were issued in; batches may overtake one another (each takes its own pooled
connection), which no caller can tell: every caller awaits its reply before going on.

On a Redis Cluster the batch is redis-py's cluster pipeline, which sends each node its
share in parallel and follows MOVED/ASK redirections; every command in it must name keys
of one slot (`RedisCache` splits MGET and DEL per slot first). A node that fails fails
the whole batch, like one server would.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

log = logging.getLogger("gateway.cache")

MAX_BATCH = 512
"""Commands per pipeline; a longer queue is sent as several pipelines."""


class Batcher:
    """Queues commands and sends each loop turn's queue as one non-transactional pipeline."""

    def __init__(self, client: redis.Redis | RedisCluster, *, timeout: float) -> None:
        self._client = client
        self.timeout = timeout
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.commands = 0

    def submit(self, *command: Any) -> asyncio.Future[Any]:
        """Queue `command` (e.g. "GET", key); the future gets its reply, or raises its error
        (RedisError, OSError or TimeoutError for the whole batch when Redis cannot answer)."""
        # asyncio.get_running_loop() makes a getpid() system call each time, a measurable
        # cost on the hottest path: keep the loop while it runs (a client lives in one).
        loop = self._loop
        if loop is None or not loop.is_running():
            loop = asyncio.get_running_loop()
            if loop is not self._loop:
                # Another loop (a test's, say): whatever the old one queued died with it.
                self._loop, self._queue, self._scheduled = loop, [], False
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((command, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    async def close(self) -> None:
        """Wait for the batches already on their way."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def _flush(self) -> None:
        self._scheduled = False
        queue, self._queue = self._queue, []
        for start in range(0, len(queue), MAX_BATCH):
            assert self._loop is not None
            task = self._loop.create_task(self._send(queue[start : start + MAX_BATCH]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        self.batches += 1
        self.commands += len(batch)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._client.pipeline(transaction=False) as pipe:
                    for command, _ in batch:
                        pipe.execute_command(*command)
                    replies = await pipe.execute(raise_on_error=False)
        except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(_copy(exc))
            return
        except BaseException as exc:
            # Cancelled (shutdown) or a bug: no caller may wait for ever.
            for _, future in batch:
                if not future.done():
                    future.set_exception(RedisError(f"batch abandoned: {exc!r}"))
            raise
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # the caller gave up (cancelled) meanwhile
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)


def _copy(exc: BaseException) -> BaseException:
    # One exception object raised in many tasks would collect every task's traceback.
    try:
        return type(exc)(*exc.args)
    except Exception:  # an exception type with an unusual constructor
        return RedisError(str(exc) or type(exc).__name__)


class Script:
    """A Lua script run by EVALSHA through the batcher; loaded once when Redis lacks it."""

    def __init__(self, batcher: Batcher, source: str) -> None:
        self._batcher = batcher
        self._source = source
        # Redis names a script by the SHA-1 of its text.
        self._sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self._loading: asyncio.Future[Any] | None = None

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self._batcher.submit("EVALSHA", self._sha, len(keys), *keys, *args)
        except NoScriptError:
            # First use, Redis restarted, or SCRIPT FLUSH ran: load it and retry once.
            await self._load()
            return await self._batcher.submit("EVALSHA", self._sha, len(keys), *keys, *args)

    async def _load(self) -> None:
        # A burst of callers that all met NOSCRIPT shares one load.
        if self._loading is None or self._loading.done():
            log.info("loading a Lua script into Redis")
            self._loading = self._batcher.submit("SCRIPT", "LOAD", self._source)
        await asyncio.shield(self._loading)

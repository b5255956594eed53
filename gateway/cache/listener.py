"""The one pub/sub connection per process that every local subscriber shares."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from gateway.cache.subscriptions import Fanout

log = logging.getLogger("gateway.cache")


class Listener:
    """One pub/sub connection per process, shared by every local subscriber.

    It subscribes to a channel when its first local subscriber arrives and unsubscribes
    when the last one leaves. After a lost connection it reconnects with backoff and
    subscribes again to every channel still wanted, on a new connection from `connect`
    (on a Redis Cluster, to the next node in turn: a node that died is not asked twice
    running, and classic PUBLISH reaches subscribers on every node).
    """

    def __init__(
        self, connect: Callable[[], Awaitable[Any]], fanout: Fanout, timeout: float
    ) -> None:
        self._connect = connect
        self._fanout = fanout
        self._timeout = timeout
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._confirmations: dict[str, asyncio.Future[None]] = {}

    async def want(self, channel: str, *, first: bool) -> None:
        """Return once Redis confirmed the subscription, or after a bounded wait if it is
        unreachable (the reader then subscribes as soon as Redis is back)."""
        if first:
            self._confirmations[channel] = asyncio.get_running_loop().create_future()
            if self._task is None:
                self._task = asyncio.create_task(self._run(), name="cache-pubsub")
            elif self._pubsub is not None:
                await self._command(self._pubsub.subscribe, channel)
        confirmation = self._confirmations.get(channel)
        if confirmation is None:
            return
        try:
            async with asyncio.timeout(max(1.0, self._timeout * 4)):
                await asyncio.shield(confirmation)
        except TimeoutError:
            log.warning(
                "subscription to %s not confirmed yet; it will be once Redis answers", channel
            )

    async def drop(self, channel: str) -> None:
        self._confirmations.pop(channel, None)
        if self._pubsub is not None:
            await self._command(self._pubsub.unsubscribe, channel)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _command(self, command: Callable[..., Awaitable[Any]], *args: Any) -> None:
        # Only writes: the reader task reads the replies. A failure here also breaks the
        # reader's read, which reconnects and subscribes to every wanted channel again.
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(self._timeout):
                await command(*args)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            pubsub: Any = None
            try:
                pubsub = await self._connect()
                await pubsub.connect()
                # From here on `want` subscribes new channels itself; the ones wanted until
                # now are subscribed here (no await between the two lines: none is missed).
                self._pubsub = pubsub
                channels = self._fanout.channels()
                if channels:
                    await pubsub.subscribe(*channels)
                delay = 0.1
                await self._read(pubsub)
            except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
                stop_if_cancelled(exc)
                log.warning("pub/sub connection lost (%s); reconnecting in %.1f s", exc, delay)
            finally:
                self._pubsub = None
                if pubsub is not None:
                    with contextlib.suppress(RedisError, OSError):
                        await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _read(self, pubsub: Any) -> None:
        quiet = 0
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                quiet += 1
                if quiet >= 15:
                    # A silent peer may be a dead one: a ping makes a broken connection fail.
                    await pubsub.ping()
                    quiet = 0
                continue
            quiet = 0
            kind, channel = message["type"], _text(message["channel"])
            if kind == "message":
                self._fanout.deliver(channel, bytes(message["data"]))
            elif kind == "subscribe":
                confirmation = self._confirmations.pop(channel, None)
                if confirmation is not None and not confirmation.done():
                    confirmation.set_result(None)


def stop_if_cancelled(error: BaseException) -> None:
    """Raise CancelledError when this task was cancelled but `error` came out instead.

    On Python 3.11 a timeout (asyncio.timeout, or redis-py's own) that expires as the task
    is cancelled can turn the cancellation into a TimeoutError (the two race). A loop that
    reconnects after errors would then go on for ever, and whoever awaits its end (the
    app's shutdown) with it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

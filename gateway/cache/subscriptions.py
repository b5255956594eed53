"""Publish/subscribe inside one process: a `Subscription` and the `Fanout` that feeds it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Subscription:
    """The messages published on one channel after it was opened, until `aclose()`.

    Its queue is bounded: a subscriber that falls behind loses its oldest messages, never
    the newest, and never slows the publisher down.
    """

    def __init__(
        self,
        channel: str,
        queue: asyncio.Queue[bytes | None],
        release: Callable[[], Awaitable[None]],
    ) -> None:
        self.channel = channel
        self._queue = queue
        self._release = release
        self._closed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        message = await self._queue.get()
        if message is None:
            raise StopAsyncIteration
        return message

    async def aclose(self) -> None:
        """Stop receiving; a pending `__anext__` ends the iteration."""
        if self._closed:
            return
        self._closed = True
        offer(self._queue, None)
        await self._release()


def offer(queue: asyncio.Queue[bytes | None], message: bytes | None) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)


class Fanout:
    """This process's subscribers, by channel."""

    def __init__(self, queue_size: int = 64) -> None:
        self.queue_size = queue_size
        self._queues: dict[str, set[asyncio.Queue[bytes | None]]] = {}

    def add(self, channel: str) -> tuple[asyncio.Queue[bytes | None], bool]:
        """A new subscriber's queue, and whether it is the channel's first."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(self.queue_size)
        queues = self._queues.setdefault(channel, set())
        queues.add(queue)
        return queue, len(queues) == 1

    def remove(self, channel: str, queue: asyncio.Queue[bytes | None]) -> bool:
        """Forget a subscriber; True when it was the channel's last."""
        queues = self._queues.get(channel)
        if queues is None:
            return False
        queues.discard(queue)
        if queues:
            return False
        del self._queues[channel]
        return True

    def channels(self) -> list[str]:
        return list(self._queues)

    def deliver(self, channel: str, message: bytes) -> None:
        for queue in self._queues.get(channel, ()):
            offer(queue, message)

"""gateway/lifecycle.py: SIGTERM turns the process to draining, then hands over to the server."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from gateway.lifecycle import Lifecycle

pytestmark = pytest.mark.anyio


def draining(lifecycle: Lifecycle) -> bool:
    """Read afresh (a signal handler changed it behind mypy's back)."""
    return lifecycle.draining


@pytest.fixture
def server_handler() -> Iterator[list[int]]:
    """A SIGTERM handler standing in for uvicorn's; it records the signals it got."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    before = signal.signal(signal.SIGTERM, handler)
    yield received
    signal.signal(signal.SIGTERM, before)


async def test_sigterm_drains_first_and_then_runs_the_servers_handler(
    server_handler: list[int],
) -> None:
    lifecycle = Lifecycle()
    assert lifecycle.install(drain_seconds=0.05)
    assert not lifecycle.draining
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0)
    # Readiness turns at once; the server is told only after the drain period.
    assert draining(lifecycle)
    assert server_handler == []
    for _ in range(200):
        if server_handler:
            break
        await asyncio.sleep(0.01)
    assert server_handler == [signal.SIGTERM]
    lifecycle.uninstall()


async def test_a_second_sigterm_stops_at_once(server_handler: list[int]) -> None:
    lifecycle = Lifecycle()
    assert lifecycle.install(drain_seconds=3600)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0)
    assert lifecycle.draining and server_handler == []
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0)
    assert server_handler == [signal.SIGTERM]
    lifecycle.uninstall()


async def test_uninstall_gives_the_server_its_handler_back(server_handler: list[int]) -> None:
    lifecycle = Lifecycle()
    original = signal.getsignal(signal.SIGTERM)
    assert lifecycle.install(drain_seconds=1)
    assert signal.getsignal(signal.SIGTERM) is not original
    lifecycle.uninstall()
    assert signal.getsignal(signal.SIGTERM) is original
    lifecycle.uninstall()  # a second time changes nothing
    assert signal.getsignal(signal.SIGTERM) is original


async def test_without_a_server_handler_nothing_is_installed() -> None:
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        lifecycle = Lifecycle()
        assert not lifecycle.install(drain_seconds=1)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)


async def test_outside_the_main_thread_nothing_is_installed(server_handler: list[int]) -> None:
    lifecycle = Lifecycle()
    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(lifecycle.install(1)))
    thread.start()
    thread.join()
    assert answers == [False]
    assert not lifecycle.draining

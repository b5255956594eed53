"""The process's lifecycle as load balancers see it: serving, then draining on SIGTERM.

On SIGTERM readiness turns 503 at once, the process keeps serving for the drain period
(so load balancers and Kubernetes endpoints stop sending traffic), and then the server's
own handler runs: uvicorn stops accepting, finishes in-flight requests within its
graceful timeout, and the lifespan closes the pool.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("gateway.lifecycle")

Handler = Callable[[int, FrameType | None], object]


class Lifecycle:
    """Whether this process still wants new traffic."""

    def __init__(self) -> None:
        self.draining = False
        self._restore: Handler | int | None = None

    def install(self, drain_seconds: float) -> bool:
        """Wrap the server's SIGTERM handler; False when there is none (tests, no server)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        server_handler = signal.getsignal(signal.SIGTERM)
        if not callable(server_handler):
            return False
        loop = asyncio.get_running_loop()

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            if self.draining:
                server_handler(signum, frame)  # a second SIGTERM: stop now
                return
            self.draining = True
            log.info("SIGTERM: draining for %.1f s before shutdown", drain_seconds)
            loop.call_soon_threadsafe(loop.call_later, drain_seconds, server_handler, signum, frame)

        self._restore = server_handler
        signal.signal(signal.SIGTERM, on_sigterm)
        return True

    def uninstall(self) -> None:
        if self._restore is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._restore)
            self._restore = None

"""The circuit breaker that keeps a failing Redis from slowing every request down."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("gateway.cache")


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one probe through per `cooldown`."""

    def __init__(self, threshold: int = 3, cooldown: float = 2.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def open(self) -> bool:
        return self.opened_at is not None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at >= self.cooldown:
            # Half-open: this caller is the probe; others keep bypassing until it answers.
            self.opened_at = time.monotonic()
            return True
        return False

    def success(self) -> None:
        if self.opened_at is not None:
            log.info("cache reachable again; circuit closed")
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold and self.opened_at is None:
            log.warning("cache failing; circuit open for %.1f s at a time", self.cooldown)
            self.opened_at = time.monotonic()
        elif self.opened_at is not None:
            self.opened_at = time.monotonic()

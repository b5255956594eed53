"""gateway/cache/breaker.py: when the circuit opens, lets a probe through, and closes again."""

from __future__ import annotations

import logging

import pytest

from gateway.cache import breaker as breaker_module
from gateway.cache.breaker import CircuitBreaker


class Clock:
    """A monotonic clock the test moves by hand (the breaker's only outside input)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(breaker_module, "time", fake)
    return fake


def test_it_opens_at_the_threshold_of_consecutive_failures(clock: Clock) -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=2.0)
    breaker.failure()
    breaker.failure()
    assert (breaker.open, breaker.allow()) == (False, True)
    breaker.failure()
    assert (breaker.open, breaker.allow()) == (True, False)


def test_a_success_between_failures_starts_the_count_again(clock: Clock) -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=2.0)
    for _ in range(5):
        breaker.failure()
        breaker.success()
    assert breaker.failures == 0 and not breaker.open


def test_after_the_cooldown_one_probe_goes_through(clock: Clock) -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=2.0)
    breaker.failure()
    clock.now += 1.75
    assert not breaker.allow()
    clock.now += 0.25
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # everyone else keeps bypassing while it is out
    breaker.success()
    assert not breaker.open and breaker.allow() and breaker.failures == 0


def test_a_failed_probe_keeps_it_open_for_another_cooldown(clock: Clock) -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=2.0)
    breaker.failure()
    clock.now += 2.0
    assert breaker.allow()
    clock.now += 1.5
    breaker.failure()  # the probe failed: the cooldown counts from now
    clock.now += 1.5
    assert breaker.open and not breaker.allow()
    clock.now += 0.5
    assert breaker.allow()


def test_opening_and_closing_are_logged_once_each(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.cache")
    breaker = CircuitBreaker(threshold=2, cooldown=1.5)
    for _ in range(4):
        breaker.failure()
    breaker.success()
    breaker.success()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "cache failing; circuit open for 1.5 s at a time"),
        ("INFO", "cache reachable again; circuit closed"),
    ]

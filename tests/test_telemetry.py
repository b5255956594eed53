"""gateway/telemetry.py: a request's counters, bounded statement traces, and the contextvar."""

from __future__ import annotations

import asyncio

import pytest

from gateway import telemetry
from gateway.telemetry import TRACE_STATEMENTS, TRACE_TEXT, RequestStats


@pytest.mark.parametrize(
    ("hits", "misses", "bypasses", "outcome"),
    [
        (0, 0, 0, None),
        (2, 0, 0, "HIT"),
        (0, 1, 0, "MISS"),
        (0, 0, 3, "BYPASS"),
        (1, 1, 0, "MIXED"),
        (0, 1, 1, "MIXED"),
    ],
)
def test_cache_outcome(hits: int, misses: int, bypasses: int, outcome: str | None) -> None:
    stats = RequestStats(cache_hits=hits, cache_misses=misses, cache_bypasses=bypasses)
    assert stats.cache_outcome == outcome


def test_a_write_or_a_recent_writer_keeps_reads_on_the_primary() -> None:
    idle = RequestStats()
    assert not idle.wrote and not idle.primary_only
    assert RequestStats(recent_writer=True).primary_only
    writer = RequestStats(written={"orders"})
    assert writer.wrote and writer.primary_only


def test_untraced_requests_keep_no_statements() -> None:
    stats = RequestStats()
    stats.note("products.get", "SELECT 1")
    assert stats.trace is None and stats.traced_omitted == 0


def test_a_trace_is_bounded_in_count_and_in_text() -> None:
    stats = RequestStats(trace=[])
    stats.note("exact", "x" * TRACE_TEXT)
    stats.note("long", "y" * (TRACE_TEXT + 5))
    assert stats.trace is not None
    assert stats.trace[0] == ("exact", "x" * TRACE_TEXT)
    assert stats.trace[1] == ("long", "y" * TRACE_TEXT + "\n-- … 5 more characters")
    for n in range(TRACE_STATEMENTS - 2):
        stats.note(f"s{n}", "SELECT 1")
    assert len(stats.trace) == TRACE_STATEMENTS and stats.traced_omitted == 0
    stats.note("one too many", "SELECT 2")
    stats.note("two too many", "SELECT 3")
    assert len(stats.trace) == TRACE_STATEMENTS and stats.traced_omitted == 2


@pytest.mark.anyio
async def test_the_current_request_is_shared_with_its_tasks_and_aside_hides_it() -> None:
    async def in_request() -> RequestStats | None:
        return telemetry.current()

    async def serve(request_id: str) -> tuple[RequestStats, RequestStats | None]:
        stats = telemetry.begin(request_id)
        spawned = await asyncio.create_task(in_request())
        with telemetry.aside():
            assert telemetry.current() is None
        assert telemetry.current() is stats
        return stats, spawned

    # Two requests served at once each see their own counters.
    (first, seen_first), (second, seen_second) = await asyncio.gather(serve("a"), serve("b"))
    assert (first.request_id, second.request_id) == ("a", "b")
    assert seen_first is first and seen_second is second
    assert telemetry.current() is None  # the caller's own context never began a request

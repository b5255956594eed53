"""What a run measured: a pass's figures summed from its calls, round trips in a row, medians
over runs, the typical run, and a variant's and scenario's shape as JSON."""

from __future__ import annotations

import pytest

from gateway.compare.catalogue import SCENARIOS
from gateway.compare.recorder import Call
from gateway.compare.results import (
    Figures,
    Run,
    ScenarioResult,
    VariantResult,
    sequential,
    typical,
)


def call(start: float, duration: float, **figures: object) -> Call:
    values: dict[str, object] = {
        "method": "GET",
        "path": "/api/v1/products",
        "status": 200,
        "label": "",
        "start_ms": start,
        "duration_ms": duration,
        "request_bytes": 100,
        "response_bytes": 500,
        "sql": 1,
        "cache": "none",
        "server_ms": 2.0,
        "json_bytes": 400,
        "needed_bytes": 100,
    }
    values.update(figures)
    return Call(**values)  # type: ignore[arg-type]


def run(wall_ms: float, requests: int = 1, **figures: object) -> Run:
    calls = [call(10.0 * i, 5.0, **figures) for i in range(requests)]
    return Run(calls, Figures.of(calls, wall_ms))


def test_figures_sum_the_calls_of_a_pass() -> None:
    calls = [
        call(0, 10, sql=2, cache="MISS", json_bytes=300, needed_bytes=100, db_ms=1.5),
        call(0, 4, sql=0, cache="HIT", json_bytes=100, needed_bytes=100, server_ms=0.5),
        call(12, 3, sql=1, cache="HIT", request_bytes=50, response_bytes=70),
    ]
    figures = Figures.of(calls, wall_ms=15.0, from_cache=2)
    assert figures == Figures(
        requests=3,
        request_bytes=250,
        response_bytes=1070,
        sql=3,
        cache={"MISS": 1, "HIT": 2},
        server_ms=4.5,
        wall_ms=15.0,
        overfetch=1 - 300 / 800,
        db_ms=1.5,
        round_trips=2,
        from_cache=2,
    )


def test_nothing_received_is_no_over_fetch() -> None:
    empty = Figures.of([], wall_ms=0.0, from_cache=3)
    assert (empty.requests, empty.overfetch, empty.cache, empty.round_trips) == (0, 0.0, {}, 0)
    assert Figures.of([call(0, 1, json_bytes=0, needed_bytes=0)], 1.0).overfetch == 0.0
    assert Figures.of([call(0, 1, json_bytes=10, needed_bytes=10)], 1.0).overfetch == 0.0


def test_round_trips_count_the_longest_chain_of_waits() -> None:
    assert sequential([]) == 0
    # Six at once: one round trip.
    assert sequential([call(0, 10) for _ in range(6)]) == 1
    # One that starts exactly when another ends waited for it.
    assert sequential([call(0, 10), call(10, 5), call(15, 1)]) == 3
    # Overlapping by a hair: not a wait.
    assert sequential([call(0, 10), call(9.9, 5)]) == 1
    # The order calls are listed in does not matter; the longest branch wins
    # (0-10, 11-13, 14-15, 30-35 against 0-10, 11-41).
    fan = [call(30, 5), call(0, 10), call(11, 2), call(11, 30), call(14, 1)]
    assert sequential(fan) == 4


def test_the_median_of_runs_keeps_counts_whole_and_times_exact() -> None:
    runs = [
        run(30.0, requests=1),
        run(10.0, requests=3, cache="HIT"),
        run(20.0, requests=2),
        run(40.0, requests=4),
    ]
    figures = Figures.median(runs)
    # Counts: the lower of the two middle values; times: their mean.
    assert (figures.requests, figures.sql, figures.request_bytes) == (2, 2, 200)
    assert figures.wall_ms == 25.0
    # The cache outcomes of the typical run (the lower middle wall time: 20 ms).
    assert typical(runs) is runs[2]
    assert figures.cache == {"none": 2}


def test_typical_is_the_run_of_median_wall_time() -> None:
    runs = [run(50.0), run(10.0), run(30.0)]
    assert typical(runs) is runs[2]
    assert typical([runs[0]]) is runs[0]
    with pytest.raises(IndexError):
        typical([])


def test_a_variant_shows_its_typical_run_and_every_runs_figures() -> None:
    fast, slow, middle = run(5.0, requests=1), run(50.0, requests=3), run(20.0, requests=2)
    middle = Run(middle.calls, middle.figures, [{"id": "3"}])
    variant = VariantResult("graphql", "warm", [fast, slow, middle], "GraphQL")
    assert variant.title == "GraphQL · warm"
    assert VariantResult("graphql", "", [fast], "GraphQL").title == "GraphQL"
    shown = variant.as_dict()
    assert (shown["variant"], shown["pass"], shown["title"]) == (
        "graphql",
        "warm",
        "GraphQL · warm",
    )
    assert len(shown["calls"]) == 2 and shown["variables"] == [{"id": "3"}]
    assert [r["requests"] for r in shown["runs"]] == [1, 3, 2]
    assert shown["figures"]["requests"] == 2 and shown["figures"]["wall_ms"] == 20.0


def test_a_scenario_result_finds_a_variant_by_name_and_pass() -> None:
    cold = VariantResult("graphql", "cold", [run(1.0)], "GraphQL")
    warm = VariantResult("graphql", "warm", [run(2.0)], "GraphQL")
    result = ScenarioResult(SCENARIOS["cache-cold-warm"], 1, [cold, warm])
    assert result.variant("graphql", "warm") is warm
    assert (result.network.name, result.cache) == ("loopback", "cold")
    with pytest.raises(StopIteration):
        result.variant("graphql")

"""The benchmark issue's targets, judged on a results document: met or missed, with the ratio."""

from __future__ import annotations

import math
from typing import Any

Results = dict[str, Any]
Run = dict[str, Any]

RSS_LIMIT_MB = 150.0
FLOOR_SHARE = 0.50
DATA_LAYER_RATIO = 1.25
PAGE_SHARE = 0.70
ERROR_CONNECTIONS = 256


def find(
    results: Results,
    workload: str,
    *,
    cache: str | None = "on",
    workers: int | None = None,
    connections: int | None = None,
) -> Run | None:
    """The run of `workload` in that configuration (main workers/connections by default)."""
    options = results["options"]
    workers = options["workers"] if workers is None else workers
    connections = options["connections"] if connections is None else connections
    for run in results["runs"]:
        if (
            run["workload"] == workload
            and run["workers"] == workers
            and run["connections"] == connections
            and (run["cache"] == cache or run["server"] == "floor")
        ):
            found: Run = run
            return found
    return None


def ratio_of(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def targets(results: Results) -> list[dict[str, Any]]:
    """Each target of the issue: what was measured, the ratio, and met / missed / None."""
    found = []
    detail, floor = find(results, "rest.detail.hit"), find(results, "floor")
    share = ratio_of(rate(detail), rate(floor))
    measured = (
        f"{number(rate(detail))} vs floor {number(rate(floor))} req/s"
        if detail and floor
        else "not measured"
    )
    found.append(
        _target(
            "cached REST detail ≥ 50 % of the floor's throughput",
            measured,
            share,
            None if share is None else share >= FLOOR_SHARE,
        )
    )
    layer = results.get("data_layer") or {}
    layer_ratio = layer.get("ratio")
    found.append(
        _target(
            "data-layer CPU per statement ≤ 1.25x raw asyncpg",
            "not measured" if layer_ratio is None else f"{len(layer['statements'])} statements",
            layer_ratio,
            None if layer_ratio is None else layer_ratio <= DATA_LAYER_RATIO,
        )
    )
    rest_page, graphql_page = find(results, "rest.page"), find(results, "graphql.page")
    page_share = ratio_of(ops(graphql_page), ops(rest_page))
    found.append(
        _target(
            "GraphQL nested product page ≥ 70 % of the tuned REST page",
            f"{number(ops(graphql_page))} vs {number(ops(rest_page))} pages/s"
            if rest_page and graphql_page
            else "not measured",
            page_share,
            None if page_share is None else page_share >= PAGE_SHARE,
        )
    )
    crowded = [run for run in results["runs"] if run["connections"] == ERROR_CONNECTIONS]
    errors = sum(errors_of(run) for run in crowded)
    found.append(
        _target(
            "zero errors at 256 connections",
            f"{errors} errors in {sum(r['requests'] for r in crowded):,} requests "
            f"({len(crowded)} runs{'; ' + error_kinds(crowded) if errors else ''})"
            if crowded
            else "not measured",
            None,
            None if not crowded else errors == 0,
        )
    )
    gateway_runs = [run for run in results["runs"] if run["server"] == "gateway"]
    peaks = [p for run in gateway_runs for p in run.get("rss_peak_mb") or [] if not math.isnan(p)]
    peak = max(peaks) if peaks else None
    found.append(
        _target(
            "peak RSS per worker < 150 MB",
            "not measured" if peak is None else f"{peak:.0f} MB",
            None if peak is None else peak / RSS_LIMIT_MB,
            None if peak is None else peak < RSS_LIMIT_MB,
        )
    )
    return found


def _target(name: str, measured: str, ratio: float | None, met: bool | None) -> dict[str, Any]:
    return {"target": name, "measured": measured, "ratio": ratio, "met": met}


def rate(run: Run | None) -> float | None:
    return None if run is None else float(run["throughput_rps"])


def ops(run: Run | None) -> float | None:
    return None if run is None else float(run["ops_per_s"])


def errors_of(run: Run) -> int:
    return int(sum(run["errors"].values()))


def error_kinds(runs: list[Run]) -> str:
    """What the errors of `runs` were: HTTP statuses outside 2xx/3xx and socket errors,
    e.g. "503 x 181, timeout x 2"; empty when there were none."""
    counts: dict[str, int] = {}
    for run in runs:
        for status, n in (run.get("statuses") or {}).items():
            if not 200 <= int(status) < 400:
                counts[status] = counts.get(status, 0) + int(n)
        for kind, n in run["errors"].items():
            if kind != "status" and n:
                counts[kind] = counts.get(kind, 0) + int(n)
    return ", ".join(f"{kind} x {n:,}" for kind, n in sorted(counts.items()))


def number(value: float | None) -> str:
    """A throughput for a table: thousands separated, one decimal below 100."""
    if value is None or math.isnan(value):
        return "\u2013"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"

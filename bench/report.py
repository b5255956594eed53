"""The markdown report of a results document: the targets, then one table per question.

Pure functions of the JSON document, so `python -m bench --render results/<date>.json`
redraws a report without any load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bench.targets import (
    Results,
    Run,
    error_kinds,
    errors_of,
    find,
    number,
    ops,
    rate,
    ratio_of,
    targets,
)

MISSING = "\u2013"


def _ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return MISSING
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _fixed(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}"


def _share(value: float | None) -> str:
    return MISSING if value is None else f"{value * 100:.0f} %"


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def targets_table(results: Results) -> list[str]:
    verdict = {True: "**met**", False: "**missed**", None: "not measured"}
    return _table(
        ["target", "measured", "ratio", "result"],
        (
            [
                t["target"],
                t["measured"],
                MISSING if t["ratio"] is None else f"{t['ratio']:.2f}",
                verdict[t["met"]],
            ]
            for t in targets(results)
        ),
    )


def _run_row(run: Run) -> list[str]:
    sql = run.get("sql_per_request")
    rss = run.get("rss_peak_mb") or []
    return [
        f"`{run['workload']}`",
        run["cache"] or MISSING,
        number(run["throughput_rps"]),
        _ms(run["latency_ms"]["p50"]),
        _ms(run["latency_ms"]["p99"]),
        MISSING if sql is None else f"{sql:.2f}",
        _share(run.get("cache_hit_share")),
        f"{errors_of(run)} ({run['error_rate'] * 100:.2f} %)"
        + (f": {error_kinds([run])}" if errors_of(run) else ""),
        _ms(run.get("cpu_ms_per_request")),
        MISSING if not rss else " / ".join(f"{p:.0f}" for p in rss),
    ]


def workloads_table(results: Results) -> list[str]:
    options = results["options"]
    runs = [
        run
        for run in results["runs"]
        if run["workers"] == options["workers"]
        and run["connections"] == options["connections"]
        and (run["group"] == "main" or run["server"] == "floor")
    ]
    order = list(results["workloads"])
    runs.sort(
        key=lambda r: (
            order.index(r["workload"]) if r["workload"] in order else 99,
            r["cache"] != "on",
        )
    )
    header = [
        "workload",
        "cache",
        "req/s",
        "p50 ms",
        "p99 ms",
        "SQL/req",
        "cache hits",
        "errors",
        "CPU ms/req",
        "peak RSS MB/worker",
    ]
    return _table(header, (_run_row(run) for run in runs))


PAIRS = (
    ("list", "product list"),
    ("detail-hit", "detail, cache hit"),
    ("detail-miss", "detail, cache miss"),
    ("page", "nested product page"),
)


def styles_table(results: Results, cache: str = "on") -> list[str]:
    rows = []
    for pair, title in PAIRS:
        by_style = {
            run["style"]: run
            for run in results["runs"]
            if run.get("pair") == pair and run["cache"] == cache and run["group"] == "main"
        }
        rest, graphql = by_style.get("rest"), by_style.get("graphql")
        if rest is None and graphql is None:
            continue
        rows.append(
            [
                title,
                number(ops(rest)),
                number(ops(graphql)),
                _fixed(ratio_of(ops(graphql), ops(rest))),
                _ms(rest["latency_ms"]["p99"]) if rest else MISSING,
                _ms(graphql["latency_ms"]["p99"]) if graphql else MISSING,
                _fixed(rest and rest.get("sql_per_request")),
                _fixed(graphql and graphql.get("sql_per_request")),
            ]
        )
    header = [
        "task",
        "REST ops/s",
        "GraphQL ops/s",
        "GraphQL ÷ REST",
        "REST p99 ms",
        "GraphQL p99 ms",
        "REST SQL/req",
        "GraphQL SQL/req",
    ]
    return _table(header, rows)


def cache_table(results: Results) -> list[str]:
    """Per workload: throughput and p99 with the cache on and off, and the speed-up."""
    rows = []
    for name in results["workloads"]:
        on, off = find(results, name, cache="on"), find(results, name, cache="off")
        if on is None or off is None or on["server"] != "gateway":
            continue
        rows.append(
            [
                f"`{name}`",
                number(rate(on)),
                number(rate(off)),
                _fixed(ratio_of(rate(on), rate(off))),
                _ms(on["latency_ms"]["p99"]),
                _ms(off["latency_ms"]["p99"]),
                _share(on.get("cache_hit_share")),
            ]
        )
    if not rows:
        return []
    header = ["workload", "on req/s", "off req/s", "on ÷ off", "on p99 ms", "off p99 ms", "hits"]
    return _table(header, rows)


def scaling_tables(results: Results) -> list[str]:
    options = results["options"]
    lines: list[str] = []
    workloads = options["scaling_workloads"]
    workers = sorted(set(options["scaling_workers"]) | {options["workers"]})
    rows = []
    for name in workloads:
        found = [find(results, name, workers=w) for w in workers]
        if any(found):
            rows.append(
                [f"`{name}`"]
                + [
                    MISSING
                    if run is None
                    else f"{number(rate(run))} req/s, p99 {_ms(run['latency_ms']['p99'])} ms"
                    for run in found
                ]
            )
    if rows:
        lines += [
            f"Throughput by worker processes ({options['connections']} connections, cache on):",
            "",
        ]
        lines += _table(["workload", *(f"{w} worker{'s' if w > 1 else ''}" for w in workers)], rows)
        lines.append("")
    conns = sorted(set(options["scaling_connections"]) | {options["connections"]})
    rows = []
    for name in workloads:
        found = [find(results, name, connections=c) for c in conns]
        if any(found):
            rows.append(
                [f"`{name}`"]
                + [
                    MISSING
                    if run is None
                    else f"p99 {_ms(run['latency_ms']['p99'])} ms, {number(rate(run))} req/s, "
                    f"{errors_of(run)} errors"
                    + (f" ({error_kinds([run])})" if errors_of(run) else "")
                    for run in found
                ]
            )
    if rows:
        lines += [f"Latency as concurrency grows ({options['workers']} worker(s), cache on):", ""]
        lines += _table(["workload", *(f"{c} connections" for c in conns)], rows)
    return lines


def data_layer_table(results: Results) -> list[str]:
    layer = results.get("data_layer")
    if not layer or not layer.get("statements"):
        return []
    rows = [
        [
            f"`{row['statement']}`",
            f"{row['raw_cpu_us']:.1f}",
            f"{row['gateway_cpu_us']:.1f}",
            f"{row['ratio']:.2f}",
            MISSING if row.get("databases_cpu_us") is None else f"{row['databases_cpu_us']:.1f}",
        ]
        for row in layer["statements"]
    ]
    rows.append(["all of them", "", "", f"**{layer['ratio']:.2f}**", ""])
    return _table(
        ["statement", "raw asyncpg µs CPU", "gateway.db µs CPU", "ratio", "databases API µs CPU"],
        rows,
    )


def setup_line(results: Results) -> str:
    options, machine, dataset = results["options"], results["machine"], results["dataset"]
    return (
        f"{machine['cpus']} CPUs ({machine['platform']}), Python {machine['python']}; "
        f"load generator {machine['load_generator']}; each run {options['duration']} s after a "
        f"{options['warmup']} s warm-up; main runs: {options['connections']} connections, "
        f"{options['workers']} uvicorn worker(s) (uvloop, httptools, GATEWAY_ENV=production); "
        f"data: `{dataset['scale']}` scale ({dataset.get('products', 0):,} products), seeded "
        f"in {dataset.get('seed_seconds', 0):.1f} s; "
        f"PostgreSQL: {results['backends'].get('database')}; "
        f"Redis: {results['backends'].get('redis')}."
    )


def markdown(results: Results, plots: Iterable[str] = ()) -> str:
    """The whole report for one results document."""
    lines = [f"# Benchmark {results['stamp']}", "", setup_line(results), ""]
    lines += ["## Targets", "", *targets_table(results), ""]
    lines += [
        f"## Workloads ({results['options']['workers']} worker(s), "
        f"{results['options']['connections']} connections)",
        "",
        *workloads_table(results),
        "",
        "SQL/req is the mean `X-Query-Count`; cache hits the share of `X-Cache: HIT`; errors are "
        "non-2xx/3xx answers plus socket errors, with their statuses or kinds; CPU ms/req is "
        "the workers' CPU time over the run divided by its requests; peak RSS is each "
        "worker's VmHWM over the run.",
        "",
    ]
    lines += ["## REST vs GraphQL (cache on)", "", *styles_table(results), ""]
    cache = cache_table(results)
    if cache:
        lines += ["## Cache on vs off", "", *cache, ""]
    scaling = scaling_tables(results)
    if scaling:
        lines += ["## Scaling", "", *scaling, ""]
    layer = data_layer_table(results)
    if layer:
        calls = results["data_layer"]["calls_per_statement"]
        lines += [
            "## Data layer: CPU per statement",
            "",
            f"{calls:,} calls per statement and path, one connection, same SQL and values.",
            "",
            *layer,
            "",
        ]
    notes = list(results.get("notes") or [])
    notes += [
        f"`{name}`: {info['variant']}"
        for name, info in results["workloads"].items()
        if info.get("available") and info.get("variant") not in (None, "as specified")
    ]
    notes += [
        f"`{name}` not run: {info['reason']}"
        for name, info in results["workloads"].items()
        if not info.get("available")
    ]
    notes += [f"py-spy flame graph: [{name}]({name})" for name in results.get("profiles") or []]
    if notes:
        lines += ["## Notes", "", *(f"- {note}" for note in notes), ""]
    for plot in plots:
        lines += [f"![{plot}]({plot})", ""]
    return "\n".join(lines).rstrip() + "\n"

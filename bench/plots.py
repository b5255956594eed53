"""PNG plots of a results document: throughput and latency per workload (cache on vs off),
REST vs GraphQL, and scaling. Needs matplotlib (`pip install -e '.[bench]'`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report import PAIRS
from bench.targets import Results, find

ON, OFF, REST, GRAPHQL, FLOOR = "#2b6cb0", "#a0aec0", "#2f855a", "#b83280", "#718096"


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _main_runs(results: Results) -> dict[tuple[str, str | None], dict[str, Any]]:
    options = results["options"]
    return {
        (run["workload"], run["cache"]): run
        for run in results["runs"]
        if run["workers"] == options["workers"]
        and run["connections"] == options["connections"]
        and (run["group"] == "main" or run["server"] == "floor")
    }


def render(results: Results, folder: Path, stem: str) -> list[Path]:
    """Draw every plot into `folder` as `<stem>-<name>.png`; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, draw in (
        ("throughput", _throughput),
        ("latency", _latency),
        ("rest-vs-graphql", _styles),
        ("scaling", _scaling),
    ):
        figure = draw(plt, results)
        if figure is None:
            continue
        path = folder / f"{stem}-{name}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written


def _workload_names(results: Results) -> list[str]:
    runs = _main_runs(results)
    return [name for name in results["workloads"] if any(key[0] == name for key in runs)]


def _bars(axis: Any, names: list[str], series: list[tuple[str, str, list[float]]]) -> None:
    height = 0.8 / max(1, len(series))
    for index, (label, colour, values) in enumerate(series):
        positions = [n + index * height for n in range(len(names))]
        axis.barh(positions, values, height=height, label=label, color=colour)
    axis.set_yticks([n + 0.4 - height / 2 for n in range(len(names))], names)
    if not axis.yaxis_inverted():  # axes sharing y share the inversion: flip it once
        axis.invert_yaxis()
    axis.legend(loc="lower right", fontsize=8)
    axis.grid(axis="x", alpha=0.3)


def _value(run: dict[str, Any] | None, key: str, sub: str | None = None) -> float:
    if run is None:
        return 0.0
    value = run[key][sub] if sub else run[key]
    return float(value or 0.0)


def _throughput(plt: Any, results: Results) -> Any:
    runs, names = _main_runs(results), _workload_names(results)
    if not names:
        return None
    figure, axis = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5))
    on = [_value(runs.get((n, "on")) or runs.get((n, None)), "throughput_rps") for n in names]
    off = [_value(runs.get((n, "off")), "throughput_rps") for n in names]
    series = [("cache on (floor: no cache)", ON, on)]
    if any(off):
        series.append(("cache off", OFF, off))
    _bars(axis, names, series)
    axis.set_xlabel("requests per second (higher is better)")
    axis.set_title(_title(results, "Throughput per workload"))
    return figure


def _latency(plt: Any, results: Results) -> Any:
    runs, names = _main_runs(results), _workload_names(results)
    if not names:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(12, 0.45 * len(names) + 1.5), sharey=True)
    for axis, percentile in zip(axes, ("p50", "p99"), strict=True):
        on = [
            _value(runs.get((n, "on")) or runs.get((n, None)), "latency_ms", percentile)
            for n in names
        ]
        off = [_value(runs.get((n, "off")), "latency_ms", percentile) for n in names]
        series = [("cache on", ON, on)] + ([("cache off", OFF, off)] if any(off) else [])
        _bars(axis, names, series)
        axis.set_xscale("log")
        axis.set_xlabel(f"{percentile} latency, ms (log scale, lower is better)")
    figure.suptitle(_title(results, "Latency per workload"))
    return figure


def _styles(plt: Any, results: Results) -> Any:
    pairs = []
    for pair, title in PAIRS:
        found = {
            run["style"]: run
            for run in results["runs"]
            if run.get("pair") == pair and run["cache"] == "on" and run["group"] == "main"
        }
        if found:
            pairs.append((title, found.get("rest"), found.get("graphql")))
    if not pairs:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(12, 0.6 * len(pairs) + 1.5), sharey=True)
    titles = [title for title, _, _ in pairs]
    for axis, (key, sub, label) in zip(
        axes,
        (("ops_per_s", None, "operations per second"), ("latency_ms", "p99", "p99 latency, ms")),
        strict=True,
    ):
        series = [
            ("REST", REST, [_value(rest, key, sub) for _, rest, _ in pairs]),
            ("GraphQL", GRAPHQL, [_value(graphql, key, sub) for _, _, graphql in pairs]),
        ]
        _bars(axis, titles, series)
        axis.set_xlabel(label)
    figure.suptitle(_title(results, "REST vs GraphQL, same data (cache on)"))
    return figure


def _scaling(plt: Any, results: Results) -> Any:
    options = results["options"]
    names = options["scaling_workloads"]
    workers = sorted(set(options["scaling_workers"]) | {options["workers"]})
    conns = sorted(set(options["scaling_connections"]) | {options["connections"]})
    by_workers = {n: [find(results, n, workers=w) for w in workers] for n in names}
    by_conns = {n: [find(results, n, connections=c) for c in conns] for n in names}
    if not any(r for runs in [*by_workers.values(), *by_conns.values()] for r in runs):
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in names:
        points = [
            (w, r["throughput_rps"]) for w, r in zip(workers, by_workers[name], strict=True) if r
        ]
        if points:
            left.plot(*zip(*points, strict=True), marker="o", label=name)
        points = [
            (c, r["latency_ms"]["p99"]) for c, r in zip(conns, by_conns[name], strict=True) if r
        ]
        if points:
            right.plot(*zip(*points, strict=True), marker="o", label=name)
    left.set_xlabel("uvicorn workers")
    left.set_ylabel("requests per second")
    left.set_xticks(workers)
    left.set_title(f"Throughput by workers ({options['connections']} connections)")
    right.set_xlabel("connections")
    right.set_ylabel("p99 latency, ms")
    right.set_xscale("log", base=2)
    right.set_xticks(conns, [str(c) for c in conns])
    right.set_title(f"p99 as concurrency grows ({options['workers']} worker(s))")
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(_title(results, "Scaling (cache on)"))
    return figure


def _title(results: Results, what: str) -> str:
    return f"{what} - {results['stamp']}, {results['machine']['load_generator']}"

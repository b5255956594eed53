"""The results document: one record per run, and writing it out as JSON, markdown, plots
and the README's block between the bench markers."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench import plots, report, wrk
from bench.plan import Phase, Step
from bench.stats import LoadResult, ratio
from bench.workloads import Workload
from gateway.settings import PROJECT_ROOT

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def run_record(result: LoadResult, workload: Workload, phase: Phase, step: Step) -> dict[str, Any]:
    return {
        "workload": workload.name,
        "style": workload.style,
        "pair": workload.pair,
        "variant": workload.variant,
        "group": step.group,
        "server": phase.server,
        "cache": phase.cache,
        "workers": phase.workers,
        "connections": step.connections,
        "duration_s": round(result.duration_s, 3),
        "requests": result.requests,
        "throughput_rps": result.throughput,
        "ops_per_s": result.throughput / workload.calls_per_op,
        "calls_per_op": workload.calls_per_op,
        "latency_ms": result.latency_ms,
        "errors": result.errors,
        "error_rate": result.error_rate,
        "statuses": result.statuses,
        "sql_per_request": result.sql_per_request,
        "cache_outcomes": result.cache,
        "cache_hit_share": result.cache_hit_share,
        "bytes_per_request": ratio(result.bytes_read, result.requests),
    }


def summary(run: dict[str, Any]) -> str:
    sql = run["sql_per_request"]
    errors = sum(run["errors"].values())
    rss = max(run["rss_peak_mb"] or [0.0])
    return (
        f"{run['throughput_rps']:9,.0f} req/s  p50 {run['latency_ms']['p50']:7.2f} ms  "
        f"p99 {run['latency_ms']['p99']:7.2f} ms  SQL/req {'-' if sql is None else f'{sql:.2f}'}"
        f"  errors {errors}  RSS {rss:.0f} MB"
    )


def machine(binary: str | None, threads: int) -> dict[str, Any]:
    loadgen = (
        f"{wrk.version(binary)} ({threads} thread(s))"
        if binary
        else "Python asyncio (bench/pyload.py)"
    )
    try:
        revision = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        revision = ""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "load_generator": loadgen,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "revision": revision or "unknown",
    }


def write(results: dict[str, Any], folder: Path, *, draw: bool) -> tuple[Path, list[Path]]:
    """Write <stamp>.json, its plots and <stamp>.md into `folder`; the markdown path and plots."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = results["stamp"]
    (folder / f"{stamp}.json").write_text(json.dumps(results, indent=2, allow_nan=True) + "\n")
    pictures: list[Path] = []
    if draw and plots.available():
        pictures = plots.render(results, folder, stamp)
    elif draw:
        results["notes"].append("no plots: matplotlib is not installed (pip install -e '.[bench]')")
    markdown = folder / f"{stamp}.md"
    markdown.write_text(report.markdown(results, [p.name for p in pictures]))
    return markdown, pictures


def update_readme(
    results: dict[str, Any], pictures: list[Path], readme: Path = PROJECT_ROOT / "README.md"
) -> bool:
    """Put the targets and workloads tables between the README's bench markers."""
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    throughput = [p for p in pictures if p.name.endswith("-throughput.png")]
    block = [
        README_START,
        f"Latest run, {results['stamp']}: {report.setup_line(results)}",
        "",
        *report.targets_table(results),
        "",
        *report.workloads_table(results),
        "",
        *(f"![throughput](bench/results/{p.name})" for p in throughput),
    ]
    readme.write_text(text[:start] + "\n".join(block).rstrip() + "\n" + text[end:])
    return True

"""The scale-out benchmark's figures: one record per run of both gateways, and the JSON and
markdown written from them (bench/results/<stamp>-scaleout.{json,md})."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stats import LoadResult
from bench.workloads import Workload


def run_record(
    configuration: str, cache: str, workload: Workload, results: list[LoadResult]
) -> dict[str, Any]:
    """Both gateways' figures for one run, and their sums."""
    requests = sum(r.requests for r in results)
    samples = sum(r.query_count_samples for r in results)
    cached = sum(sum(r.cache.values()) for r in results)
    return {
        "configuration": configuration,
        "cache": cache,
        "workload": workload.name,
        "title": workload.title,
        "requests": requests,
        "throughput_rps": sum(r.throughput for r in results),
        "errors": sum(r.error_count for r in results),
        "sql_per_request": sum(r.query_count_sum for r in results) / samples if samples else None,
        "cache_hit_share": sum(r.cache.get("HIT", 0) for r in results) / cached if cached else None,
        "gateways": [
            {
                "requests": r.requests,
                "throughput_rps": r.throughput,
                "latency_ms": r.latency_ms,
                "errors": r.errors,
                "statuses": r.statuses,
                "cache_outcomes": r.cache,
            }
            for r in results
        ],
    }


def _per_second(run: dict[str, Any], server: str) -> float:
    seconds = float(
        max(g["requests"] / g["throughput_rps"] for g in run["gateways"] if g["requests"])
    )
    return float(run["transactions"][server]) / seconds


def standby_share(run: dict[str, Any]) -> float | None:
    served = run["transactions"]["primary"] + run["transactions"]["standby"]
    return run["transactions"]["standby"] / served if served else None


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _pair(run: dict[str, Any], key: str) -> str:
    return " / ".join(f"{g['latency_ms'][key]:.1f}" for g in run["gateways"])


def summary(run: dict[str, Any]) -> str:
    """One line for the console."""
    return (
        f"{run['workload']:>5} cache {run['cache']:<3} {run['throughput_rps']:8,.0f} req/s  "
        f"p50 {_pair(run, 'p50')} ms  p99 {_pair(run, 'p99')} ms  errors {run['errors']}  "
        f"transactions primary {run['transactions']['primary']:,} standby "
        f"{run['transactions']['standby']:,}  lag max {run['lag']['max_seconds']:.3f} s"
    )


def agreement(found: dict[str, Any]) -> str:
    """One line for the console: did both gateways answer alike, and as the primary holds?"""
    problems = len(found["differ"]) + len(found["failed"]) + len(found["stale"])
    verdict = "agree" if not problems else f"{problems} problem(s): {found}"
    return f"answers after {found['after']}: {found['calls']} calls to each gateway, {verdict}"


def markdown(results: dict[str, Any]) -> str:
    machine, data, options = results["machine"], results["dataset"], results["options"]
    lines = [
        f"# Scale-out benchmark {results['stamp']}",
        "",
        f"Commit `{machine.get('revision', '?')}`, {machine['cpus']} CPUs "
        f"({machine['platform']}), Python {machine['python']}, load: "
        f"{machine['load_generator']}, one per gateway, both at once. Data: `--scale "
        f"{data['scale']}` ({data['products']:,} products). Each run: {options['warmup']} s "
        f"warm-up, {options['duration']} s measured, {options['connections']} connections "
        "per gateway; two gateways (uvicorn, 1 worker each, production mode); "
        f"`DATABASE_READ_MAX_LAG_SECONDS={options['max_lag']}`.",
        "",
        *(
            [f"Settings given to every gateway: `{results['gateway_env']}`.", ""]
            if results.get("gateway_env")
            else []
        ),
        "Configurations (the same two gateways, started afresh with a cold cache for each):",
        "",
        *(f"- **{name}**: {text}" for name, text in results["configurations"].items()),
        "",
        "| configuration | workload | cache | req/s (both) | p50 ms (A / B) | p99 ms (A / B) "
        "| errors | SQL/req | cache hits | primary tx/s | standby tx/s | on standby "
        "| max lag | CPU busy |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        sql = run["sql_per_request"]
        lines.append(
            f"| {run['configuration']} | {run['workload']} | {run['cache']} "
            f"| {run['throughput_rps']:,.0f} | {_pair(run, 'p50')} | {_pair(run, 'p99')} "
            f"| {run['errors']} | {'-' if sql is None else f'{sql:.2f}'} "
            f"| {_percent(run['cache_hit_share'])} | {_per_second(run, 'primary'):,.0f} "
            f"| {_per_second(run, 'standby'):,.0f} | {_percent(standby_share(run))} "
            f"| {run['lag']['max_seconds']:.3f} s, {run['lag']['max_bytes'] / 1024:,.0f} KiB "
            f"| {_percent(run['machine_busy'])} |"
        )
    lines += [
        "",
        "What the gateways logged at warning level or above during each measured run:",
        "",
    ]
    for run in results["runs"]:
        logged = ", ".join(f"{m} x {n}" for m, n in run["gateway_warnings"].items()) or "nothing"
        lines.append(f"- {run['configuration']}, {run['workload']}, cache {run['cache']}: {logged}")
    lines += ["", "Scaled out against the single pair, same workload and cache setting:", ""]
    lines += ["| workload | cache | req/s ratio | p99 A ratio |", "|---|---|---:|---:|"]
    single = {
        (r["workload"], r["cache"]): r for r in results["runs"] if r["configuration"] == "single"
    }
    for run in results["runs"]:
        base = single.get((run["workload"], run["cache"]))
        if run["configuration"] == "single" or base is None or not base["throughput_rps"]:
            continue
        p99 = run["gateways"][0]["latency_ms"]["p99"] / base["gateways"][0]["latency_ms"]["p99"]
        ratio = run["throughput_rps"] / base["throughput_rps"]
        lines.append(f"| {run['workload']} | {run['cache']} | {ratio:.2f} | {p99:.2f} |")
    lines += [
        "",
        "Answers: after each workload, with the standby caught up (and, after the mix, "
        f"{options['settle']} s: the longest a cached answer filled from a lagging standby "
        "may live, `max(READ_AFTER_WRITE_SECONDS, DATABASE_READ_MAX_LAG_SECONDS + 1)`, + 1 s), "
        "both gateways were asked the same calls: REST and GraphQL details of products the "
        "mix writes and of others, the list, pages.",
        "",
        "| configuration | cache | after | calls | differ between gateways | not 200 "
        "| stock unlike the primary's |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for found in results["answers"]:
        lines.append(
            f"| {found['configuration']} | {found['cache']} | {found['after']} | {found['calls']} "
            f"| {len(found['differ'])} | {len(found['failed'])} | {len(found['stale'])} |"
        )
    lines += [
        "",
        "Transactions are pg_stat_database's xact_commit + xact_rollback in the benchmark's "
        "database over the measured run (a read outside a transaction is one; the gateways' "
        "replica lag check adds about one a second per gateway on the standby). Lag is "
        "pg_stat_replication's replay_lag and bytes not yet replayed, sampled twice a "
        "second on the primary. CPU busy is the whole machine's (/proc/stat).",
    ]
    if results["notes"]:
        lines += ["", "Notes:", "", *(f"- {note}" for note in results["notes"])]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path) -> Path:
    """Write <stamp>-scaleout.json and .md into `out`; the markdown's path."""
    base = out / f"{results['stamp']}-scaleout"
    base.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    path = base.with_suffix(".md")
    path.write_text(markdown(results))
    return path

"""`python -m bench`: seed, serve, load, measure, and write results/<date>.{json,md,png}.

The flow: a database and Redis of the benchmark's own (bench/servers.py), the `bench`
scale seeded with `gateway seed`, the data layer against raw asyncpg (bench/data_layer.py),
then the phases of bench/plan.py, each a uvicorn server driven by wrk (or bench/pyload.py
without wrk). Every figure is printed and written; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import data_layer, documents, probe, pyload, wrk
from bench.plan import Options, Phase, Step, plan, run_count, selected
from bench.progress import Progress
from bench.servers import Backends, Server, settings_variables
from bench.stats import LoadResult
from bench.workloads import Workload, candidates, rest_detail

RESULTS = Path(__file__).resolve().parent / "results"
RATE_LIMIT = "1000000"
"""The highest RATE_LIMIT_PER_MINUTE the settings accept: the limiter still runs (one Redis
round trip per request, as in production) but never refuses a benchmark request."""
DEFAULT_CACHE_SWITCH = "CACHE_ENABLED=false"


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parser() -> argparse.ArgumentParser:
    defaults = Options()
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=int, default=defaults.duration, help="seconds per run")
    p.add_argument("--warmup", type=int, default=defaults.warmup, help="seconds before each run")
    p.add_argument("--connections", type=int, default=defaults.connections)
    p.add_argument("--workers", type=int, default=defaults.workers, help="uvicorn workers")
    p.add_argument("--scaling-workers", type=_ints, default=defaults.scaling_workers)
    p.add_argument("--scaling-connections", type=_ints, default=defaults.scaling_connections)
    p.add_argument("--scaling-workloads", type=_names, default=defaults.scaling_workloads)
    p.add_argument(
        "--only", type=_names, default=(), help="workload names or globs, comma-separated"
    )
    p.add_argument("--no-cache-off", action="store_true", help="skip the cache-off phase")
    p.add_argument(
        "--cache-switch",
        default=DEFAULT_CACHE_SWITCH,
        help="NAME=VALUE that turns the gateway's cache off (default %(default)s)",
    )
    p.add_argument("--gateway-env", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument("--wrk-threads", type=int, default=1 if (os.cpu_count() or 1) <= 2 else 2)
    p.add_argument("--statements", type=int, default=5000, help="data-layer calls per path")
    p.add_argument("--no-data-layer", action="store_true")
    p.add_argument("--scale", default="bench", help="gateway seed --scale (default bench)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--no-plots", action="store_true")
    p.add_argument(
        "--profile",
        type=_names,
        default=(),
        metavar="WORKLOADS",
        help="record a py-spy flame graph of the workers during these workloads' main runs",
    )
    p.add_argument("--update-readme", action="store_true", help="paste the tables into README")
    p.add_argument("--render", type=Path, metavar="JSON", help="only redraw a results file")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tiny run proving the harness works: 2 s runs, 4 connections, 1 worker",
    )
    return p


def options_of(args: argparse.Namespace) -> Options:
    if args.smoke:
        return Options(
            duration=2,
            warmup=1,
            connections=4,
            workers=1,
            scaling_workers=(1,),
            scaling_connections=(4, 8),
            scaling_workloads=args.scaling_workloads,
            only=args.only,
            cache_off=not args.no_cache_off,
        )
    return Options(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        workers=args.workers,
        scaling_workers=args.scaling_workers,
        scaling_connections=args.scaling_connections,
        scaling_workloads=args.scaling_workloads,
        only=args.only,
        cache_off=not args.no_cache_off,
    )


class Bench:
    """One benchmark run: its options, load generator, backends and the results so far."""

    def __init__(self, args: argparse.Namespace, options: Options, stamp: str) -> None:
        self.args = args
        self.options = options
        self.wrk = None if args.loadgen == "python" else wrk.available()
        if args.loadgen == "wrk" and self.wrk is None:
            raise SystemExit("--loadgen wrk: no wrk on PATH (Debian: apt-get install wrk)")
        name, _, value = args.cache_switch.partition("=")
        self.switch = (name, value)
        self.secret = secrets.token_urlsafe(48)
        self.log = args.out / f"{stamp}.log"
        self.results: dict[str, Any] = {
            "schema": 1,
            "stamp": stamp,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": documents.machine(self.wrk, args.wrk_threads),
            "options": asdict(options),
            "cache_switch": {"name": name, "off_value": value},
            "gateway_env": {"GATEWAY_ENV": "production", "RATE_LIMIT_PER_MINUTE": RATE_LIMIT},
            "runs": [],
            "notes": [],
            "data_layer": None,
        }

    def run(self) -> None:
        available = self.switch[0] in settings_variables()
        self.results["cache_switch"]["available"] = available
        if not available and self.options.cache_off:
            self.results["notes"].append(
                f"cache-off runs skipped: gateway/settings.py reads no {self.switch[0]} "
                "(give the real switch with --cache-switch NAME=VALUE)"
            )
        phases = plan(self.options, cache_switch=available)
        per_run = self.options.duration + self.options.warmup
        progress = Progress(run_count(phases), per_run)
        progress.note(
            f"{run_count(phases)} runs of {self.options.duration} s (+{self.options.warmup} s "
            f"warm-up) in {len(phases)} server starts; "
            f"load: {self.results['machine']['load_generator']}"
        )
        with Backends(self.log) as backends:
            self.results["backends"] = dict(backends.described)
            progress.note(f"seeding --scale {self.args.scale} ...")
            seconds = backends.seed(self.args.scale)
            catalogue = backends.catalogue(self.secret)
            self.results["dataset"] = {
                "scale": self.args.scale,
                "seed_seconds": seconds,
                "products": len(catalogue.product_ids),
                "page_products": len(catalogue.page_ids),
            }
            if not self.args.no_data_layer:
                calls = min(self.args.statements, 300) if self.args.smoke else self.args.statements
                progress.note(f"data layer vs raw asyncpg, {calls} calls each:")
                self.results["data_layer"] = data_layer.run(
                    data_layer.measure(backends.database_url, calls)
                )
            options = candidates(catalogue)
            chosen: dict[str, Workload] = {}
            for index, phase in enumerate(phases):
                env = self._env(backends, phase, index)
                progress.note(f"-- {phase.label}")
                with self._server(phase, env) as server:
                    if not chosen:
                        chosen.update(self._choose(server, options, catalogue.hot_id))
                    for step in phase.steps:
                        workload = chosen.get(step.workload)
                        if workload is not None:
                            self._measure(server, phase, step, workload, progress)
        self.results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        self._notice_missing_cache()

    def _env(self, backends: Backends, phase: Phase, index: int) -> dict[str, str]:
        if phase.server == "floor":
            starlette = any(step.workload == "floor.starlette" for step in phase.steps)
            return {
                "FLOOR_BODY_BYTES": str(self.results.get("floor_body_bytes", 512)),
                "FLOOR_FRAMEWORK": "starlette" if starlette else "asgi",
            }
        env = {
            "DATABASE_URL": backends.database_url,
            "REDIS_URL": backends.redis_url,
            "JWT_SECRET": self.secret,
            # A prefix per server start: every phase begins with a cold cache.
            "CACHE_PREFIX": f"{backends.prefix}-{index}",
            **self.results["gateway_env"],
        }
        for item in self.args.gateway_env:
            name, _, value = item.partition("=")
            env[name] = value
            self.results["gateway_env"][name] = value
        if phase.cache == "off":
            env[self.switch[0]] = self.switch[1]
        return env

    def _server(self, phase: Phase, env: dict[str, str]) -> Server:
        if phase.server == "floor":
            app, ready = "bench.floor:app_from_env", "/"
        else:
            app, ready = "gateway.app:app_from_env", "/readyz"
        return Server(app, env, workers=phase.workers, log=self.log, ready=ready)

    def _choose(
        self, server: Server, options: dict[str, list[Workload]], hot_id: int
    ) -> dict[str, Workload]:
        names = selected(self.options)
        chosen, info = probe.choose(server.url, options, names)
        self.results["workloads"] = {
            name: {**info[name], "pair": options[name][0].pair} for name in names
        }
        self.results["floor_body_bytes"] = probe.body_size(server.url, rest_detail(hot_id))
        return chosen

    def _measure(
        self, server: Server, phase: Phase, step: Step, workload: Workload, progress: Progress
    ) -> None:
        label = f"{workload.name} · {phase.cache or 'n/a'} · {phase.workers}w · {step.connections}c"
        if workload.setup:
            with httpx.Client(base_url=server.url, timeout=15) as client:
                for call in workload.setup:
                    probe.send(client, call)
        reset = server.reset_peaks()
        progress.start(label, self.options.warmup + self.options.duration)
        if self.options.warmup:
            self._load(server, workload, step.connections, progress, measured=False)
        before = {u.pid: u.cpu_seconds for u in server.usage()}
        profilers = self._profile(server, phase, step, workload)
        result = self._load(server, workload, step.connections, progress, measured=True)
        for profiler in profilers:
            profiler.wait()
        after = server.usage()
        cpu = sum(u.cpu_seconds - before[u.pid] for u in after if u.pid in before)
        run = documents.run_record(result, workload, phase, step)
        run["rss_peak_mb"] = [round(u.peak_rss_mb, 1) for u in after]
        run["rss_reset_per_run"] = reset
        run["cpu_ms_per_request"] = cpu / result.requests * 1000 if result.requests else None
        self.results["runs"].append(run)
        progress.done(documents.summary(run))

    def _profile(
        self, server: Server, phase: Phase, step: Step, workload: Workload
    ) -> list[subprocess.Popen[bytes]]:
        """py-spy recording each worker for the measured run, when asked for this workload."""
        wanted = workload.name in self.args.profile and step.group == "main"
        if not wanted or phase.cache == "off":
            return []
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            self.results["notes"].append("no profile: py-spy is not installed (.[bench] extra)")
            return []
        started = []
        for pid in server.worker_pids():
            name = f"{self.results['stamp']}-profile-{workload.name}-{pid}.svg"
            command = [spy, "record", "--pid", str(pid), "--duration", str(self.options.duration)]
            command += ["--rate", "200", "--nonblocking", "--output", str(self.args.out / name)]
            with self.log.open("a") as sink:
                started.append(subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT))
            self.results.setdefault("profiles", []).append(name)
        return started

    def _load(
        self,
        server: Server,
        workload: Workload,
        connections: int,
        progress: Progress,
        *,
        measured: bool,
    ) -> LoadResult:
        """One load run: the warm-up (`measured` False) or the measured run after it."""
        seconds = self.options.duration if measured else self.options.warmup
        already = self.options.warmup if measured else 0

        def tick(elapsed: float) -> None:
            progress.tick(already + elapsed)

        # The warm-up replays the second half of the calls, the measured run starts at the
        # first: ids spread over the catalogue are then cold when the measured run meets them.
        start = 0 if measured else len(workload.calls) // 2
        if self.wrk is None:
            return pyload.run(
                "127.0.0.1",
                server.port,
                workload.calls,
                connections=connections,
                seconds=seconds,
                offset=start,
                tick=tick,
            )
        script = self.log.parent / f".{workload.name}-{server.port}.lua"
        if not script.exists():
            script.write_text(wrk.script(workload.calls, f"127.0.0.1:{server.port}"))
        try:
            return wrk.run(
                self.wrk,
                server.url,
                script,
                connections=connections,
                seconds=seconds,
                threads=self.args.wrk_threads,
                offset=start,
                tick=tick,
            )
        finally:
            if measured:  # its last use
                script.unlink(missing_ok=True)

    def _notice_missing_cache(self) -> None:
        cached = [
            r for r in self.results["runs"] if r["server"] == "gateway" and r["cache"] == "on"
        ]
        if cached and not any(r["cache_outcomes"] for r in cached):
            self.results["notes"].append(
                "no response carried X-Cache: the read-through cache is not in place in this "
                "build, so cache on and cache off run the same code"
            )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.render:
        results = json.loads(args.render.read_text())
        markdown, _ = documents.write(results, args.render.parent, draw=not args.no_plots)
        print(markdown.read_text())
        return 0
    stamp = datetime.now().strftime("%Y-%m-%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, options_of(args), stamp)
    try:
        bench.run()
    except KeyboardInterrupt:
        bench.results["notes"].append("interrupted: the runs above are all that finished")
    except Exception as exc:
        bench.results["notes"].append(f"stopped by an error: {exc}")
        print(f"bench: {exc}\n(server and seed output: {bench.log})", file=sys.stderr)
        if not bench.results["runs"]:
            return 1
    if "workloads" not in bench.results:
        return 1
    markdown, pictures = documents.write(bench.results, args.out, draw=not args.no_plots)
    print(markdown.read_text())
    print(f"results: {markdown.with_suffix('.json')}, {markdown}, {len(pictures)} plots")
    if args.update_readme:
        updated = documents.update_readme(bench.results, pictures)
        print("README updated" if updated else "README has no bench markers; not updated")
    return 0

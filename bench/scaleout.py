"""`python -m bench.scaleout`: two gateways on a primary with a hot standby and a Redis
Cluster, and the same two gateways on one PostgreSQL and one Redis, measured in one run.

The servers (bench/topology.py, on free loopback ports): a PostgreSQL 16 primary with a
hot standby made by pg_basebackup -R, a Redis Cluster of three masters with a replica
each, and one plain redis-server; the `bench` scale is seeded into the primary. Each
configuration starts two gateways (uvicorn as the image runs it, one worker each,
production mode) and loads both at once: a read workload (REST detail and list, GraphQL
page) with the cache on and off, and the 90/10 read/write mix. Per run: requests/s of both
together, p50/p99 of each, errors, transactions committed on each PostgreSQL
(pg_stat_database), the standby's replay lag as the primary sees it, and whether the two
gateways' answers agree with each other and with the primary's rows. Written to
bench/results/<stamp>-scaleout.{json,md}; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import answers, documents, pyload, scaleout_report, wrk
from bench.answers import LIST
from bench.scaleout_servers import Pair, Topology, busy_share, machine_ticks, watch_lag
from bench.servers import Server, read_catalogue, seed_database
from bench.stats import LoadResult
from bench.workloads import (
    PAGE_DOCUMENT,
    Call,
    Catalogue,
    Workload,
    candidates,
    graphql_post,
    rest_detail,
)

RESULTS = Path(__file__).resolve().parent / "results"
CONFIGURATIONS = {
    "replica+cluster": "primary + hot standby (DATABASE_READ_URL), Redis Cluster (3 masters)",
    "single": "one PostgreSQL (the same primary), one Redis",
}
STATS_DELAY = 11.0
"""PostgreSQL (15) publishes a backend's counts when it goes idle, but at most once a
second: a backend that published less than a second ago waits for its idle timer, up to
10 s (PGSTAT_IDLE_INTERVAL), so transaction counts read sooner can miss a busy pool's."""


@dataclass(frozen=True, kw_only=True)
class Options:
    """How long, how hard and on what data; every field is a command-line flag."""

    duration: int = 30
    warmup: int = 5
    connections: int = 32
    """Per gateway: both are loaded at once."""
    scale: str = "bench"
    cache_off: bool = True
    max_lag: int = 10
    """DATABASE_READ_MAX_LAG_SECONDS, as the compose file and the Kubernetes example set it."""
    read_after_write: int = 5
    """READ_AFTER_WRITE_SECONDS (the gateway's default)."""
    stats_delay: float = STATS_DELAY
    """Seconds between the end of a load and reading the transaction counts."""

    @property
    def settle(self) -> int:
        """Seconds after the last write until no cached answer can be older than it: answers
        a lagging standby put in the cache are retired READ_AFTER_WRITE_SECONDS after the
        write, but at least DATABASE_READ_MAX_LAG_SECONDS + 1 s."""
        return max(self.read_after_write, self.max_lag + 1) + 1


SMOKE = Options(
    duration=1,
    warmup=0,
    connections=2,
    scale="small",
    cache_off=False,
    max_lag=1,
    read_after_write=1,
    stats_delay=1.2,  # counts may miss what busy backends have not published yet
)


def read_workload(catalogue: Catalogue) -> Workload:
    """REST detail (ids spread over the catalogue), REST list and GraphQL page, in turn."""
    ids = list(catalogue.product_ids)
    spread = [ids[(i * 7919) % len(ids)] for i in range(len(ids))]
    pages = catalogue.page_ids
    calls: list[Call] = []
    for i, product_id in enumerate(spread):
        page = graphql_post(PAGE_DOCUMENT, "graphql.page", {"id": str(pages[i % len(pages)])})
        calls += [rest_detail(product_id), LIST, page]
    return Workload("read", "REST detail + REST list + GraphQL page", "mix", tuple(calls))


class Bench:
    """One run: its options, load generator, the servers and the results so far."""

    def __init__(
        self, options: Options, out: Path, loadgen: str, gateway_env: dict[str, str]
    ) -> None:
        self.options = options
        self.out = out
        self.stamp = datetime.now().strftime("%Y-%m-%d-%H%M%S")
        self.log = out / f"{self.stamp}-scaleout.log"
        self.wrk = None if loadgen == "python" else wrk.available()
        self.secret = secrets.token_urlsafe(48)
        self.began = time.monotonic()
        self.results: dict[str, Any] = {
            "schema": 1,
            "stamp": self.stamp,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": documents.machine(self.wrk, 1),
            "options": {**asdict(options), "settle": options.settle},
            "configurations": CONFIGURATIONS,
            "gateway_env": gateway_env,
            "runs": [],
            "answers": [],
            "notes": [],
        }

    def run(self, folder: Path) -> None:
        self._note("starting the servers")
        with Topology(folder, self.options.max_lag) as topology:
            self._note("seeding")
            began = time.monotonic()
            seconds = seed_database(
                topology.primary_url, topology.redis_url, self.options.scale, folder, self.log
            )
            topology.vacuum()
            topology.caught_up()
            catalogue = read_catalogue(topology.primary_url, self.secret)
            self.results["dataset"] = {
                "scale": self.options.scale,
                "products": len(catalogue.product_ids),
                "seed_seconds": round(seconds, 1),
                "seed_and_replay_seconds": round(time.monotonic() - began, 1),
            }
            read = read_workload(catalogue)
            mix = candidates(catalogue)["mix"][0]
            samples = answers.sample_calls(catalogue, mix)
            for cache in ("on", "off") if self.options.cache_off else ("on",):
                for index, configuration in enumerate(CONFIGURATIONS):
                    env = {**topology.env(configuration), **self._common(cache, index)}
                    self._note(f"-- {configuration}, cache {cache}: starting two gateways")
                    with Pair(env, self.log) as pair:
                        self._measure(topology, pair, configuration, cache, read)
                        self._agree(topology, pair, configuration, cache, "read", samples)
                        if cache == "on":
                            self._measure(topology, pair, configuration, cache, mix)
                            time.sleep(self.options.settle)
                            self._agree(topology, pair, configuration, cache, "mix", samples)
        self.results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")

    def _common(self, cache: str, index: int) -> dict[str, str]:
        env = {
            "JWT_SECRET": self.secret,
            "GATEWAY_ENV": "production",
            "RATE_LIMIT_PER_MINUTE": "1000000",
            "READ_AFTER_WRITE_SECONDS": str(self.options.read_after_write),
            # Both gateways of a pair share it; each pair starts with a cold cache.
            "CACHE_PREFIX": f"gwscale-{secrets.token_hex(3)}-{cache}{index}",
        }
        env.update(self.results["gateway_env"])
        if cache == "off":
            env["CACHE_ENABLED"] = "false"
        return env

    def _note(self, text: str) -> None:
        print(f"[{time.monotonic() - self.began:5.0f} s] {text}", flush=True)

    def _measure(
        self, topology: Topology, pair: Pair, configuration: str, cache: str, workload: Workload
    ) -> None:
        topology.caught_up()
        if self.options.warmup:
            self._load(pair, workload, self.options.warmup, len(workload.calls) // 2)
            time.sleep(self.options.stats_delay)  # the warm-up's counts published first
        before, cpu, busy = topology.transactions(), pair.cpu(), machine_ticks()
        logged = self.log.stat().st_size
        lag: list[tuple[float, float]] = []
        results = asyncio.run(self._load_watching(pair, workload, topology, lag))
        after_busy, after_cpu = machine_ticks(), pair.cpu()
        warnings = _warnings(self.log, logged)
        time.sleep(self.options.stats_delay)
        after = topology.transactions()
        run = scaleout_report.run_record(configuration, cache, workload, results)
        run["transactions"] = {server: after[server] - before[server] for server in before}
        run["lag"] = {
            "samples": len(lag),
            "max_seconds": max((s for s, _ in lag), default=0.0),
            "max_bytes": max((b for _, b in lag), default=0.0),
        }
        run["cpu_ms_per_request"] = [
            (a - b) * 1000 / r.requests if r.requests else None
            for a, b, r in zip(after_cpu, cpu, results, strict=True)
        ]
        run["machine_busy"] = busy_share(busy, after_busy)
        run["gateway_warnings"] = warnings
        self.results["runs"].append(run)
        self._note(scaleout_report.summary(run))

    async def _load_watching(
        self, pair: Pair, workload: Workload, topology: Topology, lag: list[tuple[float, float]]
    ) -> list[LoadResult]:
        watcher = asyncio.create_task(watch_lag(topology.primary_admin, lag))
        try:
            return await asyncio.to_thread(self._load, pair, workload, self.options.duration, 0)
        finally:
            watcher.cancel()

    def _load(self, pair: Pair, workload: Workload, seconds: int, offset: int) -> list[LoadResult]:
        """Both gateways loaded at once, each from its own place in the calls."""
        half = len(workload.calls) // 2
        with ThreadPoolExecutor(len(pair.servers)) as pool:
            futures = [
                pool.submit(self._load_one, server, workload, seconds, offset + n * half)
                for n, server in enumerate(pair.servers)
            ]
            return [future.result() for future in futures]

    def _load_one(
        self, server: Server, workload: Workload, seconds: int, offset: int
    ) -> LoadResult:
        connections = self.options.connections
        if self.wrk is None:
            return pyload.run(
                "127.0.0.1", server.port, workload.calls, connections=connections,
                seconds=seconds, offset=offset,
            )  # fmt: skip
        script = self.out / f".scaleout-{workload.name}-{server.port}.lua"
        if not script.exists():
            script.write_text(wrk.script(workload.calls, f"127.0.0.1:{server.port}"))
        return wrk.run(
            self.wrk, server.url, script, connections=connections, seconds=seconds,
            threads=1, offset=offset,
        )  # fmt: skip

    def _agree(
        self,
        topology: Topology,
        pair: Pair,
        configuration: str,
        cache: str,
        after: str,
        calls: list[Call],
    ) -> None:
        topology.caught_up()
        found = answers.compare([s.url for s in pair.servers], calls, topology.primary_url)
        found.update(configuration=configuration, cache=cache, after=after)
        self.results["answers"].append(found)
        self._note(scaleout_report.agreement(found))

    def cleanup(self) -> None:
        for script in self.out.glob(".scaleout-*.lua"):
            script.unlink(missing_ok=True)


def _warnings(log: Path, offset: int) -> dict[str, int]:
    """What the gateways logged at warning level or above since `offset`, by message."""
    found: Counter[str] = Counter()
    with log.open("rb") as text:
        text.seek(offset)
        for line in text:
            if b'"level":"warning"' not in line and b'"level":"error"' not in line:
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            found[f"{entry.get('level')}: {entry.get('message')}"] += 1
    return dict(found.most_common())


def parser() -> argparse.ArgumentParser:
    defaults = Options()
    p = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=int, default=defaults.duration, help="seconds per run")
    p.add_argument("--warmup", type=int, default=defaults.warmup, help="seconds before each run")
    p.add_argument("--connections", type=int, default=defaults.connections, help="per gateway")
    p.add_argument("--scale", default=defaults.scale, help="gateway seed --scale (default bench)")
    p.add_argument(
        "--max-lag", type=int, default=defaults.max_lag, help="DATABASE_READ_MAX_LAG_SECONDS"
    )
    p.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every gateway of both configurations",
    )
    p.add_argument("--no-cache-off", action="store_true", help="skip the cache-off runs")
    p.add_argument("--loadgen", choices=("auto", "python"), default="auto")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--smoke", action="store_true", help="a tiny run proving the harness works")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = (
        SMOKE
        if args.smoke
        else Options(
            duration=args.duration,
            warmup=args.warmup,
            connections=args.connections,
            scale=args.scale,
            cache_off=not args.no_cache_off,
            max_lag=args.max_lag,
        )
    )
    args.out.mkdir(parents=True, exist_ok=True)
    settings = dict(item.partition("=")[::2] for item in args.gateway_env)
    bench = Bench(options, args.out, args.loadgen, settings)
    folder = Path(tempfile.mkdtemp(prefix="gateway-bench-scaleout-"))
    folder.chmod(0o755)  # as root the embedded PostgreSQL runs as uid 65534
    failed = False
    try:
        bench.run(folder)
    except Exception as exc:
        failed = True
        bench.results["notes"].append(f"stopped by an error: {exc}")
        print(f"bench.scaleout: {exc}\n(server output: {bench.log})", file=sys.stderr)
    finally:
        bench.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    if not bench.results["runs"]:
        return 1
    markdown = scaleout_report.write(bench.results, args.out)
    print(markdown.read_text())
    print(f"results: {markdown.with_suffix('.json')}, {markdown}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

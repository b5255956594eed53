"""`gateway compare`: run scenarios from the command line and print the figures.

Without `--url` it measures the gateway already answering on GATEWAY_HOST:GATEWAY_PORT
(as `make run` starts it), or else starts one in this process on a free loopback port,
on the same servers `gateway serve` would use (the embedded default with demo data when
DATABASE_URL is unset), with rate limits lifted for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gateway.compare.network import PROFILES
from gateway.compare.scenarios import CACHE_MODES
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.compare.options import RunOptions
    from gateway.compare.scenarios import Scenario

log = logging.getLogger("gateway.compare")
FORMATS = ("table", "markdown", "json", "csv")


def register(commands: Any) -> None:
    """Add the `compare` subcommand to the CLI's subparsers."""
    compare = commands.add_parser(
        "compare",
        help="measure scenarios done the REST way and the GraphQL way",
        description="Run each scenario's variants (REST naive, REST tuned, GraphQL) over "
        "HTTP and print medians of what they cost, on each network profile asked for.",
    )
    compare.add_argument(
        "--url",
        help="gateway to measure (default: the one on GATEWAY_HOST:GATEWAY_PORT if it "
        "answers, else one started in this process)",
    )
    compare.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="a scenario to run (repeatable; default all; `--scenario list` names them)",
    )
    compare.add_argument(
        "--network",
        action="append",
        metavar="NAME",
        help=f"a network profile to measure on (repeatable, or comma-separated: "
        f"{', '.join(PROFILES)}, all; default loopback)",
    )
    compare.add_argument(
        "--cache",
        choices=CACHE_MODES,
        default="cold",
        help="cold: the gateway's caches are bypassed, every read runs its SQL; warm: each "
        "pass runs once unmeasured first (default cold)",
    )
    compare.add_argument(
        "--graphql",
        metavar="FILE",
        help="your own scenario: a file with one GraphQL query (`-` reads standard input)",
    )
    compare.add_argument(
        "--rest",
        action="append",
        nargs="+",
        metavar="PATH",
        help="with --graphql: the REST requests for the same data; the paths of one --rest "
        "go out together, each further --rest waits for the answers before it",
    )
    compare.add_argument(
        "--variables", metavar="JSON", help="with --graphql: the query's variables, a JSON object"
    )
    compare.add_argument(
        "--repeat", type=int, default=5, help="runs per variant; medians are reported (5)"
    )
    compare.add_argument("--format", choices=FORMATS, default="table", help="output (table)")
    compare.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """The subcommand: exit 0 with the report on stdout, 1 if a run failed, 2 on bad input."""
    from gateway.compare.catalogue import SCENARIOS

    names: list[str] = args.scenario or list(SCENARIOS)
    if "list" in names:
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:18} {scenario.title}")
        return 0
    try:
        plan = _plan(args, names)
    except ValueError as exc:
        print(f"gateway compare: {exc}", file=sys.stderr)
        return 2
    if args.url:
        return asyncio.run(measure(args.url, plan, args.format))
    running = f"http://{settings.host}:{settings.port}"
    if _answers(running):
        log.info("measuring the gateway already running on %s", running)
        return asyncio.run(measure(running, plan, args.format))
    return _measure_own_gateway(settings, plan, args.format)


def _plan(args: argparse.Namespace, names: list[str]) -> list[tuple[Scenario, RunOptions]]:
    """The scenarios to run with their options; ValueError says what is wrong."""
    import orjson

    from gateway.compare import custom, options
    from gateway.compare.catalogue import SCENARIOS
    from gateway.compare.options import RunOptions

    if args.repeat < 1:
        raise ValueError("--repeat must be 1 or more")
    networks = options.networks(args.network or ["loopback"])
    if args.graphql is None:
        if args.rest or args.variables:
            raise ValueError("--rest and --variables go with --graphql (your own scenario)")
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            raise ValueError(f"unknown scenario {unknown[0]!r} (scenarios: {', '.join(SCENARIOS)})")
        return [(SCENARIOS[n], RunOptions(n, networks, args.cache, args.repeat)) for n in names]
    if args.scenario:
        raise ValueError("--graphql runs your own scenario: leave out --scenario")
    if not args.rest:
        raise ValueError("--graphql needs --rest: the REST requests for the same data")
    try:
        document = sys.stdin.read() if args.graphql == "-" else Path(args.graphql).read_text()
    except OSError as exc:
        raise ValueError(f"--graphql: cannot read {args.graphql}: {exc.strerror}") from None
    try:
        variables = orjson.loads(args.variables) if args.variables else {}
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"--variables is not JSON: {exc}") from None
    if not isinstance(variables, dict):
        raise ValueError("--variables must be a JSON object")
    try:
        steps = custom.rest_steps("\n\n".join("\n".join(step) for step in args.rest))
        given = custom.Custom(document, steps, variables)
        scenario = custom.build(given)
    except custom.CustomError as exc:
        raise ValueError(
            "; ".join(f"--{field}: {message}" for field, message in exc.problems)
        ) from None
    return [(scenario, RunOptions(custom.NAME, networks, args.cache, args.repeat, given))]


async def measure(url: str, plan: Sequence[tuple[Scenario, RunOptions]], output: str) -> int:
    """Run the planned scenarios against `url` and print them in `output` format."""
    import httpx
    import orjson

    from gateway.compare import report
    from gateway.compare.results import ScenarioResult
    from gateway.compare.runner import CompareError, Runner

    # httpx logs every request at INFO; the progress bar says enough.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    total = sum(len(o.networks) * o.repeat * len(s.variants) for s, o in plan)
    progress = Progress(total, sys.stderr)
    results: list[ScenarioResult] = []
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=60) as http:
        runner = Runner(http)
        try:
            for scenario, chosen in plan:
                fixture = await runner.prepare(scenario)
                for network in chosen.profiles:
                    results.append(
                        await runner.measure(
                            scenario,
                            fixture,
                            chosen.repeat,
                            progress.step,
                            network=network,
                            cache=chosen.cache,
                        )
                    )
        except (CompareError, httpx.HTTPError) as exc:
            progress.close()
            where = f"{url}: " if isinstance(exc, httpx.TransportError) else ""
            print(f"gateway compare: {where}{exc or type(exc).__name__}", file=sys.stderr)
            return 1
    progress.close()
    if output == "json":
        document = report.run_document(results, [o for _, o in plan])
        document.pop("csv")
        print(orjson.dumps({"target": url, **document}, option=orjson.OPT_INDENT_2).decode())
    elif output == "csv":
        print(report.csv(results), end="")
    elif output == "markdown":
        print(report.markdown(results), end="")
    else:
        print(report.table(results), end="")
    return 0


class Progress:
    """A progress bar on a terminal; on anything else, one line per finished scenario."""

    def __init__(self, total: int, stream: TextIO, width: int = 28) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.done = 0
        self.tty = stream.isatty()
        self._scenario = ""

    def step(self, label: str) -> None:
        self.done += 1
        scenario = label.split(" · ")[0]
        if self.tty:
            filled = round(self.width * self.done / self.total)
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(f"\r{bar} {self.done}/{self.total} {label:<40.40}")
        elif scenario != self._scenario and self._scenario:
            self.stream.write(f"compare: {self._scenario} done\n")
        self._scenario = scenario
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r" + " " * (self.width + 50) + "\r")
        elif self._scenario:
            self.stream.write(f"compare: {self._scenario} done\n")
        self._scenario = ""
        self.stream.flush()


def _answers(url: str) -> bool:
    """Whether a gateway (one that reports X-Query-Count) answers /livez at `url`."""
    import httpx

    try:
        answer = httpx.get(url + "/livez", timeout=1)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and "x-query-count" in answer.headers


def _measure_own_gateway(
    settings: Settings, plan: Sequence[tuple[Scenario, RunOptions]], output: str
) -> int:
    from gateway.cli.backends import Servers

    with Servers(settings) as servers:
        asyncio.run(servers.prepare(seed_demo=True))
        # A run makes hundreds of requests from one address in seconds: lift the limits.
        live = replace(
            servers.settings, rate_limit_per_minute=1_000_000, login_failures_per_address=10_000
        )
        with _serving(live) as url:
            log.info("measuring a gateway started in this process on %s", url)
            return asyncio.run(measure(url, plan, output))


@contextlib.contextmanager
def _serving(settings: Settings) -> Iterator[str]:
    """The app on a free loopback port, served by uvicorn in a thread of this process."""
    import uvicorn

    from gateway.app import create_app

    for name in ("gateway.access", "uvicorn.error"):
        # A line per request would bury the progress bar and the table.
        logging.getLogger(name).setLevel(logging.WARNING)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_config=None, access_log=False, lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="compare-gateway", daemon=True
    )
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the gateway did not start; see the log above")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=35)
        listener.close()

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
from typing import Any, TextIO

from gateway.settings import Settings

log = logging.getLogger("gateway.compare")
FORMATS = ("table", "markdown", "json")


def register(commands: Any) -> None:
    """Add the `compare` subcommand to the CLI's subparsers."""
    compare = commands.add_parser(
        "compare",
        help="measure scenarios done the REST way and the GraphQL way",
        description="Run each scenario's variants (REST naive, REST tuned, GraphQL) over "
        "HTTP and print medians of what they cost.",
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
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or args.repeat < 1:
        problem = f"unknown scenario {unknown[0]!r}" if unknown else "--repeat must be 1 or more"
        print(f"gateway compare: {problem} (scenarios: {', '.join(SCENARIOS)})", file=sys.stderr)
        return 2
    if args.url:
        return asyncio.run(measure(args.url, names, args.repeat, args.format))
    running = f"http://{settings.host}:{settings.port}"
    if _answers(running):
        log.info("measuring the gateway already running on %s", running)
        return asyncio.run(measure(running, names, args.repeat, args.format))
    return _measure_own_gateway(settings, names, args.repeat, args.format)


async def measure(url: str, names: Sequence[str], repeat: int, output: str) -> int:
    """Run the named scenarios against `url` and print them in `output` format."""
    import httpx

    from gateway.compare import report
    from gateway.compare.catalogue import SCENARIOS
    from gateway.compare.runner import CompareError, Runner, ScenarioResult

    # httpx logs every request at INFO; the progress bar says enough.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    progress = Progress(len(names) * repeat * 3, sys.stderr)
    results: list[ScenarioResult] = []
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=30) as http:
        runner = Runner(http)
        try:
            for name in names:
                results.append(await runner.run(SCENARIOS[name], repeat, progress.step))
        except (CompareError, httpx.HTTPError) as exc:
            progress.close()
            where = f"{url}: " if isinstance(exc, httpx.TransportError) else ""
            print(f"gateway compare: {where}{exc or type(exc).__name__}", file=sys.stderr)
            return 1
    progress.close()
    if output == "json":
        import orjson

        document = {
            "target": url,
            "repeat": repeat,
            "scenarios": [report.scenario_dict(r) for r in results],
        }
        print(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
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


def _measure_own_gateway(settings: Settings, names: Sequence[str], repeat: int, output: str) -> int:
    from gateway.servers import Servers

    with Servers(settings) as servers:
        asyncio.run(servers.prepare(seed_demo=True))
        # A run makes hundreds of requests from one address in seconds: lift the limits.
        live = replace(
            servers.settings, rate_limit_per_minute=1_000_000, login_failures_per_address=10_000
        )
        with _serving(live) as url:
            log.info("measuring a gateway started in this process on %s", url)
            return asyncio.run(measure(url, names, repeat, output))


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

"""Prometheus metrics: one registry per app, exposed at /metrics.

The registry belongs to the app (not the process-global default), so two apps in one
process, as in the tests, count separately.

/metrics can be kept from the public: with METRICS_TOKEN it answers only requests that
send `Authorization: Bearer <that token>`, and with METRICS_PORT it is served on that port
(of GATEWAY_HOST) by a small server the app's lifespan runs beside the main one, and not
on the main port at all, so the reverse proxy never exposes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import Unauthenticated
from gateway.http.responses import problem_response

if TYPE_CHECKING:
    from gateway.settings import Settings

log = logging.getLogger("gateway.metrics")

# Operation names come from clients: past this many distinct names, new ones are counted
# as "other", so a client cannot blow up the number of time series.
MAX_OPERATION_NAMES = 200
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """The gateway's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._operations: set[str] = set()
        self.http_latency = Histogram(
            "gateway_http_request_duration_seconds",
            "Time to serve a request, by route template, method and status.",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.graphql_latency = Histogram(
            "gateway_graphql_operation_duration_seconds",
            "Time to serve a GraphQL request, by operation name.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.sql_statements = Counter(
            "gateway_sql_statements_total",
            "SQL statements run while serving requests, by route template.",
            ["route"],
            registry=self.registry,
        )
        self.graphql_queries = Counter(
            "gateway_graphql_queries_total",
            "GraphQL queries by how they were answered: planned (one SQL statement the read "
            "model compiled) or resolvers (the executor, for what the model does not cover).",
            ["path"],
            registry=self.registry,
        )
        self.read_plans = Gauge(
            "gateway_read_plans",
            "The read planner's plans: kept (one per read shape, bounded) and compiled.",
            ["state"],
            registry=self.registry,
        )
        self.cache_outcomes = Counter(
            "gateway_cache_operations_total",
            "Cache look-ups while serving requests: hit, miss or bypass (Redis unavailable).",
            ["outcome"],
            registry=self.registry,
        )
        self.pool_connections = Gauge(
            "gateway_db_pool_connections",
            "Database connections of this process: in_use or max.",
            ["state"],
            registry=self.registry,
        )
        self.rate_limit_rejections = Counter(
            "gateway_rate_limit_rejections_total",
            "Requests refused with 429, by allowance.",
            ["bucket"],
            registry=self.registry,
        )
        self.rate_limit_degraded = Counter(
            "gateway_rate_limit_degraded_total",
            "Charges made while Redis was unreachable: fail_open (reads, not limited) or "
            "per_process (sign-ins and writes, counted in this process only).",
            ["mode"],
            registry=self.registry,
        )

    def operation(self, name: str | None) -> str:
        """The label for a GraphQL operation name, with the cardinality cap applied."""
        if not name:
            return "anonymous"
        if name in self._operations or len(self._operations) < MAX_OPERATION_NAMES:
            self._operations.add(name)
            return name
        return "other"

    def observe_plans(self, kept: Callable[[], int], compiled: Callable[[], int]) -> None:
        """Report the read planner's plans at every scrape: kept, and compiled since start."""
        self.read_plans.labels("kept").set_function(lambda: float(kept()))
        self.read_plans.labels("compiled").set_function(lambda: float(compiled()))

    def observe_pool(self, in_use: Callable[[], int], maximum: int) -> None:
        """Report the pool's connections at every scrape."""
        self.pool_connections.labels("in_use").set_function(lambda: float(in_use()))
        self.pool_connections.labels("max").set(maximum)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def endpoint(
    metrics: Metrics, token: str | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving `metrics` in the Prometheus text format; with `token`,
    only to requests that present it as a bearer token (401 otherwise)."""
    expected = f"Bearer {token}".encode() if token else None

    async def serve(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(given, expected):
                return problem_response(
                    Unauthenticated("/metrics needs the METRICS_TOKEN as a bearer token.")
                )
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return serve


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the main server (whose lifespan stops it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class MetricsServer:
    """/metrics on METRICS_PORT, run by the app's lifespan beside the main server.

    The socket allows port reuse, so each uvicorn worker serves its own metrics on the
    shared port (as each does on the main port): run one worker per container.
    """

    def __init__(self, metrics: Metrics, settings: Settings) -> None:
        assert settings.metrics_port is not None
        self.host, self.port = settings.host, settings.metrics_port
        app = Starlette(
            routes=[Route("/metrics", endpoint(metrics, settings.metrics_token), methods=["GET"])]
        )
        config = uvicorn.Config(
            app, lifespan="off", access_log=False, log_config=None, proxy_headers=False
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind the port (OSError when taken) and serve in the background."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="metrics")
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

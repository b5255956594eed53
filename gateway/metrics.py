"""Prometheus metrics: one registry per app (served at /metrics by gateway/http/monitoring.py).

The registry belongs to the app (not the process-global default), so two apps in one
process, as in the tests, count separately.

/metrics can be kept from the public: with METRICS_TOKEN it answers only requests that
send `Authorization: Bearer <that token>`, and with METRICS_PORT it is served on that port
(of GATEWAY_HOST) by a small server the app's lifespan runs beside the main one, and not
on the main port at all, so the reverse proxy never exposes it.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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

"""Prometheus metrics: one registry per app, exposed at /metrics.

The registry belongs to the app (not the process-global default), so two apps in one
process, as in the tests, count separately.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response


class Metrics:
    """The gateway's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def render(self) -> bytes:
        return generate_latest(self.registry)


def endpoint(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving `metrics` in the Prometheus text format."""

    async def serve(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return serve

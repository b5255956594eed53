"""Request context: request id, per-request counters, observability headers, access log.

Outermost of our middleware, so every response (errors included) carries
`X-Request-ID`, `X-Query-Count`, `Server-Timing` and `X-Cache`, and an exception that
escapes the app becomes a masked problem+json 500 logged with its request id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import telemetry
from gateway.errors import InternalError
from gateway.responses import problem_response
from gateway.services import caching

access_log = logging.getLogger("gateway.access")
error_log = logging.getLogger("gateway.errors")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Start per-request counters and report them in headers and the access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        stats = telemetry.begin(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                if stats.written:
                    await _invalidate(scope, stats.written)
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["X-Query-Count"] = str(stats.queries)
                app_ms = (time.perf_counter() - started) * 1000
                timing = [f"db;dur={stats.db_seconds * 1000:.2f}", f"app;dur={app_ms:.2f}"]
                outcome = stats.cache_outcome
                if outcome is not None:
                    headers["X-Cache"] = outcome
                    timing.insert(1, f"cache;desc={outcome.lower()}")
                headers["Server-Timing"] = ", ".join(timing)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            error_log.exception("unhandled error", extra={"request_id": request_id})
            if response_started:
                raise
            await problem_response(InternalError())(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            duration = time.perf_counter() - started
            _record(scope, stats, status, duration)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    # The peer, or the client a trusted proxy named (FORWARDED_ALLOW_IPS).
                    "client": (scope.get("client") or (None,))[0],
                    "route": getattr(route, "path", None),
                    "operation": stats.operation,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                    "queries": stats.queries,
                    "cache": stats.cache_outcome,
                },
            )


async def _invalidate(scope: Scope, written: set[str]) -> None:
    resources = scope.get("state", {}).get("resources")
    if resources is not None:
        await caching.invalidate_written(resources, written)


def _record(scope: Scope, stats: telemetry.RequestStats, status: int, seconds: float) -> None:
    """Feed the request's figures to Prometheus (when the app's resources are up)."""
    resources = scope.get("state", {}).get("resources")
    if resources is None:
        return
    metrics = resources.metrics
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    template = _template(scope, route)
    metrics.http_latency.labels(template, scope["method"], str(status)).observe(seconds)
    if template == "/graphql" and scope["method"] in ("GET", "POST"):
        metrics.graphql_latency.labels(metrics.operation(stats.operation)).observe(seconds)
    if stats.queries:
        metrics.sql_statements.labels(template).inc(stats.queries)
    for outcome, count in (
        ("hit", stats.cache_hits),
        ("miss", stats.cache_misses),
        ("bypass", stats.cache_bypasses),
    ):
        if count:
            metrics.cache_outcomes.labels(outcome).inc(count)


def _template(scope: Scope, route_path: str) -> str:
    # Routes under a Mount report their own path; put the mount's prefix back.
    if route_path == "unmatched":
        return route_path
    mount = scope.get("root_path", "") or ""
    app_root = scope.get("app_root_path", "") or ""
    prefix = mount[len(app_root) :] if mount.startswith(app_root) else mount
    return prefix + route_path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None

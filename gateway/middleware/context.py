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
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": getattr(route, "path", None),
                    "operation": stats.operation,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "queries": stats.queries,
                    "cache": stats.cache_outcome,
                },
            )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None

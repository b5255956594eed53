"""What operators poll: liveness and readiness probes for orchestrators and load balancers,
and /metrics, on the main port or on METRICS_PORT beside it."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import Unauthenticated
from gateway.http.responses import JSONResponse, problem_response
from gateway.metrics import Metrics
from gateway.services import health
from gateway.services.resources import Resources
from gateway.settings import Settings

log = logging.getLogger("gateway.metrics")


async def livez(request: Request) -> Response:
    """200 while the process can answer at all; never touches a backend."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    """200 when the database answers (cache down is "degraded", still 200); 503 otherwise."""
    resources: Resources = request.state.resources
    if resources.lifecycle.draining:
        return JSONResponse(
            {"status": "draining"}, status_code=503, headers={"Cache-Control": "no-store"}
        )
    readiness = await health.check(resources)
    if not readiness.database:
        status = "unavailable"
    elif not readiness.cache:
        status = "degraded"
    else:
        status = "ok"
    body = {
        "status": status,
        "database": "ok" if readiness.database else "unavailable",
        "cache": {
            "kind": readiness.cache_kind,
            "status": "ok" if readiness.cache else "unavailable",
        },
    }
    return JSONResponse(
        body, status_code=200 if readiness.ready else 503, headers={"Cache-Control": "no-store"}
    )


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

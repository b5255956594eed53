"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.responses import JSONResponse
from gateway.services import health
from gateway.services.resources import Resources


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

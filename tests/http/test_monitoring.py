"""gateway/http/monitoring.py: the probes' answers and headers, the /metrics endpoint's
bearer check, and the server that serves /metrics on a port of its own.

Readiness with the database down or draining is held by tests/whole/test_resilience.py,
with Redis down by tests/services/test_caching_api.py; the app's METRICS_TOKEN and
METRICS_PORT by tests/http/test_observability.py.
"""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.http.monitoring import MetricsServer, endpoint
from gateway.metrics import Metrics
from gateway.settings import Settings
from tests.conftest import app_client
from tests.processes import free_port, port_open

pytestmark = pytest.mark.anyio

TOKEN = "scrape-" + "t" * 30


async def test_probes_are_never_cached_and_name_the_cache_kind(settings: Settings) -> None:
    async with app_client(settings, redis_url=None) as http:
        live = await http.get("/livez")
        ready = await http.get("/readyz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "database": "ok",
        "cache": {"kind": "memory", "status": "ok"},
    }
    assert live.headers["cache-control"] == ready.headers["cache-control"] == "no-store"


def metrics_app(token: str | None) -> httpx.AsyncClient:
    metrics = Metrics()
    metrics.rate_limit_rejections.labels("general").inc()
    app = Starlette(routes=[Route("/metrics", endpoint(metrics, token))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_without_a_token_anyone_may_scrape() -> None:
    async with metrics_app(None) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    assert 'gateway_rate_limit_rejections_total{bucket="general"} 1.0' in response.text


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        b"",
        TOKEN.encode(),
        f"bearer {TOKEN}".encode(),
        f"Bearer {TOKEN} ".encode(),
        f"Bearer {TOKEN[:-1]}".encode(),
        "Bearer é".encode("latin-1"),
    ],
)
async def test_with_a_token_only_the_exact_bearer_header_scrapes(
    authorization: bytes | None,
) -> None:
    headers = {} if authorization is None else {b"Authorization": authorization}
    async with metrics_app(TOKEN) as http:
        refused = await http.get("/metrics", headers=headers)
        allowed = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "/metrics needs the METRICS_TOKEN as a bearer token."
    assert "gateway_" not in refused.text
    assert allowed.status_code == 200 and "gateway_rate_limit" in allowed.text


async def test_the_metrics_server_serves_its_port_until_stopped() -> None:
    port = free_port()
    metrics = Metrics()
    metrics.cache_outcomes.labels("hit").inc(3)
    server = MetricsServer(metrics, Settings(metrics_port=port, metrics_token=TOKEN))
    await server.stop()  # before start: nothing to stop
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/metrics")).status_code == 401
            served = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert 'gateway_cache_operations_total{outcome="hit"} 3.0' in served.text
            assert (await http.get("/livez")).status_code == 404  # metrics only
    finally:
        await server.stop()
    assert not port_open(port)
    await server.stop()


async def test_a_port_taken_by_another_program_is_an_error() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        port = holder.getsockname()[1]
        server = MetricsServer(Metrics(), Settings(metrics_port=port))
        with pytest.raises(OSError, match="in use"):
            await server.start()
    finally:
        holder.close()

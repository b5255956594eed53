"""What operators watch: the JSON access log and the Prometheus metrics."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from gateway.logs import JSONFormatter
from gateway.metrics import MAX_OPERATION_NAMES, Metrics
from gateway.settings import Settings, SettingsError
from tests.conftest import app_client

pytestmark = pytest.mark.anyio


async def test_access_log_says_who_what_and_what_it_cost(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.access")
    await client.get("/api/v1/products/999999", headers={"X-Request-ID": "trace-42"})
    await client.post(
        "/graphql",
        json={
            "query": "query Cards { products(first: 1) { totalCount } }",
            "operationName": "Cards",
        },
    )
    records = [r for r in caplog.records if r.name == "gateway.access"]
    rest, graph = (json.loads(JSONFormatter().format(r)) for r in records[-2:])
    assert rest["request_id"] == "trace-42"
    assert rest["route"] == "/products/{id}"
    assert (rest["method"], rest["path"], rest["status"]) == ("GET", "/api/v1/products/999999", 404)
    assert rest["queries"] == 1 and rest["duration_ms"] > 0
    assert graph["operation"] == "Cards" and graph["queries"] >= 1
    assert graph["request_id"] and graph["request_id"] != "trace-42"
    assert rest["client"] == "127.0.0.1"


async def test_metrics_report_latency_sql_and_the_pool(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/products?limit=2")
    await client.get("/api/v1/products?limit=3")
    await client.post(
        "/graphql",
        json={
            "query": "query Cards { products(first: 1) { totalCount } }",
            "operationName": "Cards",
        },
    )
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'gateway_http_request_duration_seconds_count{method="GET",route="/api/v1/products",status="200"} 2.0'
        in text
    )
    assert 'gateway_graphql_operation_duration_seconds_count{operation="Cards"} 1.0' in text
    assert 'gateway_sql_statements_total{route="/api/v1/products"} 2.0' in text
    assert 'gateway_db_pool_connections{state="max"} 10.0' in text
    assert 'gateway_db_pool_connections{state="in_use"}' in text


def test_client_chosen_operation_names_cannot_explode_the_series() -> None:
    metrics = Metrics()
    names = {metrics.operation(f"Op{i}") for i in range(MAX_OPERATION_NAMES + 50)}
    assert len(names) == MAX_OPERATION_NAMES + 1
    assert "other" in names
    assert metrics.operation("Op1") == "Op1"  # known names keep their own series
    assert metrics.operation(None) == "anonymous"


async def test_metrics_token_keeps_metrics_from_the_public(settings: Settings) -> None:
    token = "scrape-" + "s" * 30
    async with app_client(settings, metrics_token=token) as http:
        assert (await http.get("/api/v1/products")).status_code == 200
        anonymous = await http.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.json()["code"] == "UNAUTHENTICATED"
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert "gateway_" not in anonymous.text
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer " + "x" * 37})
        assert wrong.status_code == 401
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200
        assert "gateway_http_request_duration_seconds" in right.text


async def test_with_a_metrics_port_the_main_port_has_no_metrics(settings: Settings) -> None:
    from tests.processes import free_port, port_open

    port = free_port()
    async with app_client(settings, metrics_port=port) as http:
        assert (await http.get("/metrics")).status_code == 404
        assert port_open(port)
        async with httpx.AsyncClient() as outside:
            served = await outside.get(f"http://127.0.0.1:{port}/metrics")
        assert served.status_code == 200
        assert "gateway_db_pool_connections" in served.text
    assert not port_open(port)


def test_metrics_settings() -> None:
    configured = Settings.from_env({"METRICS_PORT": "9100", "METRICS_TOKEN": "t" * 20})
    assert (configured.metrics_port, configured.metrics_token) == (9100, "t" * 20)
    assert (Settings.from_env({}).metrics_port, Settings.from_env({}).metrics_token) == (None, None)
    with pytest.raises(SettingsError, match="METRICS_TOKEN"):
        Settings.from_env({"METRICS_TOKEN": "short"})
    with pytest.raises(SettingsError, match="METRICS_PORT"):
        Settings.from_env({"METRICS_PORT": "0"})

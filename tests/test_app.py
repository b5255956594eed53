"""The two ways production starts the gateway behave alike: `gateway serve`, and the
Dockerfile's CMD (`uvicorn gateway.app:app_from_env --factory ...`), each run for real.

Both log JSON lines at LOG_LEVEL with the gateway's access log, both take the client's
address from X-Forwarded-For only when the peer is one of FORWARDED_ALLOW_IPS, and both
serve /metrics on METRICS_PORT behind METRICS_TOKEN when told to.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.processes import Served, base_env, dockerfile_command, free_port, gateway_serve

pytestmark = pytest.mark.slow

ENTRY_POINTS: dict[str, Callable[[int], list[str]]] = {
    "gateway serve": gateway_serve,
    "Dockerfile CMD": dockerfile_command,
}
METRICS_TOKEN = "metrics-" + "m" * 24


def environment(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:{uuid.uuid4().hex[:8]}",
        DB_POOL_MIN_SIZE="0",
        **extra,
    )


def run(
    env: dict[str, str], command: Callable[[int], list[str]], work: Callable[[str], Any]
) -> tuple[Any, list[str]]:
    """Start the gateway, do `work` against its URL, stop it; (what work returned, its log)."""
    served = Served(env, command=command)
    try:
        result = work(served.url)
    finally:
        code = served.stop()
    output = served.output()
    # uvicorn's command re-raises SIGTERM once it has shut down gracefully.
    assert code in (0, -15), output
    return result, [line for line in output.splitlines() if line.strip()]


def wrong_logins(url: str, addresses: list[str]) -> list[int]:
    return [
        httpx.post(
            url + "/api/v1/auth/login",
            json={"email": f"user{i}@example.com", "password": "a wrong password"},
            headers={"X-Forwarded-For": address},
        ).status_code
        for i, address in enumerate(addresses)
    ]


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_json_logs_access_log_and_untrusted_forwarded_for(
    entry: str, database_url: str, redis_url: str
) -> None:
    env = environment(
        database_url,
        redis_url,
        LOG_LEVEL="info",
        FORWARDED_ALLOW_IPS="10.9.9.9",
        LOGIN_FAILURES_PER_ADDRESS="3",
    )
    request_id = f"entry-{uuid.uuid4().hex[:8]}"

    def work(url: str) -> list[int]:
        assert httpx.get(url + "/livez", headers={"X-Request-ID": request_id}).status_code == 200
        # 127.0.0.1 is no trusted proxy here: its X-Forwarded-For is ignored, so one
        # address makes all these attempts.
        return wrong_logins(url, [f"6.6.{i}.6" for i in range(4)])

    statuses, lines = run(env, ENTRY_POINTS[entry], work)
    assert statuses == [401, 401, 401, 429]
    # Every line on stderr is one JSON object (no plain uvicorn lines).
    entries = [orjson.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    access = [e for e in entries if e["logger"] == "gateway.access"]
    (livez,) = [e for e in access if e.get("request_id") == request_id]
    assert livez["path"] == "/livez" and livez["status"] == 200
    assert livez["client"] == "127.0.0.1"
    assert {"method", "route", "duration_ms", "queries"} <= set(livez)
    assert all(e["client"] == "127.0.0.1" for e in access if e["path"] == "/api/v1/auth/login")
    messages = {e["message"] for e in entries if e["logger"].startswith("uvicorn")}
    assert {"Application startup complete.", "Application shutdown complete."} <= messages


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_log_level_trusted_proxy_and_metrics_port(
    entry: str, database_url: str, redis_url: str
) -> None:
    metrics_port = free_port()
    env = environment(
        database_url,
        redis_url,
        LOG_LEVEL="warning",
        LOGIN_FAILURES_PER_ADDRESS="1",
        METRICS_PORT=str(metrics_port),
        METRICS_TOKEN=METRICS_TOKEN,
    )

    def work(url: str) -> dict[str, Any]:
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        return {
            # Loopback is a trusted proxy by default: each forwarded client is its own.
            "logins": wrong_logins(url, ["203.0.113.1", "203.0.113.2", "203.0.113.1"]),
            "main port": httpx.get(url + "/metrics").status_code,
            "no token": httpx.get(metrics_url).status_code,
            "wrong token": httpx.get(
                metrics_url, headers={"Authorization": "Bearer not-the-token"}
            ).status_code,
            "token": httpx.get(metrics_url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}),
        }

    result, lines = run(env, ENTRY_POINTS[entry], work)
    assert result["logins"] == [401, 401, 429]
    assert (result["main port"], result["no token"], result["wrong token"]) == (404, 401, 401)
    assert result["token"].status_code == 200
    assert "gateway_http_request_duration_seconds" in result["token"].text
    # LOG_LEVEL=warning: no info lines from the gateway or from uvicorn, and all JSON.
    entries = [orjson.loads(line) for line in lines]
    assert {e["level"] for e in entries} <= {"warning", "error"}

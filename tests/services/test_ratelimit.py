"""Rate limits: per caller, per GraphQL root field, shared by replicas, harmless without Redis."""

from __future__ import annotations

import pytest

from gateway.settings import Settings
from tests.conftest import Actors, app_client
from tests.processes import free_port

pytestmark = pytest.mark.anyio


async def test_rest_allowance_and_headers(settings: Settings, actors: Actors) -> None:
    someone = await actors.customer()
    async with app_client(settings, rate_limit_per_minute=5) as http:
        remaining = []
        for _ in range(5):
            response = await http.get("/api/v1/products")
            assert response.status_code == 200
            assert response.headers["ratelimit-limit"] == "5"
            remaining.append(int(response.headers["ratelimit-remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        refused = await http.get("/api/v1/products")
        assert refused.status_code == 429
        metrics = (await http.get("/metrics")).text
        assert 'gateway_rate_limit_rejections_total{bucket="all"} 1.0' in metrics
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-remaining"] == "0"
        assert refused.headers["x-query-count"] == "0"
        # A signed-in caller has an allowance of its own.
        mine = await http.get("/api/v1/products", headers=someone.headers)
        assert mine.status_code == 200


async def test_graphql_counts_every_root_field(settings: Settings) -> None:
    async with app_client(settings, rate_limit_per_minute=5) as http:
        five = (
            "{ " + " ".join(f"p{i}: products(first: 1) {{ totalCount }}" for i in range(5)) + " }"
        )
        assert (await http.post("/graphql", json={"query": five})).status_code == 200
        one_more = await http.post("/graphql", json={"query": "{ products { totalCount } }"})
        assert one_more.status_code == 429


async def test_limits_hold_across_replicas(settings: Settings) -> None:
    async with (
        app_client(settings, rate_limit_per_minute=5) as one,
        app_client(settings, rate_limit_per_minute=5) as two,
    ):
        statuses = [(await one.get("/api/v1/products")).status_code for _ in range(3)]
        statuses += [(await two.get("/api/v1/products")).status_code for _ in range(3)]
        assert statuses == [200, 200, 200, 200, 200, 429]


async def test_redis_down_reads_fail_open_and_logins_stay_limited(settings: Settings) -> None:
    port = free_port()
    async with app_client(
        settings,
        redis_url=f"redis://127.0.0.1:{port}/0",
        rate_limit_per_minute=2,
        login_failures_per_account=2,
    ) as http:
        reads = [(await http.get("/api/v1/products")).status_code for _ in range(5)]
        assert reads == [200] * 5
        body = {"email": "who@example.com", "password": "not the password"}
        attempts = [
            (await http.post("/api/v1/auth/login", json=body)).status_code for _ in range(3)
        ]
        assert attempts == [401, 401, 429]
        metrics = (await http.get("/metrics")).text
        assert 'gateway_rate_limit_degraded_total{mode="fail_open"} 5.0' in metrics
        assert 'gateway_rate_limit_degraded_total{mode="per_process"}' in metrics

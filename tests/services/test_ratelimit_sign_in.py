"""Sign-in limits: failures per account and per client address, exact under concurrency,
successes not counted, reported in both styles; and client addresses that only a trusted
proxy may name."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from gateway.settings import Settings, SettingsError
from tests.conftest import app_client

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
LOGIN = "/api/v1/auth/login"
GRAPHQL_LOGIN = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }"


def default_limits(settings: Settings, **overrides: Any) -> app_client:
    """An app with the shipped sign-in limits (the suite's settings lift them)."""
    limits: dict[str, Any] = {
        "login_failures_per_account": 5,
        "login_account_window": 900,
        "login_failures_per_address": 50,
        "login_address_window": 60,
        **overrides,
    }
    return app_client(settings, **limits)


async def account(http: httpx.AsyncClient, name: str = "someone") -> str:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": name}
    assert (await http.post("/api/v1/auth/register", json=body)).status_code == 201
    return email


async def attempt(
    http: httpx.AsyncClient, email: str, password: str = "a wrong password", **headers: str
) -> httpx.Response:
    return await http.post(LOGIN, json={"email": email, "password": password}, headers=headers)


async def test_six_colleagues_behind_one_address_all_sign_in(settings: Settings) -> None:
    async with default_limits(settings) as http:
        emails = [await account(http, f"colleague{i}") for i in range(6)]
        # One typo among them changes nothing for the others.
        assert (await attempt(http, emails[0])).status_code == 401
        statuses = [(await attempt(http, email, PASSWORD)).status_code for email in emails]
        assert statuses == [200] * 6
        graph = await http.post(
            "/graphql",
            json={
                "query": GRAPHQL_LOGIN,
                "variables": {"i": {"email": emails[1], "password": PASSWORD}},
            },
        )
        assert graph.status_code == 200 and graph.json()["data"]["login"]["accessToken"]


async def test_five_failures_close_an_account_for_fifteen_minutes(settings: Settings) -> None:
    async with default_limits(settings) as http:
        victim = await account(http, "victim")
        bystander = await account(http, "bystander")
        assert [(await attempt(http, victim)).status_code for _ in range(5)] == [401] * 5
        refused = await attempt(http, victim)
        assert refused.status_code == 429
        assert refused.json()["code"] == "RATE_LIMITED"
        # The headers describe the sign-in limit, not the general allowance (100,000 here).
        assert refused.headers["ratelimit-limit"] == "5"
        assert refused.headers["ratelimit-remaining"] == "0"
        assert refused.headers["ratelimit-policy"] == "5;w=900"
        assert 850 <= int(refused.headers["retry-after"]) <= 900
        assert refused.headers["ratelimit-reset"] == refused.headers["retry-after"]
        # Even the right password waits now, and so does the same email in another case...
        assert (await attempt(http, victim, PASSWORD)).status_code == 429
        assert (await attempt(http, victim.upper(), PASSWORD)).status_code == 429
        # ...in GraphQL too, with the same answer...
        graph = await http.post(
            "/graphql",
            json={
                "query": GRAPHQL_LOGIN,
                "variables": {"i": {"email": victim, "password": PASSWORD}},
            },
        )
        assert graph.status_code == 429
        assert graph.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert graph.headers["ratelimit-limit"] == "5"
        assert graph.headers["ratelimit-policy"] == "5;w=900"
        assert 850 <= int(graph.headers["retry-after"]) <= 900
        # ...while other accounts from the same address sign in.
        assert (await attempt(http, bystander, PASSWORD)).status_code == 200
        metrics = (await http.get("/metrics")).text
        assert 'gateway_rate_limit_rejections_total{bucket="sign_in_account"} 4.0' in metrics


async def test_accounts_that_do_not_exist_are_limited_alike(settings: Settings) -> None:
    # Otherwise the limit would tell which emails are registered.
    async with default_limits(settings, login_failures_per_account=2) as http:
        statuses = [(await attempt(http, "nobody@example.com")).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]


async def test_a_success_clears_the_accounts_failures(settings: Settings) -> None:
    async with default_limits(settings, login_failures_per_account=2) as http:
        email = await account(http, "typist")
        statuses = [
            (await attempt(http, email)).status_code,
            (await attempt(http, email, PASSWORD)).status_code,
            (await attempt(http, email)).status_code,
            (await attempt(http, email)).status_code,
            (await attempt(http, email)).status_code,
        ]
        assert statuses == [401, 200, 401, 401, 429]


async def test_failures_per_address_across_accounts(settings: Settings) -> None:
    async with default_limits(settings, login_failures_per_address=3) as http:
        emails = [await account(http, f"sprayed{i}") for i in range(5)]
        statuses = [(await attempt(http, email)).status_code for email in emails[:4]]
        assert statuses == [401, 401, 401, 429]
        refused = await attempt(http, emails[4], PASSWORD)
        assert refused.status_code == 429
        assert refused.headers["ratelimit-limit"] == "3"
        assert refused.headers["ratelimit-policy"] == "3;w=60"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Successes never counted: a fresh address still signs in.
        other = await attempt(http, emails[4], PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})
        assert other.status_code == 200


async def test_concurrent_guesses_never_pass_the_limit(settings: Settings) -> None:
    async with default_limits(settings) as one, default_limits(settings) as two:
        email = await account(one, "besieged")
        answers = await asyncio.gather(
            *(attempt(one if i % 2 else two, email, f"guess number {i}") for i in range(20))
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [401] * 5 + [429] * 15


async def test_a_general_refusal_still_reports_the_general_allowance(settings: Settings) -> None:
    async with app_client(settings, rate_limit_per_minute=2) as http:
        email = "who@example.com"
        await attempt(http, email)
        await attempt(http, email)
        refused = await attempt(http, email)
        assert refused.status_code == 429
        assert refused.headers["ratelimit-limit"] == "2"
        assert refused.headers["ratelimit-policy"] == "2;w=60"


# Trusted proxies -------------------------------------------------------------------------


async def test_a_client_cannot_pick_its_address(settings: Settings) -> None:
    # The reproducer: 20 wrong passwords, each claiming another address. The test
    # client's peer (127.0.0.1) is no trusted proxy here, so the header is ignored.
    async with default_limits(
        settings, login_failures_per_address=5, forwarded_allow_ips=("10.9.9.9",)
    ) as http:
        statuses = [
            (
                await attempt(http, f"user{i}@example.com", **{"X-Forwarded-For": f"6.6.{i}.6"})
            ).status_code
            for i in range(20)
        ]
        assert statuses == [401] * 5 + [429] * 15


async def test_a_trusted_proxy_names_the_client(settings: Settings) -> None:
    # Loopback is trusted by default: what it forwards is the client's address, so two
    # clients behind it have separate limits, and the rightmost untrusted hop counts.
    async with default_limits(settings, login_failures_per_address=2) as http:
        for client in ("203.0.113.1", "203.0.113.2"):
            statuses = [
                (
                    await attempt(http, f"u{i}@example.com", **{"X-Forwarded-For": client})
                ).status_code
                for i in range(3)
            ]
            assert statuses == [401, 401, 429], client
        # A client's own claim to the left of what the proxy saw does not help it.
        spoofed = await attempt(
            http, "u9@example.com", **{"X-Forwarded-For": "6.6.6.6, 203.0.113.1"}
        )
        assert spoofed.status_code == 429


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ("127.0.0.1", "::1")),
        ("", ("127.0.0.1", "::1")),
        ("10.0.0.5", ("10.0.0.5",)),
        (" 10.0.0.0/8, fd00::/8 ", ("10.0.0.0/8", "fd00::/8")),
    ],
)
def test_forwarded_allow_ips_setting(raw: str | None, expected: tuple[str, ...]) -> None:
    environ = {} if raw is None else {"FORWARDED_ALLOW_IPS": raw}
    assert Settings.from_env(environ).forwarded_allow_ips == expected


@pytest.mark.parametrize("raw", ["*", "10.0.0.1,*", "proxy.internal", "10.0.0.0/33"])
def test_forwarded_allow_ips_refuses_anything_but_addresses(raw: str) -> None:
    with pytest.raises(SettingsError, match="FORWARDED_ALLOW_IPS"):
        Settings.from_env({"FORWARDED_ALLOW_IPS": raw})


def test_the_old_login_limit_setting_is_refused_not_ignored() -> None:
    with pytest.raises(SettingsError, match="LOGIN_FAILURES_PER_ACCOUNT"):
        Settings.from_env({"LOGIN_RATE_LIMIT_PER_MINUTE": "5"})


def test_sign_in_limit_settings() -> None:
    settings = Settings.from_env(
        {
            "LOGIN_FAILURES_PER_ACCOUNT": "3",
            "LOGIN_ACCOUNT_WINDOW_SECONDS": "600",
            "LOGIN_FAILURES_PER_ADDRESS": "100",
            "LOGIN_ADDRESS_WINDOW_SECONDS": "120",
        }
    )
    assert (
        settings.login_failures_per_account,
        settings.login_account_window,
        settings.login_failures_per_address,
        settings.login_address_window,
    ) == (3, 600, 100, 120)
    defaults = Settings.from_env({})
    assert (defaults.login_failures_per_account, defaults.login_account_window) == (5, 900)
    assert (defaults.login_failures_per_address, defaults.login_address_window) == (50, 60)

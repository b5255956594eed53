"""What gateway/rest/accounts.py decides: the /auth/* and /users/* routes, their status codes
(201 with Location on register, 204 on logout), the session and account representations, the
refresh-token body it parses itself, /users/me before /users/{id}, and 405 with Allow."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Actors, app_client, app_settings, reference

pytestmark = pytest.mark.anyio

PASSWORD = "a long enough passphrase 42"
ACCOUNT_KEYS = {"id", "email", "display_name", "role", "created_at"}


@pytest.fixture(scope="module")
def module_settings(database_url: str, redis_url: str) -> Settings:
    return app_settings(database_url, redis_url, rate_limit_per_minute=1_000_000)


@pytest.fixture(scope="module")
async def api(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def services(module_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(module_settings) as http:
        yield http


@pytest.fixture(scope="module")
async def registered(api: httpx.AsyncClient) -> httpx.Response:
    """One registration for the module: hashing a password is the slow part of these tests."""
    email = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": "Reader"}
    return await api.post("/api/v1/auth/register", json=body)


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def test_register_is_201_with_the_users_location_and_a_session(
    registered: httpx.Response,
) -> None:
    assert registered.status_code == 201
    session = registered.json()["data"]
    assert set(session) == {"account", "access_token", "refresh_token", "token_type", "expires_in"}
    assert set(session["account"]) == ACCOUNT_KEYS
    assert session["token_type"] == "Bearer" and session["expires_in"] == 900
    assert registered.headers["location"] == f"/api/v1/users/{session['account']['id']}"


async def test_login_refresh_and_logout(api: httpx.AsyncClient, registered: httpx.Response) -> None:
    account = registered.json()["data"]["account"]
    login = await api.post(
        "/api/v1/auth/login", json={"email": account["email"], "password": PASSWORD}
    )
    assert login.status_code == 200
    assert login.json()["data"]["account"] == account
    token = login.json()["data"]["refresh_token"]
    refreshed = await api.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert refreshed.status_code == 200
    assert refreshed.json()["data"]["refresh_token"] != token
    out = await api.post(
        "/api/v1/auth/logout", json={"refresh_token": refreshed.json()["data"]["refresh_token"]}
    )
    assert out.status_code == 204 and out.content == b""
    # An unknown token signs nothing out, and says so the same way.
    again = await api.post("/api/v1/auth/logout", json={"refresh_token": "unknown"})
    assert again.status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "refresh_token"),
        ({"refresh_token": "x" * 201}, "refresh_token"),
        ({"refresh_token": 7}, "refresh_token"),
        ({"refresh_token": "x", "extra": 1}, "extra"),
    ],
)
async def test_the_refresh_token_body_is_validated(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    for path in ("/api/v1/auth/refresh", "/api/v1/auth/logout"):
        response = await api.post(path, json=body)
        assert response.status_code == 400, path
        problem = response.json()
        assert problem["code"] == "VALIDATION_FAILED"
        assert [e["field"] for e in problem["errors"]] == [field]


async def test_a_refresh_token_at_the_length_limit_is_judged_not_refused(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 200})
    assert response.status_code == 401


async def test_me_and_a_public_profile_on_both_read_paths(
    api: httpx.AsyncClient, services: httpx.AsyncClient, registered: httpx.Response
) -> None:
    session = registered.json()["data"]
    user_id = session["account"]["id"]
    for client in (api, services):
        me = await client.get("/api/v1/users/me", headers=bearer(session))
        assert me.status_code == 200
        assert me.json() == {"data": session["account"]}
        assert me.headers["cache-control"] == "private, no-store"
        profile = await client.get(f"/api/v1/users/{user_id}")
        assert profile.json() == {"data": {"id": user_id, "display_name": "Reader"}}
        absent = await client.get("/api/v1/users/999999")
        assert absent.status_code == 404
    assert (await api.get("/api/v1/users/999999")).json()["detail"] == (
        "User 999999 does not exist."
    )


async def test_me_needs_a_token_and_a_deleted_account_is_401(
    api: httpx.AsyncClient, module_settings: Settings
) -> None:
    assert (await api.get("/api/v1/users/me")).status_code == 401
    ghost = await Actors(module_settings.database_url or "", module_settings).customer()
    conn = await asyncpg.connect(module_settings.database_url)
    try:
        await conn.execute("DELETE FROM users WHERE id = $1", ghost.user_id)
    finally:
        await conn.close()
    response = await api.get("/api/v1/users/me", headers=ghost.headers)
    assert response.status_code == 401


async def test_an_admin_changes_a_role_and_a_customer_may_not(
    api: httpx.AsyncClient, module_settings: Settings
) -> None:
    actors = Actors(module_settings.database_url or "", module_settings)
    admin, customer = await actors.admin(), await actors.customer()
    promoted = await api.patch(
        f"/api/v1/users/{customer.user_id}", json={"role": "admin"}, headers=admin.headers
    )
    assert promoted.status_code == 200
    assert promoted.json()["data"]["role"] == "admin"
    assert set(promoted.json()["data"]) == ACCOUNT_KEYS
    assert promoted.headers["cache-control"] == "private, no-store"
    other = await actors.customer()
    refused = await api.patch(
        f"/api/v1/users/{admin.user_id}", json={"role": "customer"}, headers=other.headers
    )
    assert refused.status_code == 403
    bad = await api.patch(
        f"/api/v1/users/{other.user_id}", json={"role": "owner"}, headers=admin.headers
    )
    assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/auth/login", {"POST"}),
        ("DELETE", "/api/v1/users/1", {"GET", "HEAD", "PATCH"}),
        ("GET", "/api/v1/users/me/password", {"POST"}),
    ],
)
async def test_other_methods_are_405_with_allow(
    api: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed

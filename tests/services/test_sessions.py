"""Sessions that end when they should: role changes, deleted accounts, sign-out, password
changes, and refresh tokens that survive two tabs refreshing at once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Actors, app_client

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a whole new secret 42"


async def sql(database_url: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def signed_up(http: httpx.AsyncClient, name: str = "sam") -> dict[str, Any]:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": name.title()}
    response = await http.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def gql(
    http: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body


NEW_CATEGORY = "/api/v1/categories"


def category() -> dict[str, str]:
    slug = f"c-{uuid.uuid4().hex[:8]}"
    return {"slug": slug, "name": slug}


# Role changes ------------------------------------------------------------------------------


async def test_a_demoted_admin_loses_its_powers_at_once_and_on_other_replicas_within_the_bound(
    settings: Settings, actors: Actors, database_url: str
) -> None:
    boss = await actors.admin("Boss")
    # A real sign-in for the admin to be demoted, so it has a refresh token as well.
    async with (
        app_client(settings, session_check_seconds=1.0) as one,
        app_client(settings, session_check_seconds=1.0) as two,
    ):
        admin = await signed_up(one, "deputy")
        await sql(
            database_url, "UPDATE users SET role = 'admin' WHERE id = $1", admin["account"]["id"]
        )
        deputy = await sign_in(one, admin["account"]["email"])
        assert (
            await one.post(NEW_CATEGORY, json=category(), headers=bearer(deputy))
        ).status_code == 201
        # The other replica has seen (and cached) the deputy's state.
        assert (await two.get("/api/v1/users/me", headers=bearer(deputy))).status_code == 200

        demoted = await one.patch(
            f"/api/v1/users/{deputy['account']['id']}",
            json={"role": "customer"},
            headers=boss.headers,
        )
        assert demoted.status_code == 200, demoted.text
        assert demoted.json()["data"]["role"] == "customer"
        assert demoted.headers["cache-control"] == "private, no-store"

        # This replica: at once, on every route.
        refused = await one.post(NEW_CATEGORY, json=category(), headers=bearer(deputy))
        assert refused.status_code == 401
        assert (await one.get("/api/v1/products", headers=bearer(deputy))).status_code == 401
        # The other replica: within SESSION_CHECK_SECONDS.
        await asyncio.sleep(1.1)
        assert (await two.get("/api/v1/users/me", headers=bearer(deputy))).status_code == 401

        # The refresh token still works and now yields a customer's token.
        renewed = await one.post(
            "/api/v1/auth/refresh", json={"refresh_token": deputy["refresh_token"]}
        )
        assert renewed.status_code == 200
        assert renewed.json()["data"]["account"]["role"] == "customer"
        forbidden = await one.post(
            NEW_CATEGORY, json=category(), headers=bearer(renewed.json()["data"])
        )
        assert forbidden.status_code == 403


async def test_promoting_takes_effect_through_a_refresh(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    boss = await actors.admin()
    someone = await signed_up(client, "climber")
    promoted = await client.patch(
        f"/api/v1/users/{someone['account']['id']}", json={"role": "admin"}, headers=boss.headers
    )
    assert promoted.json()["data"]["role"] == "admin"
    # The customer token names the old role: it stops; a refresh brings the new one.
    assert (await client.get("/api/v1/users/me", headers=bearer(someone))).status_code == 401
    renewed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": someone["refresh_token"]}
    )
    admin = renewed.json()["data"]
    assert admin["account"]["role"] == "admin"
    assert (
        await client.post(NEW_CATEGORY, json=category(), headers=bearer(admin))
    ).status_code == 201


async def test_setting_the_same_role_keeps_the_tokens(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    boss = await actors.admin()
    someone = await actors.customer()
    same = await client.patch(
        f"/api/v1/users/{someone.user_id}", json={"role": "customer"}, headers=boss.headers
    )
    assert same.status_code == 200
    assert (await client.get("/api/v1/users/me", headers=someone.headers)).status_code == 200


async def test_role_changes_are_for_admins_and_checked(
    client: httpx.AsyncClient, actors: Actors, database_url: str
) -> None:
    boss = await actors.admin()
    someone = await actors.customer()
    url = f"/api/v1/users/{someone.user_id}"
    assert (await client.patch(url, json={"role": "admin"})).status_code == 401
    assert (
        await client.patch(url, json={"role": "admin"}, headers=someone.headers)
    ).status_code == 403
    for body, field in (
        ({"role": "root"}, "role"),
        ({}, "role"),
        ({"role": "admin", "email": "x"}, "email"),
    ):
        bad = await client.patch(url, json=body, headers=boss.headers)
        assert bad.status_code == 400, body
        assert bad.json()["code"] == "VALIDATION_FAILED"
        assert field in [e["field"] for e in bad.json()["errors"]]
    missing = await client.patch(
        "/api/v1/users/987654321", json={"role": "admin"}, headers=boss.headers
    )
    assert missing.status_code == 404
    assert (
        await sql(database_url, "SELECT role FROM users WHERE id = $1", someone.user_id)
        == "customer"
    )


async def test_the_last_admin_cannot_be_demoted(
    fresh_database_url: str, settings: Settings, actors: Actors
) -> None:
    fresh = Actors(fresh_database_url, settings)
    only = await fresh.admin()
    async with app_client(settings, database_url=fresh_database_url) as http:
        refused = await http.patch(
            f"/api/v1/users/{only.user_id}", json={"role": "customer"}, headers=only.headers
        )
        assert refused.status_code == 409
        assert refused.json()["code"] == "CONFLICT"
        graph = await gql(
            http,
            "mutation($id: ID!) { setUserRole(id: $id, role: CUSTOMER) "
            "{ account { role } errors { code } } }",
            only.headers,
            id=str(only.user_id),
        )
        assert graph["data"]["setUserRole"] == {"account": None, "errors": [{"code": "CONFLICT"}]}
        assert (await http.get("/api/v1/users/me", headers=only.headers)).status_code == 200


async def test_graphql_set_user_role(client: httpx.AsyncClient, actors: Actors) -> None:
    boss = await actors.admin()
    someone = await actors.customer()
    query = (
        "mutation($id: ID!, $role: Role!) { setUserRole(id: $id, role: $role) "
        "{ account { id role } errors { code field } } }"
    )
    denied = await gql(client, query, someone.headers, id=str(someone.user_id), role="ADMIN")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    done = await gql(client, query, boss.headers, id=str(someone.user_id), role="ADMIN")
    assert done["data"]["setUserRole"] == {
        "account": {"id": str(someone.user_id), "role": "ADMIN"},
        "errors": [],
    }
    assert (await client.get("/api/v1/users/me", headers=someone.headers)).status_code == 401


# Deleted accounts ----------------------------------------------------------------------------


async def test_a_deleted_accounts_token_stops_everywhere_within_the_bound(
    settings: Settings, actors: Actors, database_url: str
) -> None:
    someone = await actors.customer()
    async with app_client(settings, session_check_seconds=1.0) as http:
        assert (await http.get("/api/v1/products", headers=someone.headers)).status_code == 200
        await sql(database_url, "DELETE FROM users WHERE id = $1", someone.user_id)
        await asyncio.sleep(1.1)
        # Not only /users/me: a catalogue read with the token is refused too.
        refused = await http.get("/api/v1/products", headers=someone.headers)
        assert refused.status_code == 401
        graph = await http.post(
            "/graphql", json={"query": "{ tags { totalCount } }"}, headers=someone.headers
        )
        assert graph.status_code == 401


# Sign-out ------------------------------------------------------------------------------------


async def test_logout_ends_that_sign_in_and_only_that_one(client: httpx.AsyncClient) -> None:
    first = await signed_up(client, "leaver")
    other = await sign_in(client, first["account"]["email"])
    out = await client.post("/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert out.status_code == 204
    assert out.content == b""
    # Its refresh token and its access token stop working...
    again = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert again.status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bearer(first))).status_code == 401
    # ...while the other sign-in of the same account carries on.
    assert (await client.get("/api/v1/users/me", headers=bearer(other))).status_code == 200
    renewed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert renewed.status_code == 200
    # Signing out twice, or with a token that is not ours, is no error.
    twice = await client.post("/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert twice.status_code == 204
    junk = await client.post("/api/v1/auth/logout", json={"refresh_token": "nonsense"})
    assert junk.status_code == 204
    empty = await client.post("/api/v1/auth/logout", json={})
    assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == "refresh_token"


async def test_graphql_logout(client: httpx.AsyncClient) -> None:
    session = await signed_up(client, "gqlleaver")
    graph = await gql(
        client,
        "mutation($t: String!) { logout(refreshToken: $t) { signedOut errors { code } } }",
        t=session["refresh_token"],
    )
    assert graph["data"]["logout"] == {"signedOut": True, "errors": []}
    assert (await client.get("/api/v1/users/me", headers=bearer(session))).status_code == 401
    again = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert again.status_code == 401


# Password change -----------------------------------------------------------------------------


async def test_a_password_change_ends_every_session_and_starts_a_new_one(
    client: httpx.AsyncClient,
) -> None:
    laptop = await signed_up(client, "changer")
    email = laptop["account"]["email"]
    phone = await sign_in(client, email)
    wrong = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=bearer(laptop),
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "VALIDATION_FAILED"
    assert wrong.json()["errors"][0]["field"] == "current_password"
    weak = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(laptop),
    )
    assert weak.status_code == 400 and weak.json()["errors"][0]["field"] == "new_password"
    # Nothing changed so far.
    assert (await client.get("/api/v1/users/me", headers=bearer(phone))).status_code == 200

    changed = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(laptop),
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "private, no-store"
    fresh = changed.json()["data"]
    for old in (laptop, phone):
        assert (await client.get("/api/v1/users/me", headers=bearer(old))).status_code == 401
        spent = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
        )
        assert spent.status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bearer(fresh))).status_code == 200
    renewed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}
    )
    assert renewed.status_code == 200
    old_password = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert old_password.status_code == 401
    await sign_in(client, email, NEW_PASSWORD)


async def test_password_change_needs_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert (await client.post("/api/v1/users/me/password", json=body)).status_code == 401


async def test_wrong_current_passwords_count_as_failed_sign_ins(settings: Settings) -> None:
    async with app_client(settings, login_failures_per_account=2) as http:
        session = await signed_up(http, "guessed")
        body = {"current_password": "a wrong guess", "new_password": NEW_PASSWORD}
        statuses = [
            (
                await http.post("/api/v1/users/me/password", json=body, headers=bearer(session))
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [400, 400, 429]


async def test_graphql_change_password(client: httpx.AsyncClient) -> None:
    session = await signed_up(client, "gqlchanger")
    query = (
        "mutation($i: ChangePasswordInput!) { changePassword(input: $i) "
        "{ accessToken refreshToken account { email } errors { code field } } }"
    )
    wrong = await gql(
        client,
        query,
        bearer(session),
        i={"currentPassword": "nope nope nope", "newPassword": NEW_PASSWORD},
    )
    assert wrong["data"]["changePassword"]["errors"] == [
        {"code": "VALIDATION_FAILED", "field": "currentPassword"}
    ]
    done = await gql(
        client, query, bearer(session), i={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    )
    payload = done["data"]["changePassword"]
    assert payload["errors"] == [] and payload["accessToken"]
    assert (await client.get("/api/v1/users/me", headers=bearer(session))).status_code == 401
    new = {"Authorization": f"Bearer {payload['accessToken']}"}
    assert (await client.get("/api/v1/users/me", headers=new)).status_code == 200
    anonymous = await gql(
        client, query, i={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    )
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# Concurrent refresh ------------------------------------------------------------------------


async def test_two_refreshes_in_the_grace_window_get_the_same_pair(
    client: httpx.AsyncClient,
) -> None:
    session = await signed_up(client, "twotabs")
    body = {"refresh_token": session["refresh_token"]}
    first = await client.post("/api/v1/auth/refresh", json=body)
    second = await client.post("/api/v1/auth/refresh", json=body)
    assert (first.status_code, second.status_code) == (200, 200)
    one, two = first.json()["data"], second.json()["data"]
    assert one["refresh_token"] == two["refresh_token"] != session["refresh_token"]
    assert one["access_token"] == two["access_token"]
    assert 0 < two["expires_in"] <= one["expires_in"]
    # The sign-in lives on: the shared new pair works.
    assert (await client.get("/api/v1/users/me", headers=bearer(two))).status_code == 200
    onward = await client.post("/api/v1/auth/refresh", json={"refresh_token": two["refresh_token"]})
    assert onward.status_code == 200


async def test_concurrent_refreshes_on_two_replicas_both_succeed(settings: Settings) -> None:
    async with app_client(settings) as one, app_client(settings) as two:
        session = await signed_up(one, "racer")
        token = session["refresh_token"]
        for _ in range(8):
            body = {"refresh_token": token}
            answers = await asyncio.gather(
                one.post("/api/v1/auth/refresh", json=body),
                two.post("/api/v1/auth/refresh", json=body),
            )
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
            pairs = {
                (a.json()["data"]["access_token"], a.json()["data"]["refresh_token"])
                for a in answers
            }
            assert len(pairs) == 1
            ((access, token),) = pairs
            assert (
                await two.get("/api/v1/users/me", headers={"Authorization": f"Bearer {access}"})
            ).status_code == 200


async def test_graphql_refresh_in_the_grace_window(client: httpx.AsyncClient) -> None:
    session = await signed_up(client, "gqltabs")
    query = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
    rest = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    ).json()
    graph = await gql(client, query, t=session["refresh_token"])
    assert graph["data"]["refreshToken"] == {
        "accessToken": rest["data"]["access_token"],
        "refreshToken": rest["data"]["refresh_token"],
    }


async def test_reuse_after_the_window_revokes_the_sign_in(
    client: httpx.AsyncClient, database_url: str
) -> None:
    session = await signed_up(client, "late")
    body = {"refresh_token": session["refresh_token"]}
    new = (await client.post("/api/v1/auth/refresh", json=body)).json()["data"]
    await sql(
        database_url,
        "UPDATE refresh_tokens SET used_at = now() - interval '11 seconds' "
        "WHERE user_id = $1 AND used_at IS NOT NULL",
        session["account"]["id"],
    )
    assert (await client.post("/api/v1/auth/refresh", json=body)).status_code == 401
    # The whole sign-in went: the successor's refresh and access tokens too.
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    ).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bearer(new))).status_code == 401


async def test_without_a_grace_window_reuse_revokes_at_once(settings: Settings) -> None:
    async with app_client(settings, refresh_grace_seconds=0) as http:
        session = await signed_up(http, "strict")
        body = {"refresh_token": session["refresh_token"]}
        assert (await http.post("/api/v1/auth/refresh", json=body)).status_code == 200
        assert (await http.post("/api/v1/auth/refresh", json=body)).status_code == 401


async def test_a_forged_successor_is_not_accepted(client: httpx.AsyncClient) -> None:
    # The successor is derived with the server's secret: a client cannot compute it.
    from gateway.tokens import RefreshToken, TokenIssuer

    session = await signed_up(client, "forger")
    forged = TokenIssuer("another-secret-" + "z" * 40, issuer="", audience="", ttl=1).successor(
        RefreshToken.parse(session["refresh_token"])
    )
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": str(forged)})
    ).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    ).status_code == 200

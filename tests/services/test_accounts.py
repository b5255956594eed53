"""Accounts and tokens in both styles: register, login, refresh rotation, me, and every way a
token can be wrong."""

from __future__ import annotations

import base64
import time
from typing import Any

import asyncpg
import httpx
import jwt
import orjson
import pytest

from gateway.app import create_app
from gateway.settings import Settings, SettingsError
from gateway.tokens import INVALID
from tests.conftest import TEST_JWT_SECRET, Actors

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def gql(
    http: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body


async def register(http: httpx.AsyncClient, email: str, **extra: Any) -> httpx.Response:
    body = {"email": email, "password": PASSWORD, "display_name": "Ada", **extra}
    return await http.post("/api/v1/auth/register", json=body)


async def row(database_url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()


# Register ----------------------------------------------------------------------------------


async def test_register_creates_a_customer_and_signs_it_in(
    client: httpx.AsyncClient, database_url: str
) -> None:
    response = await register(client, "ada@example.com")
    assert response.status_code == 201
    assert response.headers["cache-control"] == "private, no-store"
    data = response.json()["data"]
    account = data["account"]
    assert response.headers["location"] == f"/api/v1/users/{account['id']}"
    assert set(account) == {"id", "email", "display_name", "role", "created_at"}
    assert account["role"] == "customer"
    assert data["token_type"] == "Bearer" and data["expires_in"] == 900
    stored = await row(database_url, "SELECT password_hash FROM users WHERE id = $1", account["id"])
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in response.text
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {data['access_token']}"}
    )
    assert me.json()["data"]["email"] == "ada@example.com"


async def test_duplicate_email_in_any_case_is_409_without_internals(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "grace@example.com")
    again = await register(client, "GRACE@Example.com")
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "CONFLICT"
    assert "users_email" not in again.text and "constraint" not in again.text.lower()
    graph = await gql(
        client,
        "mutation($i: RegisterInput!) { register(input: $i) { account { id } errors { code field message } } }",
        i={"email": "Grace@example.com", "password": PASSWORD, "displayName": "G"},
    )
    assert graph["data"]["register"] == {
        "account": None,
        "errors": [{"code": "CONFLICT", "field": None, "message": problem["detail"]}],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "display_name": "A"}, "email"),
        ({"email": "a@example.com", "password": "short", "display_name": "A"}, "password"),
        ({"email": "a@example.com", "password": "aaaaaaaaaaaa", "display_name": "A"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "display_name": ""}, "display_name"),
        ({"email": "a@example.com", "password": PASSWORD}, "display_name"),
        (
            {"email": "a@example.com", "password": PASSWORD, "display_name": "A\u0000"},
            "display_name",
        ),
        ({"email": 5, "password": PASSWORD, "display_name": "A"}, "email"),
        (
            {"email": "b@example.com", "password": PASSWORD, "display_name": "A", "role": "admin"},
            "role",
        ),
        ({"email": "c@example.com", "password": PASSWORD, "display_name": "A", "id": 1}, "id"),
    ],
)
async def test_bad_registrations_are_400_with_the_field_and_create_nothing(
    client: httpx.AsyncClient, database_url: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert field in [e["field"] for e in problem["errors"]]
    count = await row(database_url, "SELECT count(*) AS n FROM users WHERE role = 'admin'")
    assert count["n"] == 0


@pytest.mark.parametrize(
    "name",
    [
        "\x1b[31mRed\x1b[0m",  # ESC: terminal colours in someone's log viewer
        "Bell\x07",
        "Evil\u202egnp.exe",  # RIGHT-TO-LEFT OVERRIDE
        "Iso\u2066late\u2069",  # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
        "Mark\u200f",  # RIGHT-TO-LEFT MARK
        "Two\nLines",
        "Tab\there",
        "Line\u2028separator",
        "C1\x85control",
        "   ",
    ],
)
async def test_display_names_with_control_characters_are_refused(
    client: httpx.AsyncClient, database_url: str, name: str
) -> None:
    email = f"ctl-{abs(hash(name))}@example.com"
    response = await register(client, email, display_name=name)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert [e["field"] for e in problem["errors"]] == ["display_name"]
    graph = await gql(
        client,
        "mutation($i: RegisterInput!) { register(input: $i) { account { id } errors { code field } } }",
        i={"email": email, "password": PASSWORD, "displayName": name},
    )
    assert graph["data"]["register"] == {
        "account": None,
        "errors": [{"code": "VALIDATION_FAILED", "field": "displayName"}],
    }
    found = await row(database_url, "SELECT count(*) AS n FROM users WHERE email = $1", email)
    assert found["n"] == 0


@pytest.mark.parametrize(
    "name", ["Zoë Ångström", "李小龙", "عمر", "👩\u200d👩\u200d👧 family", "O'Brien-Smith"]
)
async def test_display_names_in_any_script_are_welcome(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await register(client, f"ok-{abs(hash(name))}@example.com", display_name=name)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["account"]["display_name"] == name


async def test_graphql_weak_password_is_a_user_error(client: httpx.AsyncClient) -> None:
    graph = await gql(
        client,
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken errors { code field } } }",
        i={"email": "weak@example.com", "password": "password123", "displayName": "W"},
    )
    assert graph["data"]["register"]["accessToken"] is None
    assert graph["data"]["register"]["errors"] == [
        {"code": "VALIDATION_FAILED", "field": "password"}
    ]


async def test_register_refuses_form_bodies_and_bad_json(client: httpx.AsyncClient) -> None:
    form = await client.post("/api/v1/auth/register", data={"email": "x"})
    assert form.status_code == 415
    broken = await client.post(
        "/api/v1/auth/register", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["code"] == "INVALID_JSON"
    nan = await client.post(
        "/api/v1/auth/register",
        content=b'{"email": NaN}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 400 and nan.json()["code"] == "INVALID_JSON"
    array = await client.post("/api/v1/auth/register", json=[1, 2])
    assert array.status_code == 400 and array.json()["code"] == "VALIDATION_FAILED"


# Login ---------------------------------------------------------------------------------------


async def test_login_in_both_styles(client: httpx.AsyncClient) -> None:
    await register(client, "linus@example.com")
    rest = await client.post(
        "/api/v1/auth/login", json={"email": "LINUS@example.com", "password": PASSWORD}
    )
    assert rest.status_code == 200
    assert rest.json()["data"]["account"]["email"] == "linus@example.com"
    graph = await gql(
        client,
        "mutation($i: LoginInput!) { login(input: $i) "
        "{ accessToken refreshToken tokenType expiresIn account { email role } errors { code } } }",
        i={"email": "linus@example.com", "password": PASSWORD},
    )
    login = graph["data"]["login"]
    assert login["account"] == {"email": "linus@example.com", "role": "CUSTOMER"}
    assert login["tokenType"] == "Bearer" and login["errors"] == []


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "linus2@example.com", "password": "wrong password!"},
        {"email": "nobody@example.com", "password": PASSWORD},
    ],
)
async def test_wrong_credentials_get_one_generic_401(
    client: httpx.AsyncClient, credentials: dict[str, str]
) -> None:
    await register(client, "linus2@example.com")
    rest = await client.post("/api/v1/auth/login", json=credentials)
    assert rest.status_code == 401
    assert rest.headers["www-authenticate"].startswith("Bearer")
    assert rest.json()["detail"] == "The email or password is not right."
    graph = await gql(
        client,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        i=credentials,
    )
    assert graph["data"] is None
    assert graph["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert graph["errors"][0]["message"] == "The email or password is not right."


async def test_seeded_accounts_without_a_password_cannot_log_in(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    someone = await actors.customer()  # password_hash '!'
    response = await client.post(
        "/api/v1/auth/login", json={"email": someone.email, "password": "!"}
    )
    assert response.status_code == 401


async def test_an_account_without_a_password_costs_a_full_check_like_any_other(
    settings: Settings, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A '!' hash used to fail at once (2 ms against 190 ms for a real check): a timing
    # oracle telling which accounts have no usable password. Every sign-in must run one
    # full argon2 verification at the real hashes' cost parameters, whether the account
    # exists, has no password, or has one. Counted at argon2's own verification (a spy
    # that still runs it), not timed: tests never assert on time.
    from dataclasses import replace

    import argon2._password_hasher as hasher

    from tests.conftest import app_client

    computed: list[str] = []
    verify = vars(hasher)["verify_secret"]  # argon2 calls it by this module-level name

    def counted(hash: bytes, secret: bytes, type: Any) -> bool:
        computed.append(hash.decode().split("$")[3])  # "m=...,t=...,p=..."
        return bool(verify(hash, secret, type))

    monkeypatch.setattr(hasher, "verify_secret", counted)
    without = await actors.customer()  # password_hash '!'
    async with app_client(replace(settings, login_failures_per_account=10_000)) as http:
        await register(http, "timed@example.com")
        assert settings.database_url is not None
        conn = await asyncpg.connect(settings.database_url)
        try:
            stored = await conn.fetchval(
                "SELECT password_hash FROM users WHERE email = $1", "timed@example.com"
            )
        finally:
            await conn.close()
        real_cost = stored.split("$")[3]
        for email in ("timed@example.com", without.email, "nobody-at-all@example.com"):
            computed.clear()
            answer = await http.post(
                "/api/v1/auth/login", json={"email": email, "password": "wrong password!"}
            )
            assert answer.status_code == 401
            assert computed == [real_cost], (email, computed)


# Refresh -------------------------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_whole_sign_in(
    client: httpx.AsyncClient, database_url: str
) -> None:
    first = (await register(client, "rot@example.com")).json()["data"]
    second = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    rotated = second.json()["data"]
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["account"]["email"] == "rot@example.com"
    # Past the grace window (tests/services/test_sessions.py covers the window itself)...
    await row(
        database_url,
        "UPDATE refresh_tokens SET used_at = now() - interval '11 seconds' "
        "WHERE used_at IS NOT NULL AND user_id = $1",
        rotated["account"]["id"],
    )
    # ...the spent token again: refused, and it takes the rotated one down with it.
    reuse = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "UNAUTHENTICATED"
    graph = await gql(
        client,
        "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
        t=rotated["refresh_token"],
    )
    assert graph["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_graphql_refresh_rotates(client: httpx.AsyncClient) -> None:
    first = (await register(client, "rot2@example.com")).json()["data"]
    graph = await gql(
        client,
        "mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken account { email } } }",
        t=first["refresh_token"],
    )
    assert graph["data"]["refreshToken"]["account"] == {"email": "rot2@example.com"}
    assert graph["data"]["refreshToken"]["refreshToken"] != first["refresh_token"]


@pytest.mark.parametrize(
    "body",
    [
        {"refresh_token": "garbage"},
        {"refresh_token": "0" * 32 + "." + "A" * 43},
        {"refresh_token": ""},
    ],
)
async def test_bad_refresh_tokens_are_401(client: httpx.AsyncClient, body: dict[str, str]) -> None:
    response = await client.post("/api/v1/auth/refresh", json=body)
    assert response.status_code == 401


async def test_refresh_body_must_hold_only_the_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"token": "x"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "refresh_token"


# Me and public profiles -------------------------------------------------------------------


async def test_me_needs_a_token_in_both_styles(client: httpx.AsyncClient, actors: Actors) -> None:
    anonymous = await client.get("/api/v1/users/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    graph = await gql(client, "{ me { email } }")
    assert graph["data"] == {"me": None}
    assert graph["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    someone = await actors.customer("Someone")
    mine = await gql(client, "{ me { id email displayName role } }", headers=someone.headers)
    assert mine["data"]["me"] == {
        "id": str(someone.user_id),
        "email": someone.email,
        "displayName": "Someone",
        "role": "CUSTOMER",
    }


async def test_public_profiles_show_no_email_or_role(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    someone = await actors.admin("Boss")
    rest = await client.get(f"/api/v1/users/{someone.user_id}")
    assert rest.json() == {"data": {"id": someone.user_id, "display_name": "Boss"}}
    assert (await client.get("/api/v1/users/987654")).status_code == 404
    graph = await gql(
        client, "query($id: ID!) { user(id: $id) { id displayName } }", id=str(someone.user_id)
    )
    assert graph["data"]["user"] == {"id": str(someone.user_id), "displayName": "Boss"}
    leak = await gql(client, "query($id: ID!) { user(id: $id) { email } }", id=str(someone.user_id))
    assert leak["_status"] == 400  # User has no email field at all


# The token rejection matrix --------------------------------------------------------------


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "1",
        "role": "admin",
        "iss": "gateway",
        "aud": "gateway-api",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], algorithm: str = "HS256", key: str = TEST_JWT_SECRET) -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def tampered() -> str:
    head, _, sig = signed(claims()).split(".")
    return f"{head}.{b64(claims(sub='2'))}.{sig}"


REJECTED = {
    "malformed": "not.a.jwt",
    "garbage": "abc",
    "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}.",
    "wrong algorithm HS512": signed(claims(), "HS512"),
    "RS256 header": f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims())}.c2ln",
    "expired beyond leeway": signed(claims(exp=int(time.time()) - 60)),
    "wrong audience": signed(claims(aud="someone-else")),
    "wrong issuer": signed(claims(iss="evil")),
    "nbf in the future": signed(claims(nbf=int(time.time()) + 120)),
    "tampered payload": tampered(),
    "wrong secret": signed(claims(), key="another-secret-" + "y" * 60),
    "no exp": signed(claims(exp=None)),
    "no sub": signed(claims(sub=None)),
    "non-numeric sub": signed(claims(sub="admin")),
    "sub beyond bigint (2**70)": signed(claims(sub=str(2**70))),
    "sub 2**63": signed(claims(sub=str(2**63))),
    "sub with a superscript digit": signed(claims(sub="1\u00b2")),
    "sub with a trailing newline": signed(claims(sub="1\n")),
    "sub zero": signed(claims(sub="0")),
    "non-integer token version": signed(claims(ver="0")),
    "malformed sid": signed(claims(sid="not-a-session")),
    "unknown role": signed(claims(role="root")),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
async def test_bad_tokens_are_rejected_alike_in_both_styles(
    client: httpx.AsyncClient, name: str
) -> None:
    headers = {"Authorization": f"Bearer {REJECTED[name]}"}
    rest = await client.get("/api/v1/users/me", headers=headers)
    assert rest.status_code == 401
    assert rest.json()["detail"] == INVALID
    assert rest.headers["www-authenticate"].startswith("Bearer")
    graph = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
    assert graph.status_code == 401
    # In the shape GraphQL clients read errors in.
    (error,) = graph.json()["errors"]
    assert (error["message"], error["extensions"]["code"]) == (INVALID, "UNAUTHENTICATED")
    assert graph.headers["www-authenticate"].startswith("Bearer")
    # Even a public catalogue read refuses a broken credential instead of ignoring it.
    assert (await client.get("/api/v1/products", headers=headers)).status_code == 401


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
async def test_other_schemes_and_empty_bearer_are_401(
    client: httpx.AsyncClient, header: str
) -> None:
    response = await client.get("/api/v1/users/me", headers={"Authorization": header})
    assert response.status_code == 401


async def test_expiry_within_the_leeway_is_accepted(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    someone = await actors.customer()
    token = signed(claims(sub=str(someone.user_id), role="customer", exp=int(time.time()) - 3))
    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_token_of_a_deleted_account_is_401(
    client: httpx.AsyncClient, actors: Actors, database_url: str
) -> None:
    someone = await actors.customer()
    await row(database_url, "DELETE FROM users WHERE id = $1", someone.user_id)
    assert (await client.get("/api/v1/users/me", headers=someone.headers)).status_code == 401


# Production secrets ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "short-secret"])
def test_production_refuses_to_start_without_a_strong_secret(
    settings: Settings, secret: str | None
) -> None:
    from dataclasses import replace

    with pytest.raises(SettingsError, match="JWT_SECRET"):
        create_app(replace(settings, env="production", jwt_secret=secret))


def test_development_without_a_secret_generates_one(settings: Settings) -> None:
    from dataclasses import replace

    assert create_app(replace(settings, jwt_secret=None)) is not None

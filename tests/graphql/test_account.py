"""graphql/account.py: the session payload's flat shape, which account failures are user errors
and which stay top-level, the Role enum, and the me/user lookups (reference path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Actors, app_settings, reference
from tests.support import gql

pytestmark = pytest.mark.anyio

SESSION = "account { email role } accessToken refreshToken tokenType expiresIn"
REGISTER = f"""mutation($input: RegisterInput!) {{ register(input: $input) {{
    {SESSION} errors {{ code field message }} }} }}"""
LOGIN = f"""mutation($input: LoginInput!) {{ login(input: $input) {{
    {SESSION} errors {{ code }} }} }}"""


@pytest.fixture(scope="module")
async def ref(database_url: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(app_settings(database_url, redis_url)) as http:
        yield http


async def as_caller(
    http: httpx.AsyncClient, query: str, headers: dict[str, str], **variables: Any
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


async def test_a_session_is_flattened_into_the_payload(ref: httpx.AsyncClient) -> None:
    data = {"email": "flat@example.com", "password": "a long enough pass", "displayName": "Flat"}
    payload = (await gql(ref, REGISTER, input=data)).json()["data"]["register"]
    assert payload["account"] == {"email": "flat@example.com", "role": "CUSTOMER"}
    assert payload["tokenType"] == "Bearer"
    assert payload["expiresIn"] > 0
    assert payload["accessToken"] and payload["refreshToken"]
    assert payload["errors"] == []


async def test_a_refused_registration_is_all_null_but_its_errors(ref: httpx.AsyncClient) -> None:
    data = {"email": "short@example.com", "password": "x", "displayName": "Short"}
    payload = (await gql(ref, REGISTER, input=data)).json()["data"]["register"]
    assert {key: payload[key] for key in payload if key != "errors"} == {
        "account": None,
        "accessToken": None,
        "refreshToken": None,
        "tokenType": None,
        "expiresIn": None,
    }
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("VALIDATION_FAILED", "password")
    ]


async def test_a_wrong_password_is_a_top_level_error_not_a_user_error(
    ref: httpx.AsyncClient,
) -> None:
    data = {"email": "who@example.com", "password": "a long enough pass", "displayName": "Who"}
    await gql(ref, REGISTER, input=data)
    response = await gql(ref, LOGIN, input={"email": "who@example.com", "password": "wrong one"})
    body = response.json()
    assert body["data"] is None  # login's payload is non-null
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["login"]


async def test_logging_out_an_unknown_token_is_no_error(ref: httpx.AsyncClient) -> None:
    query = 'mutation { logout(refreshToken: "unknown") { signedOut errors { code } } }'
    assert (await gql(ref, query)).json()["data"] == {"logout": {"signedOut": True, "errors": []}}


async def test_set_user_role_maps_the_enum_and_reports_a_bad_id_in_the_payload(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    admin, customer = await actors.admin(), await actors.customer()
    query = """mutation($id: ID!) { setUserRole(id: $id, role: ADMIN) {
        account { id role } errors { code field } } }"""
    promoted = await as_caller(ref, query, admin.headers, id=str(customer.user_id))
    assert promoted["data"]["setUserRole"] == {
        "account": {"id": str(customer.user_id), "role": "ADMIN"},
        "errors": [],
    }
    bad = await as_caller(ref, query, admin.headers, id="not-an-id")
    assert bad["data"]["setUserRole"] == {
        "account": None,
        "errors": [{"code": "INVALID_PARAMETER", "field": "id"}],
    }


async def test_set_user_role_by_a_customer_is_a_top_level_forbidden(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    query = """mutation($id: ID!) { setUserRole(id: $id, role: ADMIN) { errors { code } } }"""
    body = await as_caller(ref, query, customer.headers, id=str(customer.user_id))
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_me_is_the_callers_account_and_user_a_public_profile(
    ref: httpx.AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer("Ada")
    query = """query($id: ID!) { me { id email role displayName }
        user(id: $id) { id displayName } }"""
    body = await as_caller(ref, query, customer.headers, id=str(customer.user_id))
    assert body["data"] == {
        "me": {
            "id": str(customer.user_id),
            "email": customer.email,
            "role": "CUSTOMER",
            "displayName": "Ada",
        },
        "user": {"id": str(customer.user_id), "displayName": "Ada"},
    }


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ me { id } }", "UNAUTHENTICATED"),
        ('{ user(id: "abc") { id } }', "INVALID_PARAMETER"),
        ('{ user(id: "123456") { id } }', "NOT_FOUND"),
    ],
)
async def test_lookups_that_fail_are_null_with_a_code(
    ref: httpx.AsyncClient, query: str, code: str
) -> None:
    body = (await gql(ref, query)).json()
    assert list(body["data"].values()) == [None]
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]

"""REST operations on /api/v1/auth/* and /api/v1/users/*."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from starlette.responses import Response

from gateway.errors import NotFound, Unauthenticated
from gateway.http.identity import address_of
from gateway.http.responses import JSONResponse
from gateway.rest import reading, reference
from gateway.rest.schemas import AccountOut, SessionOut, UserProfile
from gateway.rest.spec import Answer, Call, NoQuery, Operation
from gateway.services import accounts, sessions
from gateway.services.validation import Input, Text, validate


class RefreshInput(Input):
    """A refresh token to trade for a new pair, or to end its sign-in with."""

    refresh_token: Annotated[Text, Field(max_length=200)]


async def register(call: Call[NoQuery]) -> Response:
    session = await sessions.register(call.resources, await call.body())
    location = {"Location": f"/api/v1/users/{session.account['id']}"}
    return JSONResponse({"data": session.as_dict()}, status_code=201, headers=location)


async def login(call: Call[NoQuery]) -> Response:
    body = await call.body()
    session = await sessions.login(call.resources, body, address=address_of(call.request.scope))
    return JSONResponse({"data": session.as_dict()})


async def refresh(call: Call[NoQuery]) -> Response:
    token = validate(RefreshInput, await call.body()).refresh_token
    session = await sessions.refresh(call.resources, token)
    return JSONResponse({"data": session.as_dict()})


async def logout(call: Call[NoQuery]) -> Response:
    token = validate(RefreshInput, await call.body()).refresh_token
    await sessions.logout(call.resources, token)
    return Response(status_code=204)


async def me(call: Call[NoQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.me(call)
    absent = Unauthenticated(accounts.BAD_CREDENTIALS)
    return await reading.read_one(call, "Account", "{t}.id = {user}", None, absent)


async def change_password(call: Call[NoQuery]) -> Response:
    session = await sessions.change_password(
        call.resources,
        call.principal,
        await call.body(),
        address=address_of(call.request.scope),
    )
    return JSONResponse({"data": session.as_dict()})


async def user(call: Call[NoQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.user(call)
    user_id = call.path_id()
    absent = NotFound(f"User {user_id} does not exist.")
    return await reading.read_one(call, "User", "{t}.id = {v}", user_id, absent)


async def set_user_role(call: Call[NoQuery]) -> Response:
    account = await accounts.set_role(
        call.resources, call.principal, call.path_id(), await call.body()
    )
    return JSONResponse({"data": account})


_TAG = "accounts"
_SESSION = Answer(schema=SessionOut, description="Signed in.")

OPERATIONS: list[Operation[Any]] = [
    Operation(
        "POST",
        "/auth/register",
        register,
        "Create a customer account and sign in",
        _TAG,
        NoQuery,
        Answer(201, SessionOut, "Registered and signed in.", headers=("Location",)),
        body=accounts.RegisterInput,
        errors=(409,),
        per_user=True,
    ),
    Operation(
        "POST",
        "/auth/login",
        login,
        "Sign in",
        _TAG,
        NoQuery,
        _SESSION,
        description="A wrong email or password is 401 with one message for both. Failed "
        "attempts are limited per account (5 in 15 minutes) and per client address (50 a "
        "minute); past either, 429 with Retry-After and that limit's RateLimit-* headers. "
        "Successful sign-ins are not counted.",
        body=sessions.LoginInput,
        per_user=True,
    ),
    Operation(
        "POST",
        "/auth/refresh",
        refresh,
        "Trade a refresh token for a new pair",
        _TAG,
        NoQuery,
        _SESSION,
        description="The old refresh token is spent. Presented again within the grace "
        "window (10 s), it gets the same new pair (two tabs refreshing at once); after it, "
        "the whole sign-in is revoked (401).",
        body=RefreshInput,
        per_user=True,
    ),
    Operation(
        "POST",
        "/auth/logout",
        logout,
        "Sign out",
        _TAG,
        NoQuery,
        Answer(204, description="Signed out (also when the token was unknown or spent)."),
        description="Revokes every refresh token of the sign-in this one belongs to, and the "
        "access tokens issued with them (within seconds on every server).",
        body=RefreshInput,
        per_user=True,
    ),
    Operation(
        "GET",
        "/users/me",
        me,
        "Your account",
        _TAG,
        NoQuery,
        Answer(schema=AccountOut, description="The signed-in account."),
        access="user",
        per_user=True,
    ),
    Operation(
        "POST",
        "/users/me/password",
        change_password,
        "Change your password",
        _TAG,
        NoQuery,
        Answer(schema=SessionOut, description="Changed; a new sign-in for this client."),
        description="Needs the current password (a wrong one counts as a failed sign-in). "
        "Every access and refresh token of the account stops working; the answer carries a "
        "fresh pair for the caller.",
        body=sessions.ChangePasswordInput,
        access="user",
        per_user=True,
    ),
    Operation(
        "GET",
        "/users/{id}",
        user,
        "A user's public profile",
        _TAG,
        NoQuery,
        Answer(schema=UserProfile, description="Id and display name; never an email."),
        errors=(404,),
    ),
    Operation(
        "PATCH",
        "/users/{id}",
        set_user_role,
        "Change an account's role (admin)",
        _TAG,
        NoQuery,
        Answer(schema=AccountOut, description="The account with its new role."),
        description='`{"role": "admin"}` or `{"role": "customer"}`. The account\'s '
        "access tokens stop working within seconds (its refresh tokens then get tokens of "
        "the new role). The last admin cannot be made a customer (409).",
        body=accounts.RoleInput,
        access="admin",
        errors=(404, 409),
        per_user=True,
    ),
]

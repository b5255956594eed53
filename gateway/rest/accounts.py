"""REST operations on /api/v1/auth/* and /api/v1/users/*."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from starlette.responses import Response

from gateway.errors import NotFound, RateLimited, Unauthenticated
from gateway.middleware.authentication import identity_of
from gateway.responses import JSONResponse
from gateway.rest import reading, reference
from gateway.rest.schemas import AccountOut, SessionOut, UserProfile
from gateway.rest.spec import Answer, Call, NoQuery, Operation
from gateway.services import accounts
from gateway.validation import Input, Text, validate


class RefreshInput(Input):
    """A refresh token to trade for a new pair."""

    refresh_token: Annotated[Text, Field(max_length=200)]


async def register(call: Call[NoQuery]) -> Response:
    session = await accounts.register(call.resources, await call.body())
    location = {"Location": f"/api/v1/users/{session.account['id']}"}
    return JSONResponse({"data": session.as_dict()}, status_code=201, headers=location)


async def login(call: Call[NoQuery]) -> Response:
    decision = await call.resources.limiter.charge(identity_of(call.request.scope), "login")
    if not decision.allowed:
        raise RateLimited(decision.reset, "Too many sign-in attempts; wait before trying again.")
    session = await accounts.login(call.resources, await call.body())
    return JSONResponse({"data": session.as_dict()})


async def refresh(call: Call[NoQuery]) -> Response:
    token = validate(RefreshInput, await call.body()).refresh_token
    session = await accounts.refresh(call.resources, token)
    return JSONResponse({"data": session.as_dict()})


async def me(call: Call[NoQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.me(call)
    absent = Unauthenticated(accounts.BAD_CREDENTIALS)
    return await reading.read_one(call, "Account", "{t}.id = {user}", None, absent)


async def user(call: Call[NoQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.user(call)
    user_id = call.path_id()
    absent = NotFound(f"User {user_id} does not exist.")
    return await reading.read_one(call, "User", "{t}.id = {v}", user_id, absent)


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
        description="A wrong email or password is 401 with one message for both; "
        "attempts are rate limited per caller (429).",
        body=accounts.LoginInput,
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
        description="The old refresh token stops working; presenting it again revokes the "
        "whole sign-in (401).",
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
        "GET",
        "/users/{id}",
        user,
        "A user's public profile",
        _TAG,
        NoQuery,
        Answer(schema=UserProfile, description="Id and display name; never an email."),
        errors=(404,),
    ),
]

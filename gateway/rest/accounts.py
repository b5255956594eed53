"""REST handlers for /api/v1/auth/* and /api/v1/users/*."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.bodies import json_body
from gateway.errors import FieldError, RateLimited, ValidationFailed
from gateway.middleware.authentication import identity_of, principal_of
from gateway.responses import JSONResponse
from gateway.rest import params
from gateway.services import accounts
from gateway.types import Resources

_NO_STORE = {"Cache-Control": "private, no-store"}


async def register(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    session = await accounts.register(resources, await json_body(request))
    user_id = session.account["id"]
    headers = {**_NO_STORE, "Location": f"/api/v1/users/{user_id}"}
    return JSONResponse({"data": session.as_dict()}, status_code=201, headers=headers)


async def login(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    decision = await resources.limiter.charge(identity_of(request.scope), "login")
    if not decision.allowed:
        raise RateLimited(decision.reset, "Too many sign-in attempts; wait before trying again.")
    session = await accounts.login(resources, await json_body(request))
    return JSONResponse({"data": session.as_dict()}, headers=_NO_STORE)


async def refresh(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    body: Any = await json_body(request)
    token = body.get("refresh_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or set(body) != {"refresh_token"}:
        raise ValidationFailed(
            [FieldError("refresh_token", 'required: the body is {"refresh_token": "..."}')]
        )
    session = await accounts.refresh(resources, token)
    return JSONResponse({"data": session.as_dict()}, headers=_NO_STORE)


async def me(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    account = await accounts.me(resources, principal_of(request.scope))
    return JSONResponse({"data": account}, headers=_NO_STORE)


async def user(request: Request) -> Response:
    params.only(request, set())
    resources: Resources = request.state.resources
    profile = await accounts.public_profile(resources, params.path_id(request))
    return JSONResponse({"data": profile})

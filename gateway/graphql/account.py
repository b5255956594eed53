"""Accounts in GraphQL: register, login, refreshToken, logout, changePassword, setUserRole,
me, user, and the Account and User types."""

from __future__ import annotations

from typing import Any

from ariadne import EnumType, MutationType, ObjectType

from gateway.errors import RateLimited
from gateway.graphql.context import Info
from gateway.graphql.payloads import payload
from gateway.ids import parse_id
from gateway.services import accounts, sessions

mutation = MutationType()
account_query = ObjectType("Query")
role_enum = EnumType("Role", {"CUSTOMER": "customer", "ADMIN": "admin"})


async def _session(operation: Any) -> dict[str, Any]:
    result = await payload("session", operation)
    session = result.pop("session")
    return {**(session.as_dict() if session else {}), "errors": result["errors"]}


@mutation.field("register")
async def resolve_register(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    return await _session(sessions.register(info.context.resources, input))


@mutation.field("login")
async def resolve_login(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    # A wrong password is an authentication failure: a top-level UNAUTHENTICATED error.
    # Past the sign-in limits, RATE_LIMITED, and the endpoint answers 429 with their headers.
    context = info.context
    try:
        return await _session(sessions.login(context.resources, input, address=context.address))
    except RateLimited as refused:
        context.refused = refused
        raise


@mutation.field("refreshToken")
async def resolve_refresh(_: None, info: Info, refresh_token: str) -> dict[str, Any]:
    return await _session(sessions.refresh(info.context.resources, refresh_token))


@mutation.field("logout")
async def resolve_logout(_: None, info: Info, refresh_token: str) -> dict[str, Any]:
    async def sign_out() -> bool:
        await sessions.logout(info.context.resources, refresh_token)
        return True

    result = await payload("signed_out", sign_out())
    return {"signed_out": bool(result["signed_out"]), "errors": result["errors"]}


@mutation.field("changePassword")
async def resolve_change_password(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    context = info.context
    try:
        return await _session(
            sessions.change_password(
                context.resources, context.principal, input, address=context.address
            )
        )
    except RateLimited as refused:
        context.refused = refused
        raise


@mutation.field("setUserRole")
async def resolve_set_user_role(_: None, info: Info, id: str, role: str) -> dict[str, Any]:
    async def change() -> dict[str, Any]:
        context = info.context
        return await accounts.set_role(
            context.resources, context.principal, parse_id(id), {"role": role}
        )

    return await payload("account", change())


@account_query.field("me")
async def resolve_me(_: None, info: Info) -> dict[str, Any]:
    return await accounts.me(info.context.resources, info.context.principal)


@account_query.field("user")
async def resolve_user(_: None, info: Info, id: str) -> dict[str, Any]:
    return await accounts.public_profile(info.context.resources, parse_id(id))

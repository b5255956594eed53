"""Accounts in GraphQL: register, login, refreshToken, me, user, and the Account and User types."""

from __future__ import annotations

from typing import Any

from ariadne import EnumType, MutationType, ObjectType

from gateway.graphql.context import Info
from gateway.graphql.payloads import payload
from gateway.ids import parse_id
from gateway.services import accounts

mutation = MutationType()
account_query = ObjectType("Query")
role_enum = EnumType("Role", {"CUSTOMER": "customer", "ADMIN": "admin"})


async def _session(operation: Any) -> dict[str, Any]:
    result = await payload("session", operation)
    session = result.pop("session")
    return {**(session.as_dict() if session else {}), "errors": result["errors"]}


@mutation.field("register")
async def resolve_register(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    return await _session(accounts.register(info.context.resources, input))


@mutation.field("login")
async def resolve_login(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    # A wrong password is an authentication failure: a top-level UNAUTHENTICATED error.
    # The login allowance is charged per `login` field by the endpoint before execution.
    return await _session(accounts.login(info.context.resources, input))


@mutation.field("refreshToken")
async def resolve_refresh(_: None, info: Info, refresh_token: str) -> dict[str, Any]:
    return await _session(accounts.refresh(info.context.resources, refresh_token))


@account_query.field("me")
async def resolve_me(_: None, info: Info) -> dict[str, Any]:
    return await accounts.me(info.context.resources, info.context.principal)


@account_query.field("user")
async def resolve_user(_: None, info: Info, id: str) -> dict[str, Any]:
    return await accounts.public_profile(info.context.resources, parse_id(id))

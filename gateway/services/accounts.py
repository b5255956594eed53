"""Accounts and sessions: register, sign in, refresh (rotating), the caller's account, profiles.

Nothing here is cached: account data is per user, and tokens must take effect at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from gateway import passwords
from gateway.db import ConstraintViolation, Row
from gateway.errors import Conflict, FieldError, NotFound, Unauthenticated, ValidationFailed
from gateway.principal import Principal, Role, require_user
from gateway.services import caching
from gateway.tokens import RefreshToken
from gateway.types import Resources
from gateway.validation import Input, Text, validate

log = logging.getLogger("gateway.accounts")

STATEMENTS = (
    "users.insert",
    "users.credentials_by_email",
    "users.account_by_id",
    "users.public_by_ids",
    "users.set_password",
    "refresh_tokens.insert",
    "refresh_tokens.use",
    "refresh_tokens.family_of",
    "refresh_tokens.revoke_family",
)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
BAD_CREDENTIALS = "The email or password is not right."
BAD_REFRESH = "The refresh token is not valid; sign in again."

Account = dict[str, Any]
Profile = dict[str, Any]


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("must be an email address")
    return value


Email = Annotated[
    Text,
    Field(json_schema_extra={"pattern": _EMAIL.pattern, "maxLength": 254}),
    AfterValidator(_email),
]


class RegisterInput(Input):
    """A new customer account."""

    email: Email
    password: Annotated[
        Text,
        Field(
            description=f"{passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters, at least "
            "4 different ones, not a common password and not the email."
        ),
    ]
    display_name: Annotated[Text, Field(min_length=1, max_length=100)]


class LoginInput(Input):
    """Credentials."""

    email: Annotated[Text, Field(max_length=254)]
    password: Annotated[Text, Field(max_length=passwords.MAX_LENGTH)]


@dataclass(frozen=True, slots=True)
class Session:
    """What a successful register, login or refresh hands back."""

    account: Account
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }


def account_from_row(row: Row) -> Account:
    return {
        "id": row["id"],
        "email": row["email"],
        "display_name": row["display_name"],
        "role": row["role"],
        "created_at": row["created_at"],
    }


async def register(resources: Resources, data: Any) -> Session:
    """Create a customer account and sign it in.

    Raises ValidationFailed (bad fields, weak password) or Conflict (email taken, any case).
    """
    new = validate(RegisterInput, data)
    weak = passwords.problems(new.password, email=new.email)
    if weak:
        raise ValidationFailed([FieldError("password", "; ".join(weak))])
    account = await create_account(
        resources, email=new.email, password=new.password, display_name=new.display_name
    )
    return await _start_session(resources, account)


async def create_account(
    resources: Resources,
    *,
    email: str,
    password: str,
    display_name: str,
    role: Role = "customer",
) -> Account:
    """Insert an account with a hashed password; Conflict when the email is taken."""
    password_hash = await passwords.hash_password(password)
    try:
        row = await resources.db.fetch_one(
            "users.insert",
            {
                "email": email,
                "display_name": display_name,
                "password_hash": password_hash,
                "role": role,
            },
        )
    except ConstraintViolation as exc:
        if exc.kind == "unique":
            raise Conflict("An account with this email already exists.") from None
        raise
    assert row is not None
    return account_from_row(row)


async def login(resources: Resources, data: Any) -> Session:
    """Sign in; Unauthenticated with one generic message for any wrong email or password."""
    credentials = validate(LoginInput, data)
    row = await resources.db.fetch_one(
        "users.credentials_by_email", {"email": credentials.email}, primary=True
    )
    # Verify even when there is no such account, so timing does not reveal registered emails.
    ok = await passwords.verify_password(
        row["password_hash"] if row else None, credentials.password
    )
    if row is None or not ok:
        raise Unauthenticated(BAD_CREDENTIALS)
    account = await account_by_id(resources, row["id"])
    return await _start_session(resources, account)


async def refresh(resources: Resources, presented: str) -> Session:
    """Rotate a refresh token: the presented one is spent, a new pair is issued.

    Presenting a token that was already used revokes every token of its sign-in (a stolen
    token and its legitimate twin both stop working). Raises Unauthenticated.
    """
    token = RefreshToken.parse(presented)
    keys = {"id": token.id, "secret_hash": token.secret_hash}
    async with resources.db.transaction():
        row = await resources.db.fetch_one("refresh_tokens.use", keys)
        if row is not None:
            account = await account_by_id(resources, row["user_id"])
            return await _start_session(resources, account, family_id=row["family_id"])
    family = await resources.db.fetch_val("refresh_tokens.family_of", keys, primary=True)
    if family is not None:
        await resources.db.execute("refresh_tokens.revoke_family", {"family_id": family})
        log.warning("refresh token reused or expired; its sign-in was revoked")
    raise Unauthenticated(BAD_REFRESH)


async def me(resources: Resources, principal: Principal) -> Account:
    """The caller's own account (with email); Unauthenticated when anonymous."""
    user_id = require_user(principal)
    try:
        return await account_by_id(resources, user_id)
    except NotFound:
        # A valid token for an account deleted since: treat like any invalid credential.
        raise Unauthenticated(BAD_CREDENTIALS) from None


async def account_by_id(resources: Resources, user_id: int) -> Account:
    # Accounts are read from the primary: a replica may not have a just-created one yet.
    row = await resources.db.fetch_one("users.account_by_id", {"id": user_id}, primary=True)
    if row is None:
        raise NotFound(f"User {user_id} does not exist.")
    return account_from_row(row)


async def public_profiles(resources: Resources, ids: Sequence[int]) -> list[Profile | None]:
    """Public profiles (id, display name) for `ids`, in order; None where absent."""
    rows = await resources.db.fetch_all("users.public_by_ids", {"ids": list(set(ids))})
    found = {r["id"]: {"id": r["id"], "display_name": r["display_name"]} for r in rows}
    return [found.get(i) for i in ids]


async def public_profile(resources: Resources, user_id: int) -> Profile:
    """One public profile; NotFound when there is no such user."""

    async def load() -> Profile:
        (profile,) = await public_profiles(resources, [user_id])
        if profile is None:
            raise NotFound(f"User {user_id} does not exist.")
        return profile

    found: Profile = await caching.entity(resources, "user", [user_id], caching.USERS, load)
    return found


async def set_password(resources: Resources, email: str, password: str) -> bool:
    """Replace an account's password (operators, development accounts); False if no account."""
    password_hash = await passwords.hash_password(password)
    found = await resources.db.fetch_val(
        "users.set_password", {"email": email, "password_hash": password_hash}
    )
    return found is not None


async def _start_session(
    resources: Resources, account: Account, *, family_id: Any = None
) -> Session:
    token = RefreshToken.new()
    await resources.db.execute(
        "refresh_tokens.insert",
        {
            "id": token.id,
            "family_id": family_id or token.id,
            "user_id": account["id"],
            "secret_hash": token.secret_hash,
            "ttl": float(resources.settings.refresh_token_ttl),
        },
    )
    return Session(
        account=account,
        access_token=resources.tokens.issue(account["id"], account["role"]),
        refresh_token=str(token),
        expires_in=resources.tokens.ttl,
    )

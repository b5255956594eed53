"""Sessions: register and sign in, refresh (rotating, with a grace window), sign out,
change the password, and the check that keeps a signed token from outliving its account.

A sign-in is a family of refresh tokens: each refresh spends one and issues its successor.
Presenting a spent token again revokes the family (a stolen token and its legitimate twin
both stop working), except within REFRESH_GRACE_SECONDS of its first use: then it is the
same client racing itself (two tabs, a retry), and it gets the very pair the first use got.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from gateway import passwords, telemetry
from gateway.db import Row
from gateway.errors import FieldError, NotFound, Unauthenticated, ValidationFailed
from gateway.principal import Principal, require_user
from gateway.revocation import AccountState
from gateway.services import accounts
from gateway.services.accounts import BAD_CREDENTIALS, Account
from gateway.services.resources import Resources
from gateway.services.validation import Input, Text, validate
from gateway.tokens import INVALID, LEEWAY_SECONDS, RefreshToken

log = logging.getLogger("gateway.sessions")

STATEMENTS = (
    "users.credentials_by_email",
    "users.password_hash_by_id",
    "users.session_state",
    "users.change_password",
    "refresh_tokens.insert",
    "refresh_tokens.use",
    "refresh_tokens.spent",
    "refresh_tokens.revoke_family",
    "refresh_tokens.revoke_user",
)

BAD_REFRESH = "The refresh token is not valid; sign in again."
WRONG_CURRENT = "is not your current password"


class LoginInput(Input):
    """Credentials."""

    email: Annotated[Text, Field(max_length=254)]
    password: Annotated[Text, Field(max_length=passwords.MAX_LENGTH)]


class ChangePasswordInput(Input):
    """The current password, and the one to replace it."""

    current_password: Annotated[Text, Field(max_length=passwords.MAX_LENGTH)]
    new_password: Annotated[
        Text,
        Field(
            description=f"{passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters, at least "
            "4 different ones, not a common password and not the email."
        ),
    ]


@dataclass(frozen=True, slots=True)
class Session:
    """What a successful register, login, refresh or password change hands back."""

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


async def register(resources: Resources, data: Any) -> Session:
    """Create a customer account and sign it in.

    Raises ValidationFailed (bad fields, weak password) or Conflict (email taken, any case).
    """
    new = validate(accounts.RegisterInput, data)
    weak = passwords.problems(new.password, email=new.email)
    if weak:
        raise ValidationFailed([FieldError("password", "; ".join(weak))])
    row = await accounts.create_account(
        resources, email=new.email, password=new.password, display_name=new.display_name
    )
    return await _start(resources, row)


async def login(resources: Resources, data: Any, *, address: str) -> Session:
    """Sign in from client `address`.

    Raises Unauthenticated (one generic message for any wrong email or password) or
    RateLimited once the account or the address has had its fill of failures.
    """
    credentials = validate(LoginInput, data)
    attempt = await resources.limiter.begin_sign_in(credentials.email, address)
    try:
        row = await resources.db.fetch_one(
            "users.credentials_by_email", {"email": credentials.email}, primary=True
        )
        # Verify even when there is no such account (or it has no usable password), so
        # timing does not tell which emails are registered.
        ok = await passwords.verify_password(
            row["password_hash"] if row else None, credentials.password
        )
    except BaseException:
        await attempt.abandoned()
        raise
    if row is None or not ok:
        raise Unauthenticated(BAD_CREDENTIALS)
    await attempt.succeeded()
    return await _start(resources, await accounts.account_row(resources, row["id"]))


async def refresh(resources: Resources, presented: str) -> Session:
    """Trade a refresh token for a new pair; the presented one is spent.

    Within the grace window a spent token gets the pair its first use got; after it, the
    whole sign-in is revoked. Raises Unauthenticated.
    """
    token = RefreshToken.parse(presented)
    successor = resources.tokens.successor(token)
    keys = {"id": token.id, "secret_hash": token.secret_hash}
    async with resources.db.transaction():
        won = await resources.db.fetch_one(
            "refresh_tokens.use", {**keys, "successor": successor.id}
        )
        if won is not None:
            row = await _account_or_401(resources, won["user_id"])
            return await _start(resources, row, family=_uuid(won["family_id"]), token=successor)
    # Lost the race, or a spent, revoked or expired token. `use` waited for any competing
    # refresh of the same token to commit, so its successor is visible here.
    spent = await resources.db.fetch_one(
        "refresh_tokens.spent",
        {**keys, "grace": float(resources.settings.refresh_grace_seconds)},
        primary=True,
    )
    if spent is None:
        raise Unauthenticated(BAD_REFRESH)
    replaced_by = spent["replaced_by"]
    if (
        spent["in_grace"]
        and spent["successor_live"]
        and replaced_by is not None
        and _uuid(replaced_by) == successor.id
    ):
        row = await _account_or_401(resources, spent["user_id"])
        family = _uuid(spent["family_id"])
        return _session(resources, row, family, successor, spent["successor_issued_at"])
    await resources.db.execute("refresh_tokens.revoke_family", {"family_id": spent["family_id"]})
    resources.accounts.drop(spent["user_id"])
    log.warning("refresh token reused or expired; its sign-in was revoked")
    raise Unauthenticated(BAD_REFRESH)


async def logout(resources: Resources, presented: str) -> None:
    """End the sign-in `presented` belongs to: every refresh token of its family, and the
    access tokens issued with them (within SESSION_CHECK_SECONDS on every replica).

    Like RFC 7009, a token that is unknown, spent or already revoked is no error.
    """
    try:
        token = RefreshToken.parse(presented)
    except Unauthenticated:
        return
    spent = await resources.db.fetch_one(
        "refresh_tokens.spent",
        {"id": token.id, "secret_hash": token.secret_hash, "grace": 0.0},
        primary=True,
    )
    if spent is None:
        return
    await resources.db.execute("refresh_tokens.revoke_family", {"family_id": spent["family_id"]})
    resources.accounts.drop(spent["user_id"])


async def change_password(
    resources: Resources, principal: Principal, data: Any, *, address: str
) -> Session:
    """Replace the caller's password, end every other session, and sign this one in anew.

    Every access and refresh token of the account stops working. A wrong current password
    counts as a failed sign-in (it is one: guessing it through a stolen token is guessing
    a password). Raises Unauthenticated, ValidationFailed, RateLimited.
    """
    user_id = require_user(principal)
    wanted = validate(ChangePasswordInput, data)
    current = await _account_or_401(resources, user_id, INVALID)
    weak = passwords.problems(wanted.new_password, email=current["email"])
    if weak:
        raise ValidationFailed([FieldError("new_password", "; ".join(weak))])
    attempt = await resources.limiter.begin_sign_in(current["email"], address)
    try:
        stored = await resources.db.fetch_val(
            "users.password_hash_by_id", {"id": user_id}, primary=True
        )
        ok = await passwords.verify_password(stored, wanted.current_password)
        password_hash = await passwords.hash_password(wanted.new_password) if ok else ""
    except BaseException:
        await attempt.abandoned()
        raise
    if not ok:
        raise ValidationFailed([FieldError("current_password", WRONG_CURRENT)])
    await attempt.succeeded()
    async with resources.db.transaction():
        row = await resources.db.fetch_one(
            "users.change_password", {"id": user_id, "password_hash": password_hash}
        )
        if row is None:
            raise Unauthenticated(BAD_CREDENTIALS)
        await resources.db.execute("refresh_tokens.revoke_user", {"user_id": user_id})
        session = await _start(resources, row)
    resources.accounts.drop(user_id)
    log.info("password changed; every session ended", extra={"user_id": user_id})
    return session


async def authenticate(resources: Resources, bearer: str) -> Principal:
    """The principal of a presented access token, once the database (through the
    per-process cache of SESSION_CHECK_SECONDS) says the token still holds: the account
    exists, with the token's version and role, and the token's sign-in is not revoked.

    Raises Unauthenticated (one generic message), or DBUnavailable and friends when the
    database cannot answer.
    """
    claims = resources.tokens.verify(bearer)
    found, state = resources.accounts.get(claims.user_id)
    if not found:
        # Tokens revoked longer ago than an access token lives have expired anyway.
        seconds = float(resources.tokens.ttl + LEEWAY_SECONDS + 60)
        with telemetry.aside():
            row = await resources.db.fetch_one(
                "users.session_state", {"id": claims.user_id, "seconds": seconds}, primary=True
            )
        state = _state(row)
        resources.accounts.put(claims.user_id, state)
    if state is None or not state.accepts(claims):
        raise Unauthenticated(INVALID)
    return claims.principal


def _state(row: Row | None) -> AccountState | None:
    if row is None:
        return None
    return AccountState(
        version=row["token_version"],
        role=row["role"],
        revoked=frozenset(_uuid(family) for family in row["revoked"]),
    )


async def _account_or_401(resources: Resources, user_id: int, message: str = BAD_REFRESH) -> Row:
    """The account's row; Unauthenticated when it was deleted under a live credential."""
    try:
        return await accounts.account_row(resources, user_id)
    except NotFound:
        raise Unauthenticated(message) from None


async def _start(
    resources: Resources,
    row: Mapping[str, Any],
    *,
    family: uuid.UUID | None = None,
    token: RefreshToken | None = None,
) -> Session:
    """Store a refresh token (a new family unless `family`) and issue the pair."""
    token = token or RefreshToken.new()
    family = family or token.id
    issued_at = int(time.time())
    await resources.db.execute(
        "refresh_tokens.insert",
        {
            "id": token.id,
            "family_id": family,
            "user_id": row["id"],
            "secret_hash": token.secret_hash,
            "issued_at": float(issued_at),
            "ttl": float(resources.settings.refresh_token_ttl),
        },
    )
    return _session(resources, row, family, token, issued_at)


def _session(
    resources: Resources,
    row: Mapping[str, Any],
    family: uuid.UUID,
    token: RefreshToken,
    issued_at: int,
) -> Session:
    """The pair for a stored refresh token: the same inputs give the same access token."""
    access = resources.tokens.issue(
        row["id"],
        row["role"],
        version=row["token_version"],
        session=family,
        issued_at=issued_at,
        token_id=token.id.hex,
    )
    remaining = issued_at + resources.tokens.ttl - int(time.time())
    return Session(
        account=accounts.account_from_row(row),
        access_token=access,
        refresh_token=str(token),
        expires_in=max(0, remaining),
    )


def _uuid(value: Any) -> uuid.UUID:
    """A uuid from the driver (its own UUID type) as the standard library's."""
    return value if type(value) is uuid.UUID else uuid.UUID(str(value))

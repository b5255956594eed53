"""Accounts: creating them, the caller's own account, public profiles, roles.

Nothing here is cached but public profiles: account data is per user, and tokens must
take effect at once. Signing in and out, and everything else that hands out or ends
tokens, is `gateway.services.sessions`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from gateway import passwords
from gateway.db import ConstraintViolation, Row
from gateway.errors import Conflict, FieldError, NotFound, Unauthenticated, ValidationFailed
from gateway.principal import Principal, Role, require_admin, require_user
from gateway.services import caching
from gateway.services.resources import Resources
from gateway.services.validation import Input, Text, validate

log = logging.getLogger("gateway.accounts")

STATEMENTS = (
    "users.insert",
    "users.account_by_id",
    "users.public_by_ids",
    "users.set_password",
    "users.lock_roles",
    "users.other_admins",
    "users.set_role",
)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
BAD_CREDENTIALS = "The email or password is not right."

# Characters that change how the text around a name is shown rather than showing
# anything: the bidirectional embeddings, overrides and isolates (U+202E turns "gnp.exe"
# into "exe.png") and the invisible direction marks. Controls (ESC, BEL, newlines: Unicode
# category Cc) and line and paragraph separators are refused as well.
_FORMATTING = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)

Account = dict[str, Any]
Profile = dict[str, Any]


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("must be an email address")
    return value


def _display_name(value: str) -> str:
    for character in value:
        if character in _FORMATTING or unicodedata.category(character) == "Cc":
            raise ValueError(
                f"must not contain control or text-direction characters "
                f"(found U+{ord(character):04X})"
            )
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Email = Annotated[
    Text,
    Field(json_schema_extra={"pattern": _EMAIL.pattern, "maxLength": 254}),
    AfterValidator(_email),
]

DisplayName = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=100,
        description="1 to 100 characters, no control characters (ESC, BEL, newlines...) "
        "and no bidirectional controls (U+202E and the like).",
    ),
    AfterValidator(_display_name),
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
    display_name: DisplayName


class RoleInput(Input):
    """An account's new role."""

    role: Literal["customer", "admin"]


def account_from_row(row: Row) -> Account:
    return {
        "id": row["id"],
        "email": row["email"],
        "display_name": row["display_name"],
        "role": row["role"],
        "created_at": row["created_at"],
    }


def check_display_name(display_name: str) -> None:
    """ValidationFailed naming `display_name` unless it is a name we would store."""
    try:
        _display_name(display_name)
    except ValueError as exc:
        raise ValidationFailed([FieldError("display_name", str(exc))]) from None
    if not 1 <= len(display_name) <= 100:
        raise ValidationFailed([FieldError("display_name", "must be 1 to 100 characters")])


async def create_account(
    resources: Resources,
    *,
    email: str,
    password: str,
    display_name: str,
    role: Role = "customer",
) -> Row:
    """Insert an account with a hashed password; the new row (with its token version).

    Raises ValidationFailed (not an email address, or a display name with control
    characters) or Conflict (email taken).
    """
    try:
        _email(email)
    except ValueError as exc:
        raise ValidationFailed([FieldError("email", str(exc))]) from None
    check_display_name(display_name)
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
    return row


async def me(resources: Resources, principal: Principal) -> Account:
    """The caller's own account (with email); Unauthenticated when anonymous."""
    user_id = require_user(principal)
    try:
        return await account_by_id(resources, user_id)
    except NotFound:
        # A valid token for an account deleted since: treat like any invalid credential.
        raise Unauthenticated(BAD_CREDENTIALS) from None


async def account_row(resources: Resources, user_id: int) -> Row:
    """The account's row, token version included; NotFound when there is none."""
    # Accounts are read from the primary: a replica may not have a just-created one yet.
    row = await resources.db.fetch_one("users.account_by_id", {"id": user_id}, primary=True)
    if row is None:
        raise NotFound(f"User {user_id} does not exist.")
    return row


async def account_by_id(resources: Resources, user_id: int) -> Account:
    return account_from_row(await account_row(resources, user_id))


async def set_role(resources: Resources, principal: Principal, user_id: int, data: Any) -> Account:
    """Make an account an admin or a customer (admin only).

    A change ends the account's access tokens (they name the old role): within
    SESSION_CHECK_SECONDS on every replica, at once on this one; its refresh tokens stay
    good and get tokens of the new role. Raises Unauthenticated/Forbidden, ValidationFailed,
    NotFound, and Conflict when it would leave no admin at all.
    """
    require_admin(principal)
    wanted = validate(RoleInput, data)
    async with resources.db.transaction():
        await resources.db.fetch_val("users.lock_roles")
        if wanted.role != "admin":
            others = await resources.db.fetch_val("users.other_admins", {"id": user_id})
            current = await resources.db.fetch_one("users.account_by_id", {"id": user_id})
            if current is not None and current["role"] == "admin" and not others:
                raise Conflict("This is the last admin; make another account an admin first.")
        row = await resources.db.fetch_one("users.set_role", {"id": user_id, "role": wanted.role})
    if row is None:
        raise NotFound(f"User {user_id} does not exist.")
    resources.accounts.drop(user_id)
    log.info("role changed", extra={"user_id": user_id, "role": wanted.role})
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
    """Replace an account's password (operators, development accounts); False if no account.

    The account's access tokens stop working (its token version moves on).
    """
    password_hash = await passwords.hash_password(password)
    found = await resources.db.fetch_val(
        "users.set_password", {"email": email, "password_hash": password_hash}
    )
    if found is not None:
        resources.accounts.drop(found)
    return found is not None

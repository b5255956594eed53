"""Password hashing (argon2id) and the password policy.

Hashing is deliberately slow, so it runs in a worker thread and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verifying against this when the account does not exist takes as long as a real check,
# so response time does not tell whether an email is registered.
_DUMMY_HASH = _HASHER.hash("not a password anyone has")

MIN_LENGTH = 10
MAX_LENGTH = 128
_COMMON = frozenset(
    {
        "password123",
        "passw0rd123",
        "1234567890",
        "0123456789",
        "qwertyuiop",
        "letmein123",
        "iloveyou12",
        "administrator",
        "welcome123",
        "password1234",
    }
)


def problems(password: str, *, email: str = "") -> list[str]:
    """Why `password` is too weak (empty when it is acceptable)."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        found.append(f"must be at most {MAX_LENGTH} characters")
    if len(set(password)) < 4:
        found.append("must use at least 4 different characters")
    if password.lower() in _COMMON or (email and password.lower() == email.lower()):
        found.append("is too easy to guess")
    return found


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing or unusable hash (no account, or `!`: an
    account without a password) still costs a full check, so timing tells nothing."""

    def check() -> bool:
        try:
            return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except VerificationError:
            return False
        except InvalidHashError:
            # argon2 refuses a hash it cannot parse at once: pay for a real check anyway.
            with contextlib.suppress(VerificationError):
                _HASHER.verify(_DUMMY_HASH, password)
            return False

    return await asyncio.to_thread(check)

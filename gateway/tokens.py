"""Access tokens (short-lived HS256 JWTs) and opaque refresh tokens.

Verification is strict: the algorithm is fixed by the server (no `alg: none`, no HS/RS
confusion), and exp, nbf, iat, iss, aud and sub are all required, with a small leeway.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import cast

import jwt

from gateway.errors import Unauthenticated
from gateway.principal import Principal, Role

ALGORITHM = "HS256"
LEEWAY_SECONDS = 10
_REQUIRED = ["exp", "nbf", "iat", "iss", "aud", "sub"]
# One message for every rejection, so a client cannot probe which check failed.
INVALID = "The access token is missing, malformed, expired or not valid here."


def expires_at(token: str) -> int:
    """When a token that `TokenIssuer.verify` accepted expires (its `exp`, epoch seconds)."""
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """An opaque refresh token: `<id>.<secret>`; only the secret's hash is stored."""

    id: uuid.UUID
    secret: bytes

    def __str__(self) -> str:
        return f"{self.id.hex}.{base64.urlsafe_b64encode(self.secret).decode().rstrip('=')}"

    @property
    def secret_hash(self) -> bytes:
        return hashlib.sha256(self.secret).digest()

    @classmethod
    def new(cls) -> RefreshToken:
        return cls(uuid.uuid4(), secrets.token_bytes(32))

    @classmethod
    def parse(cls, text: str) -> RefreshToken:
        """Parse a presented token; Unauthenticated when it is not one of ours."""
        ident, _, secret = text.partition(".")
        try:
            token_id = uuid.UUID(hex=ident)
            raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        except ValueError:
            raise Unauthenticated("The refresh token is not valid.") from None
        if len(ident) != 32 or len(raw) != 32:
            raise Unauthenticated("The refresh token is not valid.")
        return cls(token_id, raw)


class TokenIssuer:
    """Issues and verifies access tokens for one secret, issuer and audience."""

    def __init__(self, secret: str, *, issuer: str, audience: str, ttl: int) -> None:
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl

    def issue(self, user_id: int, role: Role) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "role": role,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; Unauthenticated (one generic message) otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED},
            )
        except jwt.PyJWTError:
            raise Unauthenticated(INVALID) from None
        sub, role = claims.get("sub"), claims.get("role")
        if not isinstance(sub, str) or not sub.isdigit() or role not in ("customer", "admin"):
            raise Unauthenticated(INVALID)
        return Principal(user_id=int(sub), role=cast(Role, role))

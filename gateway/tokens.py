"""Access tokens (short-lived HS256 JWTs) and opaque refresh tokens.

Verification is strict: the algorithm is fixed by the server (no `alg: none`, no HS/RS
confusion), and exp, nbf, iat, iss, aud and sub are all required, with a small leeway.
A valid signature is not the end of it: the claims name the account's token version and
the sign-in (`sid`), which the session service checks against the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
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
# A user id is a positive bigint: anything longer or larger is no account of ours.
_SUBJECT = re.compile(r"[1-9][0-9]{0,18}")
_MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified access token says: who, in which role, at which token version,
    from which sign-in (the refresh-token family; None for tokens minted without one)."""

    user_id: int
    role: Role
    version: int
    session: uuid.UUID | None

    @property
    def principal(self) -> Principal:
        return Principal(user_id=self.user_id, role=self.role)


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

    def issue(
        self,
        user_id: int,
        role: Role,
        *,
        version: int = 0,
        session: uuid.UUID | None = None,
        issued_at: int | None = None,
        token_id: str | None = None,
    ) -> str:
        """A signed access token. The same arguments give the same token, so a refresh
        replayed within its grace window can hand back the very pair it handed out."""
        now = int(time.time()) if issued_at is None else issued_at
        claims: dict[str, object] = {
            "sub": str(user_id),
            "role": role,
            "ver": version,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl,
            "jti": token_id or uuid.uuid4().hex,
        }
        if session is not None:
            claims["sid"] = session.hex
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def successor(self, token: RefreshToken) -> RefreshToken:
        """The refresh token that replaces `token` when it is spent.

        Derived from the spent token and the server's secret, so a second refresh of the
        same token (another tab, a retry) can be answered with the same successor although
        only hashes are stored; without the secret nobody can compute it.
        """
        digest = hmac.new(
            self._secret.encode(), b"refresh-successor:" + token.id.bytes + token.secret, "sha512"
        ).digest()
        return RefreshToken(uuid.UUID(bytes=digest[:16], version=4), digest[32:64])

    def charge_seal(self, identity: str, ttl: int) -> str:
        """A header value that makes this gateway charge a request to `identity` (the
        compare runner's calls to itself are charged to the caller who asked for the run)."""
        expires = int(time.time()) + ttl
        message = f"{identity}|{expires}"
        return f"{message}|{self._mac(message)}"

    def charge_identity(self, seal: str) -> str | None:
        """The identity a seal from `charge_seal` names, or None if forged or expired."""
        message, _, mac = seal.rpartition("|")
        identity, _, expires = message.rpartition("|")
        if not identity or not expires.isdigit() or int(expires) < time.time():
            return None
        return identity if hmac.compare_digest(mac, self._mac(message)) else None

    def compare_seal(self, mode: str, ttl: int) -> str:
        """A header value that marks a request as a compare run's own call: its statements
        are traced for the runner, and `mode` "cold" makes it bypass the caches. Only this
        server can make one (see `gateway.http.pipeline`)."""
        message = f"{mode}|{int(time.time()) + ttl}"
        return f"{message}|{self._mac(message, b'compare:')}"

    def compare_mode(self, seal: str) -> str | None:
        """The mode a seal from `compare_seal` names, or None if forged or expired."""
        message, _, mac = seal.rpartition("|")
        mode, _, expires = message.rpartition("|")
        if not mode or not expires.isdigit() or int(expires) < time.time():
            return None
        return mode if hmac.compare_digest(mac, self._mac(message, b"compare:")) else None

    def _mac(self, message: str, purpose: bytes = b"charge:") -> str:
        digest = hmac.new(self._secret.encode(), purpose + message.encode(), "sha256")
        return digest.hexdigest()

    def verify(self, token: str) -> Claims:
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
        version, sid = claims.get("ver", 0), claims.get("sid")
        if (
            not isinstance(sub, str)
            or not _SUBJECT.fullmatch(sub)
            or int(sub) > _MAX_ID
            or role not in ("customer", "admin")
            or type(version) is not int
            or not 0 <= version < 2**31
        ):
            raise Unauthenticated(INVALID)
        session = None
        if sid is not None:
            try:
                session = uuid.UUID(hex=sid) if isinstance(sid, str) and len(sid) == 32 else None
            except ValueError:
                session = None
            if session is None:
                raise Unauthenticated(INVALID)
        return Claims(int(sub), cast(Role, role), version, session)

"""Authentication: a bearer token becomes the request's principal before any handler runs.

No Authorization header means the anonymous principal. A header that is present but not
a valid bearer token is refused with 401 on every route: a client that sends broken
credentials is told so, never silently served as anonymous. A validly signed token is
also refused once its account is gone, its role or password changed, or its sign-in
ended (see `gateway.revocation`).
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import GatewayError, Unauthenticated
from gateway.principal import ANONYMOUS, Principal
from gateway.responses import refusal
from gateway.services import sessions
from gateway.tokens import INVALID
from gateway.types import Resources

CHARGE_HEADER = b"x-gateway-charge-to"
"""Set by the compare runner on its calls to this gateway: whom to charge them to."""


class AuthenticationMiddleware:
    """Put a `Principal` in `scope["principal"]`.

    Paths in `exempt` check their own credentials (`/metrics` and its METRICS_TOKEN).
    """

    def __init__(self, app: ASGIApp, *, exempt: Collection[str] = ()) -> None:
        self.app = app
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Subscriptions authenticate in their own handshake (graphql-transport-ws), not here.
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        header = charge = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                header = value
            elif key == CHARGE_HEADER:
                charge = value
        if charge is not None:
            resources: Resources = scope["state"]["resources"]
            identity = resources.tokens.charge_identity(bytes(charge).decode("latin-1"))
            if identity is not None:
                scope["charge_to"] = identity
        if header is None:
            scope["principal"] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        resources = scope["state"]["resources"]
        scheme, _, token = bytes(header).decode("latin-1").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated(INVALID)
            scope["principal"] = await sessions.authenticate(resources, token.strip())
        except GatewayError as error:
            await refusal(scope, error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def principal_of(scope: Scope) -> Principal:
    """The principal the middleware attached (anonymous if it never ran)."""
    principal = scope.get("principal", ANONYMOUS)
    assert isinstance(principal, Principal)
    return principal


def address_of(scope: Scope) -> str:
    """The client's address: the peer, or what a trusted proxy said it is (see
    FORWARDED_ALLOW_IPS); never what an untrusted client claims."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def identity_of(scope: Scope) -> str:
    """Who a rate limit counts against: whom a compare run charges its calls to, else the
    user when signed in, else the client address."""
    charged = scope.get("charge_to")
    if charged is not None:
        return str(charged)
    principal = principal_of(scope)
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    return f"ip:{address_of(scope)}"

"""Authentication: a bearer token becomes the request's principal before any handler runs.

No Authorization header means the anonymous principal. A header that is present but not
a valid bearer token is refused with 401 on every route: a client that sends broken
credentials is told so, never silently served as anonymous.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import Unauthenticated
from gateway.principal import ANONYMOUS, Principal
from gateway.responses import problem_response
from gateway.tokens import INVALID
from gateway.types import Resources


class AuthenticationMiddleware:
    """Put a `Principal` in `scope["principal"]`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Subscriptions authenticate in their own handshake (graphql-transport-ws), not here.
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if header is None:
            scope["principal"] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        resources: Resources = scope["state"]["resources"]
        scheme, _, token = bytes(header).decode("latin-1").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated(INVALID)
            scope["principal"] = resources.tokens.verify(token.strip())
        except Unauthenticated as error:
            await problem_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def principal_of(scope: Scope) -> Principal:
    """The principal the middleware attached (anonymous if it never ran)."""
    principal = scope.get("principal", ANONYMOUS)
    assert isinstance(principal, Principal)
    return principal


def identity_of(scope: Scope) -> str:
    """Who a rate limit counts against: the user when signed in, else the client address."""
    principal = principal_of(scope)
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"

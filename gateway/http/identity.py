"""Who is calling: the principal the pipeline authenticated, whom rate limits charge, and
the client's address (from X-Forwarded-For only when the peer is a trusted proxy)."""

from __future__ import annotations

from starlette.types import Scope

from gateway.principal import ANONYMOUS, Principal

CHARGE_HEADER = b"x-gateway-charge-to"
"""Set by the compare runner on its calls to this gateway: whom to charge them to."""

COMPARE_HEADER = b"x-gateway-compare"
"""Set by the compare runner on its measured calls: a seal that turns on statement tracing
and, for a cold run, cache bypass (`gateway.tokens.TokenIssuer.compare_seal`)."""


def principal_of(scope: Scope) -> Principal:
    """The principal the pipeline attached (anonymous if it never ran)."""
    principal = scope.get("principal", ANONYMOUS)
    assert isinstance(principal, Principal)
    return principal


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


def address_of(scope: Scope) -> str:
    """The client's address: the peer, or what a trusted proxy said it is (see
    FORWARDED_ALLOW_IPS); never what an untrusted client claims."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"

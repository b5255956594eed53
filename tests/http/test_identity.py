"""gateway/http/identity.py: who a request is, whom its rate limit charges, and its address."""

from __future__ import annotations

from typing import Any

from gateway.http.identity import address_of, identity_of, principal_of
from gateway.principal import ANONYMOUS, Principal


def scope(**entries: Any) -> dict[str, Any]:
    return {"type": "http", "client": ("203.0.113.9", 51000), **entries}


def test_the_principal_is_what_the_pipeline_attached_or_anonymous() -> None:
    assert principal_of(scope()) is ANONYMOUS
    signed_in = Principal(3, "customer")
    assert principal_of(scope(principal=signed_in)) is signed_in


def test_rate_limits_charge_the_compare_caller_then_the_user_then_the_address() -> None:
    user = Principal(3, "customer")
    assert identity_of(scope(principal=user, charge_to="user:9")) == "user:9"
    assert identity_of(scope(principal=user)) == "user:3"
    assert identity_of(scope(principal=ANONYMOUS)) == "ip:203.0.113.9"
    assert identity_of(scope()) == "ip:203.0.113.9"


def test_the_address_is_the_peers_or_unknown() -> None:
    assert address_of(scope()) == "203.0.113.9"
    assert address_of(scope(client=("::1", 1))) == "::1"
    # A Unix socket or a test transport may give no peer at all.
    assert address_of(scope(client=None)) == "unknown"
    assert address_of({"type": "http"}) == "unknown"
    assert identity_of(scope(client=None)) == "ip:unknown"

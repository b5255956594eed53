"""gateway/tokens.py: access-token claims and their bounds, refresh tokens, and the seals.

Forged and tampered JWTs (alg none, wrong algorithm or key, missing claims) are held by
tests/services/test_accounts.py through the API; here is what the module itself promises.
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from gateway.errors import Unauthenticated
from gateway.tokens import INVALID, Claims, RefreshToken, TokenIssuer, expires_at

SECRET = "unit-secret-" + "k" * 40
ISSUER = TokenIssuer(SECRET, issuer="gateway", audience="gateway-api", ttl=900)


def raw(**changes: object) -> str:
    """A token signed with the right key whose claims are those of `issue`, changed."""
    claims = jwt.decode(
        ISSUER.issue(5, "customer"), SECRET, algorithms=["HS256"], audience="gateway-api"
    )
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, "HS256")


def test_issue_and_verify_round_trip() -> None:
    session = uuid.uuid4()
    token = ISSUER.issue(42, "admin", version=3, session=session)
    assert ISSUER.verify(token) == Claims(42, "admin", 3, session)
    assert ISSUER.verify(token).principal.admin
    assert ISSUER.verify(ISSUER.issue(7, "customer")) == Claims(7, "customer", 0, None)
    assert expires_at(token) - jwt.decode(token, options={"verify_signature": False})["iat"] == 900


def test_the_same_arguments_give_the_same_token() -> None:
    fixed = {"version": 1, "session": uuid.uuid4(), "issued_at": 1_700_000_000, "token_id": "j"}
    assert ISSUER.issue(1, "customer", **fixed) == ISSUER.issue(1, "customer", **fixed)  # type: ignore[arg-type]
    assert ISSUER.issue(1, "customer") != ISSUER.issue(1, "customer")  # a fresh jti each


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "0"},
        {"sub": "007"},
        {"sub": str(2**63)},
        {"sub": 5},
        {"role": "owner"},
        {"ver": -1},
        {"ver": 2**31},
        {"ver": True},
        {"ver": "1"},
        {"sid": "not-hex"},
        {"sid": uuid.uuid4().hex[:31]},
        {"sid": "g" * 32},
        {"iss": "someone-else"},
        {"exp": int(time.time()) - 60},
    ],
)
def test_claims_out_of_bounds_are_refused_with_one_message(changes: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated) as caught:
        ISSUER.verify(raw(**changes))
    assert caught.value.detail == INVALID


def test_claims_at_their_bounds_are_accepted() -> None:
    top = ISSUER.verify(raw(sub=str(2**63 - 1), ver=2**31 - 1))
    assert (top.user_id, top.version) == (2**63 - 1, 2**31 - 1)
    # A token just past its expiry is still honoured within the leeway.
    assert ISSUER.verify(raw(exp=int(time.time()) - 2)).user_id == 5


def test_refresh_tokens_print_and_parse_back() -> None:
    token = RefreshToken.new()
    text = str(token)
    assert "=" not in text and len(text.split(".")[0]) == 32
    assert RefreshToken.parse(text) == token
    assert token.secret_hash != token.secret and len(token.secret_hash) == 32


@pytest.mark.parametrize(
    "text",
    ["", "abc", "nodot", "0f" * 16 + ".short", f"{uuid.UUID(int=7)}.{'A' * 43}", "x" * 32 + "."],
)
def test_anything_else_is_not_a_refresh_token(text: str) -> None:
    with pytest.raises(Unauthenticated, match="The refresh token is not valid."):
        RefreshToken.parse(text)


def test_the_successor_is_fixed_by_the_token_and_the_secret() -> None:
    token = RefreshToken.new()
    successor = ISSUER.successor(token)
    assert successor == ISSUER.successor(token)
    assert successor != ISSUER.successor(RefreshToken.new())
    other = TokenIssuer("other-secret-" + "q" * 40, issuer="gateway", audience="a", ttl=1)
    assert other.successor(token) != successor
    assert RefreshToken.parse(str(successor)) == successor  # a well-formed token itself


def test_seals_name_what_they_were_made_for_and_nothing_else() -> None:
    charge = ISSUER.charge_seal("user:7", ttl=60)
    assert ISSUER.charge_identity(charge) == "user:7"
    # An identity may itself hold the separator.
    assert ISSUER.charge_identity(ISSUER.charge_seal("ip:a|b", ttl=60)) == "ip:a|b"
    compare = ISSUER.compare_seal("cold", ttl=60)
    assert ISSUER.compare_mode(compare) == "cold"
    # A seal made for one purpose is no seal for the other.
    assert ISSUER.compare_mode(charge) is None
    assert ISSUER.charge_identity(compare) is None
    other = TokenIssuer("other-secret-" + "q" * 40, issuer="gateway", audience="a", ttl=1)
    assert other.charge_identity(charge) is None and other.compare_mode(compare) is None
    identity, expires, mac = charge.split("|")
    assert ISSUER.charge_identity(f"user:8|{expires}|{mac}") is None
    assert ISSUER.charge_identity(f"{identity}|{int(expires) + 1}|{mac}") is None
    for broken in ("", "|", "user:7", f"|{expires}|{mac}", f"{identity}|soon|{mac}"):
        assert ISSUER.charge_identity(broken) is None
        assert ISSUER.compare_mode(broken) is None


def test_expired_seals_are_refused() -> None:
    assert ISSUER.charge_identity(ISSUER.charge_seal("user:7", ttl=-1)) is None
    assert ISSUER.compare_mode(ISSUER.compare_seal("warm", ttl=-1)) is None

"""gateway/revocation.py: which token claims an account state accepts, and the bounded cache."""

from __future__ import annotations

import uuid

from gateway.revocation import AccountState, AccountStates
from gateway.tokens import Claims

SIGN_IN, OTHER = uuid.uuid4(), uuid.uuid4()


def test_a_state_accepts_only_its_version_role_and_unrevoked_sign_ins() -> None:
    state = AccountState(version=3, role="customer", revoked=frozenset({OTHER}))
    assert state.accepts(Claims(1, "customer", 3, SIGN_IN))
    assert state.accepts(Claims(1, "customer", 3, None))  # minted without a sign-in
    assert not state.accepts(Claims(1, "customer", 2, SIGN_IN))  # password changed since
    assert not state.accepts(Claims(1, "admin", 3, SIGN_IN))  # role changed since
    assert not state.accepts(Claims(1, "customer", 3, OTHER))  # signed out


def test_what_is_kept_is_found_until_dropped() -> None:
    states = AccountStates(ttl=60)
    state = AccountState(version=0, role="admin", revoked=frozenset())
    assert states.get(1) == (False, None)
    states.put(1, state)
    states.put(2, None)  # the account does not exist: that is kept too
    assert states.get(1) == (True, state)
    assert states.get(2) == (True, None)
    states.drop(1)
    states.drop(99)  # unknown: nothing happens
    assert states.get(1) == (False, None)
    assert states.get(2) == (True, None)


def test_an_entry_past_its_ttl_is_not_found() -> None:
    states = AccountStates(ttl=0)
    states.put(1, AccountState(version=0, role="customer", revoked=frozenset()))
    assert states.get(1) == (False, None)


def test_past_max_entries_the_least_recently_written_go() -> None:
    states = AccountStates(ttl=60, max_entries=2)
    state = AccountState(version=0, role="customer", revoked=frozenset())
    states.put(1, state)
    states.put(2, state)
    states.put(1, state)  # written again: now the newest
    states.put(3, state)
    assert [states.get(n)[0] for n in (1, 2, 3)] == [True, False, True]

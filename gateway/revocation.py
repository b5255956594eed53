"""Revocation: what the database says about the accounts behind access tokens, kept briefly.

An access token is signed for its whole life (15 minutes by default), so a role change, a
password change, a sign-out or a deleted account must be able to stop it before then.
Each token names its account's token version and its sign-in (`sid`); a token is honoured
only while the account exists with that version and role and that sign-in is not revoked.

Checking the database on every request would cost a statement each, so each process keeps
what it read for `ttl` seconds (SESSION_CHECK_SECONDS): a change made anywhere takes effect
on every replica within that bound, and at once on the replica that made it (it drops its
own entry).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from gateway.principal import Role
from gateway.tokens import Claims


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account's token version and role, and its sign-ins revoked lately."""

    version: int
    role: Role
    revoked: frozenset[uuid.UUID]

    def accepts(self, claims: Claims) -> bool:
        return (
            claims.version == self.version
            and claims.role == self.role
            and (claims.session is None or claims.session not in self.revoked)
        )


class AccountStates:
    """A per-process cache of account states (None: the account does not exist), with a
    time bound per entry and a bound on the number of entries."""

    def __init__(self, ttl: float = 5.0, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[int, tuple[float, AccountState | None]] = OrderedDict()

    def get(self, user_id: int) -> tuple[bool, AccountState | None]:
        """(found, state): found is False when nothing fresh is kept for `user_id`."""
        entry = self._entries.get(user_id)
        if entry is None:
            return False, None
        if entry[0] <= time.monotonic():
            del self._entries[user_id]
            return False, None
        return True, entry[1]

    def put(self, user_id: int, state: AccountState | None) -> None:
        self._entries[user_id] = (time.monotonic() + self.ttl, state)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, user_id: int) -> None:
        """Forget `user_id`: this process reads its state afresh on its next request."""
        self._entries.pop(user_id, None)

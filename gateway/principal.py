"""Who is calling: the principal behind a request, and the role guards services use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.errors import Forbidden, Unauthenticated

Role = Literal["customer", "admin"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated account (user_id set) or the anonymous caller (user_id None)."""

    user_id: int | None = None
    role: Role | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def admin(self) -> bool:
        return self.role == "admin"


ANONYMOUS = Principal()


def require_user(principal: Principal) -> int:
    """The caller's user id; Unauthenticated for an anonymous caller."""
    if principal.user_id is None:
        raise Unauthenticated("Sign in to do this.")
    return principal.user_id


def require_admin(principal: Principal) -> int:
    """The admin's user id; Unauthenticated when anonymous, Forbidden for a customer."""
    user_id = require_user(principal)
    if principal.role != "admin":
        raise Forbidden("Only an admin may do this.")
    return user_id

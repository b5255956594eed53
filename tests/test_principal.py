"""gateway/principal.py: who is calling, and the guards that turn that into 401 or 403."""

from __future__ import annotations

import pytest

from gateway.errors import Forbidden, Unauthenticated
from gateway.principal import ANONYMOUS, Principal, require_admin, require_user


def test_anonymous_is_neither_signed_in_nor_admin() -> None:
    assert Principal() == ANONYMOUS
    assert not ANONYMOUS.authenticated and not ANONYMOUS.admin
    assert Principal(1, "customer").authenticated and not Principal(1, "customer").admin
    assert Principal(2, "admin").admin


def test_require_user_answers_the_id_or_401() -> None:
    assert require_user(Principal(5, "customer")) == 5
    assert require_user(Principal(6, "admin")) == 6
    with pytest.raises(Unauthenticated, match="Sign in to do this."):
        require_user(ANONYMOUS)


def test_require_admin_is_401_when_anonymous_and_403_for_a_customer() -> None:
    assert require_admin(Principal(9, "admin")) == 9
    with pytest.raises(Unauthenticated):
        require_admin(ANONYMOUS)
    with pytest.raises(Forbidden, match="Only an admin may do this."):
        require_admin(Principal(5, "customer"))
    # A role without an account is nobody.
    with pytest.raises(Unauthenticated):
        require_admin(Principal(None, "admin"))

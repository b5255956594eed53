"""gateway/passwords.py: the password policy at its bounds, and argon2id hashing."""

from __future__ import annotations

import pytest

from gateway.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, problems, verify_password


def test_length_bounds() -> None:
    assert problems("abcd" + "x" * (MIN_LENGTH - 4)) == []
    assert problems("abcd" + "x" * (MIN_LENGTH - 5)) == [
        f"must be at least {MIN_LENGTH} characters"
    ]
    assert problems("abcd" + "x" * (MAX_LENGTH - 4)) == []
    assert problems("abcd" + "x" * (MAX_LENGTH - 3)) == [f"must be at most {MAX_LENGTH} characters"]


def test_variety_and_guessability() -> None:
    assert problems("abcabcabca") == ["must use at least 4 different characters"]
    assert problems("abcdabcdab") == []
    assert problems("PassWord123") == ["is too easy to guess"]
    assert problems("ann@example.com", email="Ann@Example.com") == ["is too easy to guess"]
    assert problems("ann@example.com", email="bob@example.com") == []
    # Every reason is given at once.
    assert problems("aaa") == [
        f"must be at least {MIN_LENGTH} characters",
        "must use at least 4 different characters",
    ]


@pytest.mark.anyio
async def test_hash_and_verify() -> None:
    # argon2id is slow on purpose: this test keeps to five hashings.
    stored = await hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert await verify_password(stored, "correct horse battery")
    assert not await verify_password(stored, "correct horse batterY")
    # No account (None) or an account without a password ("!"): never a match, even for
    # the password the stand-in hash was made from.
    assert not await verify_password(None, "not a password anyone has")
    assert not await verify_password("!", "not a password anyone has")

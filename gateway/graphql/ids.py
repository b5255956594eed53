"""GraphQL `ID` arguments: decimal strings of positive 64-bit integers, like REST path ids."""

from __future__ import annotations

from gateway.errors import InvalidParameter

_MAX_ID = 2**63 - 1


def parse_id(value: object, argument: str = "id") -> int:
    """The integer behind an ID argument; InvalidParameter for anything else."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 19 or text.startswith("0"):
        raise InvalidParameter(argument, "must be a positive integer id")
    number = int(text)
    if number > _MAX_ID:
        raise InvalidParameter(argument, "is out of range")
    return number

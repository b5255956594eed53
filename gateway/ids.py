"""Resource ids as clients send them: decimal strings of positive 64-bit integers."""

from __future__ import annotations

from gateway.errors import InvalidParameter

MAX_ID = 2**63 - 1


def parse_id(value: object, argument: str = "id") -> int:
    """The integer behind an id in a path, query parameter or GraphQL ID; InvalidParameter else.

    Only plain ASCII digits without a leading zero: "1e3", " 7", "07", "-1" and non-ASCII
    digits are refused, so a resource has one spelling (cache keys and ETags stay canonical).
    """
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 19 or text.startswith("0"):
        raise InvalidParameter(argument, "must be a positive integer id")
    number = int(text)
    if number > MAX_ID:
        raise InvalidParameter(argument, "is out of range")
    return number

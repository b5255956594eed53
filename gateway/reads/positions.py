"""Where a page starts and what narrows it: cursors and filters as bound values.

A cursor holds the last row's sort key and id, tagged `<resource>:<sort>`; a cursor minted
for another sort (or resource) or edited is refused with INVALID_PARAMETER. Filters
become (model filter, value) pairs; a category given by id and one given by slug are two
filters, since they are two conditions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.errors import InvalidParameter
from gateway.ids import MAX_ID, parse_id
from gateway.reads.model import KeyKind, Sort, Type
from gateway.reads.pagination import decode_cursor
from gateway.reads.planner import key_types

_INT4_MAX = 2**31 - 1
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,4})?")
_MAX_TEXT = 1000

FILTER_NAMES = ("min_price", "max_price", "in_stock", "tag", "q", "rating_gte")
"""Product filters that pass their value straight through (the category is chosen apart)."""


def tag(owner: Type, sort: Sort, descending: bool) -> str:
    """The tag cursors of this sort carry: `products:-price`."""
    return f"{owner.cursor}:{'-' if descending else ''}{sort.field}"


def decode(owner: Type, sort: Sort, descending: bool, cursor: str) -> tuple[Any, ...]:
    """The keyset position in `cursor`: (key, id), or (id,) for an id sort.

    Raises InvalidParameter (`after`) for a malformed cursor or one of another sort.
    """
    values = decode_cursor(cursor, tag(owner, sort, descending))
    expected = 1 if sort.kind == "id" else 2
    if len(values) != expected or not _is_int(values[-1], 0, MAX_ID):
        raise _bad_cursor()
    row_id: int = values[-1]
    if sort.kind == "id":
        return (row_id,)
    return (_DECODERS[sort.kind](values[0]), row_id)


def types(sort: Sort) -> tuple[str, ...]:
    """The SQL types of a position of `sort`."""
    return key_types(sort)


def filter_values(wanted: Any) -> list[tuple[str, Any]]:
    """The model filters and values of a checked ProductFilter, in a fixed order."""
    found: list[tuple[str, Any]] = []
    category = getattr(wanted, "category", None)
    if category is not None:
        if category.isdigit():
            found.append(("category_id", parse_id(category, "category")))
        else:
            found.append(("category_slug", category))
    for name in FILTER_NAMES:
        value = getattr(wanted, name)
        if value is not None:
            found.append((name, value))
    return found


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _bad_cursor() -> InvalidParameter:
    return InvalidParameter("after", "not a valid cursor")


def _int_key(value: object) -> int:
    if not _is_int(value, -_INT4_MAX - 1, _INT4_MAX):
        raise _bad_cursor()
    assert isinstance(value, int)
    return value


def _decimal_key(value: object) -> Decimal:
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise _bad_cursor()
    return Decimal(value)


def _timestamp_key(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise _bad_cursor()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _bad_cursor() from None
    if moment.tzinfo is None:
        raise _bad_cursor()
    return moment


def _text_key(value: object) -> str:
    # Anything the database could not take as text would fail there as a 500, not a 400.
    if not isinstance(value, str) or len(value) > _MAX_TEXT or "\x00" in value:
        raise _bad_cursor()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_cursor() from None
    return value


_DECODERS: dict[KeyKind, Callable[[object], Any]] = {
    "int": _int_key,
    "decimal": _decimal_key,
    "timestamp": _timestamp_key,
    "text": _text_key,
}

"""Sort orders of lists: each allow-listed order's statement, keyset position and cursors.

A list's `sort` names one order of its resource (`price`, `-price`...). Every order runs
its own fixed named statement, so an index can serve it and no SQL is assembled from
input. Rows are ordered by the order's key, then by id to break ties, in one direction;
a cursor carries the last row's key and id, tagged `resource:order`, so a cursor minted
for one order (or another resource) is refused by the others.

Each statement takes `:after_key` and `:after_id` (id orders only `:after_id`) and
returns the row's key as `sort_key`. The first page starts from a sentinel that sorts
before every real row, so it needs no statement of its own; only a descending text key
has no such sentinel, and its statements treat a NULL `:after_key` as "from the start".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from gateway.db import Row
from gateway.errors import InvalidParameter
from gateway.ids import MAX_ID
from gateway.pagination import Page, decode_cursor, encode_cursor

T = TypeVar("T")

KeyKind = Literal["id", "int", "decimal", "text", "timestamp"]
"""How a sort key is typed: in SQL, in the cursor (JSON), and for the first page."""

_INT4_MAX = 2**31 - 1
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,4})?")
_MAX_TEXT = 1000

# Positions before every real row, per kind and direction (ascending, descending).
_STARTS: dict[tuple[KeyKind, bool], tuple[Any, int | None]] = {
    ("id", False): (None, 0),
    ("id", True): (None, MAX_ID),
    ("int", False): (-1, 0),
    ("int", True): (_INT4_MAX, MAX_ID),
    ("decimal", False): (Decimal(-1), 0),
    ("decimal", True): (Decimal("1e13"), MAX_ID),
    ("timestamp", False): (datetime(1, 1, 2, tzinfo=UTC), 0),
    ("timestamp", True): (datetime(9999, 12, 31, tzinfo=UTC), MAX_ID),
    # Every stored name is non-empty, so "" sorts first; nothing is known to sort last.
    ("text", False): ("", 0),
    ("text", True): (None, None),
}


@dataclass(frozen=True, slots=True)
class SortOrder:
    """One allow-listed order of one resource's list, and the statement that reads it."""

    resource: str
    field: str
    kind: KeyKind
    statement: str
    descending: bool = False

    @property
    def name(self) -> str:
        """The order as clients write it: `price`, `-price`."""
        return f"-{self.field}" if self.descending else self.field

    @property
    def tag(self) -> str:
        """The cursor's tag: `products:-price`."""
        return f"{self.resource}:{self.name}"

    def position(self, after: str | None) -> dict[str, Any]:
        """The statement's keyset parameters for the page after `after` (None: the first).

        Raises InvalidParameter for a malformed cursor or one of another order.
        """
        if after is None:
            key, row_id = _STARTS[(self.kind, self.descending)]
        else:
            values = decode_cursor(after, self.tag)
            key, row_id = self._decode(values)
        if self.kind == "id":
            return {"after_id": row_id}
        return {"after_key": key, "after_id": row_id}

    def cursor(self, row: Row) -> str:
        """The cursor positioned after `row` (which carries `id` and `sort_key`)."""
        if self.kind == "id":
            return encode_cursor(self.tag, [row["id"]])
        key = row["sort_key"]
        if self.kind == "decimal":
            key = str(key)
        elif self.kind == "timestamp":
            key = key.isoformat()
        return encode_cursor(self.tag, [key, row["id"]])

    def _decode(self, values: list[Any]) -> tuple[Any, int]:
        expected = 1 if self.kind == "id" else 2
        if len(values) != expected or not _is_int(values[-1], 0, MAX_ID):
            raise _bad_cursor()
        row_id: int = values[-1]
        if self.kind == "id":
            return None, row_id
        return _KEY_DECODERS[self.kind](values[0]), row_id


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


_KEY_DECODERS: dict[KeyKind, Callable[[object], Any]] = {
    "int": _int_key,
    "decimal": _decimal_key,
    "timestamp": _timestamp_key,
    "text": _text_key,
}


def orders_of(
    resource: str, statement_prefix: str, fields: Mapping[str, KeyKind]
) -> dict[str, SortOrder]:
    """Every order of `resource` by name, both directions of each field.

    Statements are named `<prefix>by_<field>` and `<prefix>by_<field>_desc`.
    """
    found: dict[str, SortOrder] = {}
    for field, kind in fields.items():
        for descending in (False, True):
            suffix = "_desc" if descending else ""
            order = SortOrder(
                resource, field, kind, f"{statement_prefix}by_{field}{suffix}", descending
            )
            found[order.name] = order
    return found


def choose(orders: Mapping[str, SortOrder], sort: str) -> SortOrder:
    """The order named `sort`; InvalidParameter naming the allowed ones otherwise."""
    order = orders.get(sort)
    if order is None:
        raise InvalidParameter("sort", f"must be one of {', '.join(orders)}")
    return order


def page_from(
    rows: Sequence[Row],
    limit: int,
    order: SortOrder,
    convert: Callable[[Row], T],
    total: int | None = None,
) -> Page[T]:
    """A page from up to `limit` + 1 rows in `order` (the extra row says a page follows)."""
    shown = rows[:limit]
    cursors = [order.cursor(row) for row in shown]
    next_cursor = cursors[-1] if len(rows) > limit else None
    return Page(
        items=[convert(row) for row in shown],
        cursors=cursors,
        next_cursor=next_cursor,
        total=total,
    )

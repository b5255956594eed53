"""Sort orders of lists, for the services: each allow-listed order's keyset position and cursors.

A list's `sort` names one order of its type (`price`, `-price`), declared in the read model
with the expression an index serves. Rows are ordered by that key, then by id to break
ties, in one direction; a cursor carries the last row's key and id, tagged
`resource:order`, so a cursor minted for one order (or another resource) is refused by the
others. The statements themselves are composed from the model (`gateway.reads.lists`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.db import Row
from gateway.errors import InvalidParameter
from gateway.reads import positions
from gateway.reads.model import MODEL, KeyKind, Sort, Type
from gateway.reads.pagination import Page, encode_cursor

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SortOrder:
    """One allow-listed order of one type's lists."""

    type: str
    field: str
    kind: KeyKind
    descending: bool = False

    @property
    def name(self) -> str:
        """The order as clients write it: `price`, `-price`."""
        return f"-{self.field}" if self.descending else self.field

    @property
    def tag(self) -> str:
        """The cursor's tag: `products:-price`."""
        return f"{MODEL[self.type].cursor}:{self.name}"

    def position(self, after: str | None) -> tuple[Any, ...]:
        """The keyset position after `after`: (key, id), (id,) for id orders, or () for
        the first page. Raises InvalidParameter for a malformed cursor or one of another
        order."""
        if after is None:
            return ()
        owner = MODEL[self.type]
        sort, descending = owner.sort(self.name)
        return positions.decode(owner, sort, descending, after)

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


def orders_of(type_name: str) -> dict[str, SortOrder]:
    """Every order of a type's lists by name, both directions of each sort key."""
    owner: Type = MODEL[type_name]
    found: dict[str, SortOrder] = {}
    for sort in owner.sorts:
        for descending in (False, True):
            order = _order(owner, sort, descending)
            found[order.name] = order
    return found


def _order(owner: Type, sort: Sort, descending: bool) -> SortOrder:
    return SortOrder(owner.name, sort.field, sort.kind, descending)


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

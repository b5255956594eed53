"""The selection tree: what a read asks for, in either style, as the planner takes it.

A tree holds only shape: which types, fields, relations and list options, and where each
value goes (`Slot`). Values travel beside it in a mapping from slot names, so requests
that differ only in values (ids, page sizes, cursors, filter values) share one plan.
Trees are frozen and hashable: the tree itself is the plan cache's key.

    Query ─ roots: Lookup (one row) │ Listing (a list) │ Entities (rows by key) │ Constant
    Node  ─ members: Scalar │ Constant │ One (to-one) │ Many (to-many) ─ Window + output
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Style = Literal["rest", "graphql"]
"""How values are written: REST ids are numbers, GraphQL ids strings and enums upper case."""


@dataclass(frozen=True, slots=True)
class Slot:
    """A bound value: its name in the request's values and the SQL type it is cast to."""

    name: str
    type: str


Key = str | Slot
"""An output key: a name from the model or schema, or an alias (bound, already JSON: `"a":`)."""


@dataclass(frozen=True, slots=True)
class Scalar:
    """A field of the row."""

    key: Key
    field: str


@dataclass(frozen=True, slots=True)
class Constant:
    """A fixed string (`__typename`)."""

    key: Key
    value: str


@dataclass(frozen=True, slots=True)
class Node:
    """One row of `type` as an object with `members`, in order."""

    type: str
    style: Style
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """Which rows of a list, in which order.

    `sort` is a sort of the target type (`-price`), or None for the relation's fixed
    order; `limit` None reads every row; `after` holds the keyset position (key, id) or
    (id,) for id orders; `filters` pair a filter's name with its value.
    """

    sort: str | None = None
    limit: Slot | None = None
    after: tuple[Slot, ...] = ()
    filters: tuple[tuple[str, Slot], ...] = ()


@dataclass(frozen=True, slots=True)
class Items:
    """A list written as a JSON array of nodes."""

    node: Node


@dataclass(frozen=True, slots=True)
class Cursor:
    """An edge's cursor."""

    key: Key


@dataclass(frozen=True, slots=True)
class EdgeNode:
    """An edge's node."""

    key: Key
    node: Node


@dataclass(frozen=True, slots=True)
class Edges:
    """A connection's edges."""

    key: Key
    members: tuple[Cursor | EdgeNode | Constant, ...]


PageField = Literal["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]


@dataclass(frozen=True, slots=True)
class PageInfoField:
    key: Key
    field: PageField


@dataclass(frozen=True, slots=True)
class PageInfo:
    """A connection's pageInfo."""

    key: Key
    members: tuple[PageInfoField | Constant, ...]


@dataclass(frozen=True, slots=True)
class TotalCount:
    """How many rows the whole list holds."""

    key: Key


@dataclass(frozen=True, slots=True)
class Connection:
    """A list written as a Relay connection."""

    members: tuple[Edges | PageInfo | TotalCount | Constant, ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A list written as a REST body: `{"data": [...], "page": {limit, next_cursor, total?}}`."""

    node: Node
    total: bool = False


@dataclass(frozen=True, slots=True)
class One:
    """A to-one relation: the related row, or null."""

    key: Key
    relation: str
    node: Node


@dataclass(frozen=True, slots=True)
class Many:
    """A to-many relation: a window of related rows, as an array or a connection."""

    key: Key
    relation: str
    window: Window
    output: Items | Connection


Member = Scalar | Constant | One | Many


@dataclass(frozen=True, slots=True)
class Lookup:
    """One row of `type` found by `by` (a condition on `{t}` and `{v}`, the bound `value`)."""

    key: Key
    type: str
    by: str
    value: Slot | None
    node: Node


@dataclass(frozen=True, slots=True)
class Parent:
    """The row a listing belongs to (`/products/{id}/reviews`): absent, the answer is too."""

    type: str
    by: str
    value: Slot
    relation: str


@dataclass(frozen=True, slots=True)
class Listing:
    """A list of `type` at the root of a read, optionally the relation of a `parent` row."""

    key: Key
    type: str
    window: Window
    output: Connection | Envelope
    parent: Parent | None = None


@dataclass(frozen=True, slots=True)
class Entities:
    """Rows of several types found by key, in the order asked, null where absent
    (federation's `_entities`): the bound arrays `types` and `ids` pair up entry by entry,
    and each row is written as the node of its type."""

    key: Key
    nodes: tuple[Node, ...]
    types: Slot
    ids: Slot


Root = Lookup | Listing | Entities | Constant


Caller = Literal["anonymous", "user", "admin"]
"""Who reads, as far as visibility rules go: an admin sees every row, a user their own."""


@dataclass(frozen=True, slots=True)
class Query:
    """A whole read: its roots, and who reads them (a `user` binds the slot `user`)."""

    roots: tuple[Root, ...]
    caller: Caller = "anonymous"

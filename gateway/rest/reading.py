"""REST reads through the planner: one resource or one page, one statement, bytes out.

Each read operation describes its root (a lookup by id or slug, or a list with its window
and, for `/products/{id}/reviews` and `/categories/{id}/products`, the parent that must
exist); `gateway.rest.shaping` adds what `fields`, `include`, `fields[type]` and
`limit[path]` ask for. PostgreSQL writes the whole body; this module adds the envelope's
first bytes and the `Link` header.

Requests of one shape (the same parameters but for ids, cursors, page sizes and filter
values) build the same tree: it is built once per shape and kept, bounded, with the
plan's key, so a request only checks its values and binds them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from starlette.responses import Response

from gateway.errors import GatewayError
from gateway.principal import Principal
from gateway.reads import positions
from gateway.reads.model import MODEL
from gateway.reads.shape import (
    Caller,
    Envelope,
    Listing,
    Lookup,
    Node,
    Parent,
    Query,
    Slot,
    Window,
)
from gateway.rest.lists import next_link
from gateway.rest.shaping import Builder, parse
from gateway.rest.spec import Call
from gateway.services import plans

JSON = "application/json"
MAX_SHAPES = 2000
_KEY = Slot("key", "bigint")
_SLUG = Slot("key", "text")
_LIMIT = Slot("limit", "integer")

_shapes: OrderedDict[Hashable, tuple[Query, dict[str, Any]]] = OrderedDict()


def caller_of(principal: Principal) -> Caller:
    if principal.admin:
        return "admin"
    return "user" if principal.authenticated else "anonymous"


def _remembered(
    key: Hashable, build: Callable[[], tuple[Query, dict[str, Any]]]
) -> tuple[Query, dict[str, Any]]:
    found = _shapes.get(key)
    if found is not None:
        _shapes.move_to_end(key)
        return found
    found = _shapes[key] = build()
    while len(_shapes) > MAX_SHAPES:
        _shapes.popitem(last=False)
    return found


def _node(
    call: Call[Any], type_name: str, default_include: Sequence[str]
) -> tuple[Node, dict[str, Any]]:
    """The REST node of a read of `type_name`, and the values its shape fixes (limits)."""
    query = call.query
    values: dict[str, Any] = {}
    shape = parse(
        MODEL[type_name],
        fields=getattr(query, "fields", None),
        include=getattr(query, "include", None),
        bracketed=call.bracketed,
    )
    node = Builder(shape, values, default_include=default_include).node(MODEL[type_name])
    return node, values


def _shape_key(call: Call[Any], *parts: Hashable) -> tuple[Hashable, ...]:
    query = call.query
    fields = getattr(query, "fields", None)
    include = getattr(query, "include", None)
    return (
        *parts,
        tuple(fields) if fields is not None else None,
        tuple(include) if include is not None else None,
        tuple(sorted(call.bracketed.items())),
    )


async def read_one(
    call: Call[Any],
    type_name: str,
    by: str,
    key: int | str | None,
    absent: GatewayError,
    *,
    default_include: Sequence[str] = (),
) -> Response:
    """One resource found by `by` (a condition on `{t}` and `{v}`, the bound `key`), as
    `{"data": ...}`; `absent` is raised when there is none (or the caller may not see it)."""
    caller = caller_of(call.principal)
    slot = None if key is None else _KEY if isinstance(key, int) else _SLUG
    shape = _shape_key(call, "one", type_name, by, slot, caller, tuple(default_include))

    def build() -> tuple[Query, dict[str, Any]]:
        node, fixed = _node(call, type_name, default_include)
        return Query((Lookup("data", type_name, by, slot, node),), caller), fixed

    query, fixed = _remembered(shape, build)
    values = _values(call, fixed, caller)
    if key is not None:
        values["key"] = key
    found = await plans.single(call.resources, query, values, key=shape)
    if found.body is None:
        raise absent
    return Response(b'{"data":' + found.body + b"}", media_type=JSON)


async def read_page(
    call: Call[Any],
    type_name: str,
    *,
    filters: Sequence[tuple[str, Any]] = (),
    parent: tuple[str, str, int | str, str] | None = None,
    absent: GatewayError | None = None,
) -> Response:
    """One page of a list as `{"data": [...], "page": {...}}` with `Link` to the next.

    `parent` (type, condition, key, relation) makes it the list of one row's relation,
    and `absent` is raised when that row does not exist.
    """
    query = call.query
    owner = MODEL[type_name]
    caller = caller_of(call.principal)
    sort, descending = owner.sort(query.sort)
    position = positions.decode(owner, sort, descending, query.after) if query.after else ()
    parent_slot = None
    if parent is not None:
        parent_slot = _KEY if isinstance(parent[2], int) else _SLUG
    names = tuple(name for name, _ in filters)
    count = query.count is not None
    shape = _shape_key(
        call,
        "page",
        type_name,
        query.sort,
        names,
        bool(position),
        count,
        caller,
        None if parent is None else (parent[0], parent[1], parent_slot, parent[3]),
    )

    def build() -> tuple[Query, dict[str, Any]]:
        node, fixed = _node(call, type_name, ())
        bound = tuple((name, Slot(f"filter.{name}", owner.filter(name).type)) for name in names)
        after = tuple(Slot(f"after{i}", t) for i, t in enumerate(positions.types(sort)))
        window = Window(query.sort, _LIMIT, after if position else (), bound)
        found_parent = None
        if parent is not None:
            assert parent_slot is not None
            found_parent = Parent(parent[0], parent[1], parent_slot, parent[3])
        root = Listing("data", type_name, window, Envelope(node, count), found_parent)
        return Query((root,), caller), fixed

    tree, fixed = _remembered(shape, build)
    values = _values(call, fixed, caller)
    values["limit"] = query.limit
    for name, value in filters:
        values[f"filter.{name}"] = value
    for index, value in enumerate(position):
        values[f"after{index}"] = value
    if parent is not None:
        values["key"] = parent[2]
    found = await plans.single(call.resources, tree, values, key=shape)
    if found.body is None:
        assert absent is not None
        raise absent
    headers = {}
    if found.next_cursor is not None:
        headers["Link"] = next_link(call.request, found.next_cursor)
    return Response(found.body, media_type=JSON, headers=headers)


def _values(call: Call[Any], fixed: dict[str, Any], caller: Caller) -> dict[str, Any]:
    values = dict(fixed)
    if caller != "anonymous":
        values["user"] = call.principal.user_id
    return values

"""REST reads through the planner: one resource or one page, one statement, bytes out.

Each read operation describes its root (a lookup by id or slug, or a list with its window
and, for `/products/{id}/reviews` and `/categories/{id}/products`, the parent that must
exist); `gateway.rest.shaping` adds what `fields`, `include`, `fields[type]` and
`limit[path]` ask for. PostgreSQL writes the whole body; this module adds the envelope's
first bytes and the `Link` header.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from gateway.errors import GatewayError
from gateway.principal import Principal
from gateway.reads import plans, positions
from gateway.reads.model import MODEL
from gateway.reads.shape import (
    Caller,
    Envelope,
    Listing,
    Lookup,
    Parent,
    Query,
    Slot,
    Window,
)
from gateway.rest.lists import next_link
from gateway.rest.shaping import Builder, parse
from gateway.rest.spec import Call

JSON = "application/json"


def caller_of(principal: Principal) -> Caller:
    if principal.admin:
        return "admin"
    return "user" if principal.authenticated else "anonymous"


def _shape_of(call: Call[Any], type_name: str) -> tuple[Builder, dict[str, Any]]:
    query = call.query
    values: dict[str, Any] = {}
    shape = parse(
        MODEL[type_name],
        fields=getattr(query, "fields", None),
        include=getattr(query, "include", None),
        bracketed=call.bracketed,
    )
    return Builder(shape, values), values


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
    builder, values = _shape_of(call, type_name)
    builder = Builder(builder.shape, values, default_include=default_include)
    slot = None
    if key is not None:
        slot = Slot("key", "bigint" if isinstance(key, int) else "text")
        values[slot.name] = key
    caller = _caller(call, values)
    root = Lookup("data", type_name, by, slot, builder.node(MODEL[type_name]))
    found = await plans.single(call.resources, Query((root,), caller), values)
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
    builder, values = _shape_of(call, type_name)
    limit = Slot("limit", "integer")
    values[limit.name] = query.limit
    bound: list[tuple[str, Slot]] = []
    for name, value in filters:
        slot = Slot(f"filter.{name}", owner.filter(name).type)
        values[slot.name] = value
        bound.append((name, slot))
    after: tuple[Slot, ...] = ()
    if query.after is not None:
        sort, descending = owner.sort(query.sort)
        position = positions.decode(owner, sort, descending, query.after)
        after = tuple(Slot(f"after{i}", t) for i, t in enumerate(positions.types(sort)))
        values.update({s.name: v for s, v in zip(after, position, strict=True)})
    window = Window(query.sort, limit, after, tuple(bound))
    found_parent = None
    if parent is not None:
        parent_type, by, key, relation = parent
        slot = Slot("parent", "bigint" if isinstance(key, int) else "text")
        values[slot.name] = key
        found_parent = Parent(parent_type, by, slot, relation)
    output = Envelope(builder.node(owner), total=query.count is not None)
    caller = _caller(call, values)
    root = Listing("data", type_name, window, output, found_parent)
    found = await plans.single(call.resources, Query((root,), caller), values)
    if found.body is None:
        assert absent is not None
        raise absent
    headers = {}
    if found.next_cursor is not None:
        headers["Link"] = next_link(call.request, found.next_cursor)
    return Response(found.body, media_type=JSON, headers=headers)


def _caller(call: Call[Any], values: dict[str, Any]) -> Caller:
    principal = call.principal
    caller = caller_of(principal)
    if caller != "anonymous":
        values["user"] = principal.user_id
    return caller

"""REST reads as selection trees: `fields`, `include`, `fields[type]` and `limit[path]`.

The read grammar, in the JSON:API spirit:

- `fields=name,price`: only these properties of the root type (the id always comes);
- `include=reviews.author,category.parent`: relations to embed, nested with dots (at most
  three levels), each a subquery of the one statement, never a request per row;
- `fields[reviews]=rating,title`: only these properties of every embedded review (the
  type's REST name: products, categories, tags, reviews, users, orders, items);
- `limit[reviews]=5`: the page size of an embedded list, by its include path, within the
  relation's largest page.

Everything is checked against the read model before any SQL runs; an unknown name is 400
INVALID_PARAMETER naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.errors import InvalidParameter
from gateway.reads.model import MODEL, Relation, Type
from gateway.reads.shape import Items, Many, Member, Node, One, Scalar, Slot, Window

MAX_DEPTH = 3
BRACKETED = re.compile(r"^(fields|limit)\[([a-z_.]{1,100})\]$")


@dataclass(frozen=True, slots=True)
class Shape:
    """What a REST read asks for beyond its root: checked names, and limits as values."""

    fields: tuple[str, ...] | None = None
    include: tuple[str, ...] = ()
    type_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    limits: Mapping[str, int] = field(default_factory=dict)


def include_paths(owner: Type, depth: int = MAX_DEPTH, prefix: str = "") -> list[str]:
    """Every include path the model allows from `owner`, breadth first within each level."""
    found: list[str] = []
    if depth == 0:
        return found
    for relation in owner.relations:
        path = prefix + relation.name
        found.append(path)
        found += include_paths(MODEL[relation.target], depth - 1, path + ".")
    return found


def reachable_types(owner: Type) -> list[Type]:
    """The types an include from `owner` can embed, the root's own included."""
    names = [owner.name]
    for path in include_paths(owner):
        target = resolve(owner, path)[-1][1]
        if target.name not in names:
            names.append(target.name)
        # Relations embedded by default (a review's author) bring their types along.
        for relation in target.relations:
            if relation.name in target.rest_shape and relation.target not in names:
                names.append(relation.target)
    for relation in owner.relations:
        if relation.name in owner.rest_shape and relation.target not in names:
            names.append(relation.target)
    return [MODEL[n] for n in names]


def include_type(owner: Type) -> Any:
    """The include paths of `owner` as a Literal: what parsing accepts, OpenAPI's enum."""
    return Literal[tuple(include_paths(owner))]


def paged_paths(owner: Type) -> list[str]:
    """The include paths whose lists are read a page at a time (`limit[path]` applies)."""
    return [p for p in include_paths(owner) if resolve(owner, p)[-1][0].paged]


def resolve(owner: Type, path: str) -> list[tuple[Relation, Type]]:
    """The relations along `path` from `owner`; KeyError at the first unknown name."""
    steps = []
    current = owner
    for name in path.split("."):
        relation = current.relation(name)
        current = MODEL[relation.target]
        steps.append((relation, current))
    return steps


def parse(
    owner: Type,
    *,
    fields: Sequence[str] | None,
    include: Sequence[str] | None,
    bracketed: Mapping[str, str],
) -> Shape:
    """The checked shape of a read of `owner`; InvalidParameter naming what is wrong."""
    paths: list[str] = []
    for path in include or ():
        if path.count(".") >= MAX_DEPTH:
            raise InvalidParameter("include", f"{path}: at most {MAX_DEPTH} levels")
        try:
            resolve(owner, path)
        except KeyError:
            allowed = ", ".join(r.name for r in owner.relations) or "nothing"
            raise InvalidParameter(
                "include", f"{path}: not a relation here; from here: {allowed}"
            ) from None
        paths.append(path)
    closed = _closed(paths)
    type_fields: dict[str, tuple[str, ...]] = {}
    limits: dict[str, int] = {}
    types = {t.rest: t for t in reachable_types(owner)}
    for name, value in bracketed.items():
        match = BRACKETED.match(name)
        if match is None:
            raise InvalidParameter(name, "unknown parameter")
        kind, inner = match.groups()
        if kind == "fields":
            target = types.get(inner)
            if target is None:
                raise InvalidParameter(name, f"no {inner} here; types: {', '.join(sorted(types))}")
            type_fields[inner] = _names(name, value, target)
        else:
            limits[inner] = _limit(name, inner, value, owner, closed)
    return Shape(
        fields=tuple(fields) if fields is not None else None,
        include=closed,
        type_fields=type_fields,
        limits=limits,
    )


def _names(parameter: str, value: str, target: Type) -> tuple[str, ...]:
    names = value.split(",")
    for name in names:
        if name not in target.rest_fields:
            raise InvalidParameter(
                parameter,
                f"{name}: not a field of {target.rest}; fields: {', '.join(target.rest_fields)}",
            )
    return tuple(dict.fromkeys(names))


def _limit(parameter: str, path: str, value: str, owner: Type, include: Sequence[str]) -> int:
    if path not in include:
        raise InvalidParameter(parameter, f"{path} is not included (include={path})")
    relation = resolve(owner, path)[-1][0]
    if not relation.paged:
        raise InvalidParameter(parameter, f"{path} is always whole; it takes no limit")
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= relation.max_limit:
        raise InvalidParameter(parameter, f"must be between 1 and {relation.max_limit}")
    return int(value)


def _closed(paths: Iterable[str]) -> tuple[str, ...]:
    """`paths` with every prefix of each (`reviews.author` includes `reviews`)."""
    found: list[str] = []
    for path in paths:
        parts = path.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix not in found:
                found.append(prefix)
    return tuple(found)


class Builder:
    """Builds the REST nodes of one read, collecting the values its slots take."""

    def __init__(
        self, shape: Shape, values: dict[str, Any], *, default_include: Sequence[str] = ()
    ) -> None:
        self.shape = shape
        self.values = values
        # A resource's own embedded relations (a product's category and tags) go away with
        # `fields`, unless included.
        narrowed = shape.fields is not None
        extra = () if narrowed else default_include
        self.include = _closed([*extra, *shape.include])

    def node(self, owner: Type, path: str = "") -> Node:
        """`owner` as REST shows it at include `path`: its fields (all, or the chosen ones
        and the id) with its always-embedded relations in place, then each included
        relation in the model's order."""
        chosen = self.shape.type_fields.get(owner.rest)
        if not path and self.shape.fields is not None:
            chosen = self.shape.fields
        prefix = f"{path}." if path else ""
        here = {
            p[len(prefix) :]
            for p in self.include
            if p.startswith(prefix) and "." not in p[len(prefix) :]
        }
        members: list[Member] = []
        for name in owner.rest_shape:
            if chosen is not None and name != "id" and name not in chosen and name not in here:
                continue
            if owner.has_relation(name):
                members.append(self.relation(owner, name, path))
            else:
                members.append(Scalar(name, name))
        for relation in owner.relations:
            if relation.name in here and relation.name not in owner.rest_shape:
                members.append(self.relation(owner, relation.name, path))
        return Node(owner.name, "rest", tuple(members))

    def relation(self, owner: Type, name: str, path: str) -> Member:
        relation = owner.relation(name)
        child_path = f"{path}.{name}" if path else name
        node = self.node(MODEL[relation.target], child_path)
        if not relation.many:
            return One(name, name, node)
        window = Window()
        if relation.paged:
            slot = Slot(f"limit[{child_path}]", "integer")
            self.values[slot.name] = self.shape.limits.get(child_path, relation.default_limit)
            window = Window(limit=slot)
        return Many(name, name, window, Items(node))

"""gateway/reads/shape.py: selection trees hold shape only, so they are the plan cache's key.

Two requests that differ only in values build equal trees (one plan); any difference of
shape (a type, a slot's SQL type, an output, the caller) is another key; trees never
change once built.
"""

from __future__ import annotations

import dataclasses

import pytest

from gateway.reads.planner import Planner, compile_query
from gateway.reads.shape import (
    Connection,
    Constant,
    Entities,
    Envelope,
    Listing,
    Lookup,
    Node,
    Query,
    Scalar,
    Slot,
    TotalCount,
    Window,
)


def _listing(*, limit_type: str = "integer", total: bool = False) -> Query:
    node = Node("Product", "rest", (Scalar("id", "id"), Scalar("name", "name")))
    window = Window("-price", Slot("limit", limit_type), filters=(("tag", Slot("tag", "text")),))
    return Query((Listing("data", "Product", window, Envelope(node, total)),))


def test_trees_built_apart_from_the_same_request_are_one_key() -> None:
    one, two = _listing(), _listing()
    assert one is not two and one == two and hash(one) == hash(two)
    planner = Planner()
    first, digest = planner.plan(one, "single")
    again, same = planner.plan(two, "single")
    assert first is again and digest == same and planner.compiled == 1


def test_any_difference_of_shape_is_another_key() -> None:
    base = _listing()
    others = [
        _listing(limit_type="bigint"),
        _listing(total=True),
        Query(base.roots, "user"),
        Query(base.roots, "admin"),
    ]
    assert len({base, *others}) == 5
    planner = Planner()
    for query in (base, *others):
        planner.plan(query, "single")
    assert planner.compiled == 5
    assert base.caller == "anonymous"


def test_a_tree_never_changes_once_built() -> None:
    query = _listing()
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.caller = "admin"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.roots[0].key = "other"  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        query.extra = 1  # type: ignore[attr-defined]


def test_a_slot_names_the_value_and_its_sql_type_and_keys_may_be_slots() -> None:
    alias = Slot("alias", "text")
    node = Node("Tag", "graphql", (Scalar(alias, "name"), Constant("__typename", "Tag")))
    lookup = Lookup(alias, "Tag", "{t}.id = {v}", Slot("id", "bigint"), node)
    plan = compile_query(Query((lookup,)))
    assert plan.params == ("alias", "id")
    assert "$1::text" in plan.sql and "$2::bigint" in plan.sql


def test_a_single_read_takes_one_lookup_or_listing_and_nothing_else() -> None:
    node = Node("Product", "graphql", (Scalar("id", "id"),))
    entities = Entities("_entities", (node,), Slot("types", "text[]"), Slot("ids", "bigint[]"))
    with pytest.raises(ValueError, match="a single read needs a lookup or a listing"):
        compile_query(Query((entities,)), "single")
    with pytest.raises(ValueError, match="too many values to unpack"):
        compile_query(Query((*_listing().roots, *_listing().roots)), "single")
    connection = Listing("p", "Product", Window(), Connection((TotalCount("totalCount"),)))
    assert compile_query(Query((connection, Constant("x", "y")))).lookups == ()

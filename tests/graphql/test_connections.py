"""graphql/connections.py: a service page as a Relay connection, its count run only on demand."""

from __future__ import annotations

import pytest

from gateway.graphql.connections import connection
from gateway.reads.pagination import Page

pytestmark = pytest.mark.anyio


class Counter:
    """A count callback that remembers how often it ran."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        return self.value


async def test_edges_pair_each_node_with_its_cursor_in_order() -> None:
    page = Page(items=[{"id": 1}, {"id": 2}], cursors=["c1", "c2"], next_cursor="c2")
    value = connection(page, Counter(7))
    assert value["edges"] == [
        {"cursor": "c1", "node": {"id": 1}},
        {"cursor": "c2", "node": {"id": 2}},
    ]
    assert value["page_info"] == {
        "has_next_page": True,
        "has_previous_page": False,
        "start_cursor": "c1",
        "end_cursor": "c2",
    }


async def test_the_last_page_has_no_next_page() -> None:
    page = Page(items=[{"id": 3}], cursors=["c3"], next_cursor=None)
    info = connection(page, Counter(1))["page_info"]
    assert info["has_next_page"] is False
    assert info["start_cursor"] == info["end_cursor"] == "c3"


async def test_an_empty_page_has_no_cursors() -> None:
    value = connection(Page(items=[], cursors=[], next_cursor=None), Counter(0))
    assert value["edges"] == []
    assert value["page_info"]["start_cursor"] is None
    assert value["page_info"]["end_cursor"] is None
    assert value["page_info"]["has_next_page"] is False


async def test_the_count_runs_only_when_total_count_is_resolved() -> None:
    count = Counter(42)
    value = connection(Page(items=[], cursors=[], next_cursor=None), count)
    assert count.calls == 0
    assert await value["total_count"](None) == 42
    assert count.calls == 1


def test_items_and_cursors_must_pair_up() -> None:
    page = Page(items=[{"id": 1}, {"id": 2}], cursors=["c1"], next_cursor=None)
    with pytest.raises(ValueError, match="zip"):
        connection(page, Counter(0))

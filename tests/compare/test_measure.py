"""What one exchange cost: key names, the entity a path answers with, the projection that
gives over-fetch, bytes on the wire, and the server's figures read from its headers.

tests/compare/test_runner.py checks the basic projection and wire bytes against a real run;
this module pins the edges of each rule.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from gateway.compare import measure

NEEDS = {
    "product": frozenset({"id", "name"}),
    "tag": frozenset({"name"}),
    "category": frozenset({"name"}),
}


def size(document: Any) -> int:
    return len(orjson.dumps(document))


def test_snake_case_meets_both_styles() -> None:
    assert measure.snake("ratingAvg") == "rating_avg"
    assert measure.snake("rating_avg") == "rating_avg"
    assert measure.snake("ID") == "i_d"
    assert measure.snake("PageInfo") == "page_info"


def test_the_entity_of_a_path_is_its_last_word_that_is_not_an_id() -> None:
    assert measure.entity_of_path("/api/v1/products") == "product"
    assert measure.entity_of_path("/api/v1/products/12") == "product"
    assert measure.entity_of_path("/api/v1/categories/3/products?limit=1&fields=id") == "product"
    assert measure.entity_of_path("/api/v1/users/2") == "user"
    assert measure.entity_of_path("/api/v1/auth/login") is None
    assert measure.entity_of_path("/") is None


def test_projection_keeps_needed_fields_through_envelopes_and_relations() -> None:
    graphql = {
        "data": {
            "products": {
                "totalCount": 2,
                "edges": [
                    {"node": {"id": "1", "name": "Lamp", "price": 3, "tags": []}},
                    {"node": {"id": "2", "name": "Desk", "price": 9, "category": None}},
                ],
            }
        }
    }
    kept = {
        "data": {
            "products": {
                "edges": [
                    # An empty relation the client asked for is part of the answer.
                    {"node": {"id": "1", "name": "Lamp", "tags": []}},
                    {"node": {"id": "2", "name": "Desk", "category": None}},
                ]
            }
        }
    }
    assert measure.needed_bytes(graphql, None, NEEDS) == size(kept)


def test_a_relation_the_scenario_does_not_need_is_dropped_even_when_empty() -> None:
    document = {"id": 1, "name": "Lamp", "reviews": [], "author": None}
    assert measure.needed_bytes(document, "product", NEEDS) == size({"id": 1, "name": "Lamp"})


def test_lists_of_scalars_are_values_and_lists_of_objects_are_entities() -> None:
    needs = {"product": frozenset({"name", "sizes"}), "tag": frozenset({"name"})}
    document = [
        {"name": "Lamp", "sizes": [1, 2], "tags": [{"id": 4, "name": "red"}, {"id": 5}]},
        {"id": 2},
    ]
    kept = [{"name": "Lamp", "sizes": [1, 2], "tags": [{"name": "red"}]}]
    assert measure.needed_bytes(document, "product", needs) == size(kept)


def test_nothing_needed_costs_nothing() -> None:
    assert measure.needed_bytes({"id": 1, "price": 3}, "order", NEEDS) == 0
    assert measure.needed_bytes([], "product", NEEDS) == 0
    assert measure.needed_bytes("text", "product", NEEDS) == 0
    assert measure.needed_bytes({"name": "x"}, None, NEEDS) == 0


def test_request_bytes_leave_out_the_runners_own_headers() -> None:
    plain = httpx.Request("GET", "http://h/api/v1/tags?limit=5")
    marked = httpx.Request(
        "GET",
        "http://h/api/v1/tags?limit=5",
        headers={
            "X-Gateway-Compare": "cold|1|abc",
            "X-Gateway-Charge-To": "seal",
            "x-request-id": "compare-1.1",
        },
    )
    assert measure.request_wire_bytes(marked) == measure.request_wire_bytes(plain)
    body = httpx.Request("POST", "http://h/graphql", content=b'{"query":"{ a }"}')
    head = httpx.Request("POST", "http://h/graphql", content=b"")
    # The body's bytes, and its Content-Length header's digits (17 against 0: one more).
    assert measure.request_wire_bytes(body) - measure.request_wire_bytes(head) == 17 + 1


def test_server_figures_come_from_its_headers_and_default_to_zero() -> None:
    timed = httpx.Response(
        200,
        headers={
            "Server-Timing": 'db;dur=1.25, app;desc="handler";dur=3.5, cache;dur=x',
            "X-Query-Count": "4",
        },
    )
    assert (measure.server_ms(timed), measure.db_ms(timed)) == (3.5, 1.25)
    assert measure.query_count(timed) == 4
    broken = httpx.Response(200, headers={"Server-Timing": "app;dur=fast", "X-Query-Count": "-1"})
    assert (measure.server_ms(broken), measure.db_ms(broken), measure.query_count(broken)) == (
        0.0,
        0.0,
        0,
    )
    bare = httpx.Response(204)
    assert (measure.server_ms(bare), measure.query_count(bare), measure.cache_outcome(bare)) == (
        0.0,
        0,
        "none",
    )
    assert measure.cache_outcome(httpx.Response(200, headers={"X-Cache": "MIXED"})) == "MIXED"

"""The scenario vocabulary: variables taken from the iteration or the fixture, titles, needs
and dotted paths into an answer."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.compare.catalogue import SCENARIOS
from gateway.compare.scenarios import VARIANT_TITLES, Operation, Ref, Scenario, dig, needs


async def _nothing(client: Any, fixture: Any, made: Any) -> None:
    return None


def test_a_ref_prefers_what_the_iteration_made_over_the_fixture() -> None:
    fixture = {"product_id": 7, "q": "lamp"}
    assert Ref("product_id").resolve(fixture, {}) == 7
    assert Ref("product_id").resolve(fixture, {"product_id": 9}) == 9
    # A made value wins even when it is falsy: presence decides, not truth.
    assert Ref("product_id").resolve(fixture, {"product_id": 0}) == 0
    assert Ref("product_id", as_id=True).resolve(fixture, {}) == "7"
    with pytest.raises(KeyError):
        Ref("missing").resolve(fixture, {})


def test_an_operation_resolves_refs_at_any_depth_and_keeps_plain_values() -> None:
    operation = Operation(
        document="mutation M($input: In!, $n: Int!) { m }",
        variables={
            "input": {"items": [{"productId": Ref("pid", as_id=True), "quantity": 1}]},
            "pair": (Ref("n"), "x"),
            "n": 3,
        },
    )
    resolved = operation.resolved({"pid": 12, "n": 5}, {})
    assert resolved == {
        "input": {"items": [{"productId": "12", "quantity": 1}]},
        "pair": [5, "x"],
        "n": 3,
    }
    # The declaration is untouched: each iteration resolves afresh.
    assert isinstance(operation.variables["input"]["items"][0]["productId"], Ref)
    assert Operation(document="{ a }").resolved({}, {}) == {}


def test_a_variant_title_is_the_scenarios_own_else_the_usual_one() -> None:
    scenario = Scenario(
        name="s",
        title="S",
        lesson="L",
        needs={},
        naive=_nothing,
        graphql=(),
        titles={"graphql": "GraphQL POST"},
    )
    assert scenario.title_of("graphql") == "GraphQL POST"
    assert scenario.title_of("rest_naive") == "REST naive"
    assert scenario.title_of("graphql_get") == "GraphQL GET"
    with pytest.raises(KeyError):
        scenario.title_of("soap")
    assert SCENARIOS["http-caching"].title_of("rest_tuned") == "REST GET"
    assert set(VARIANT_TITLES) == {"rest_naive", "rest_tuned", "rest", "graphql", "graphql_get"}


def test_needs_split_words_per_entity() -> None:
    assert needs(product="id  name\nprice", tag="name") == {
        "product": frozenset({"id", "name", "price"}),
        "tag": frozenset({"name"}),
    }
    assert needs(user="") == {"user": frozenset()}


def test_dig_follows_a_dotted_path_and_fails_on_a_missing_step() -> None:
    data = {"placeOrder": {"order": {"id": "41"}, "errors": []}}
    assert dig(data, "placeOrder.order.id") == "41"
    assert dig(data, "placeOrder") == data["placeOrder"]
    with pytest.raises(KeyError):
        dig(data, "placeOrder.review.id")
    with pytest.raises(TypeError):
        dig({"order": None}, "order.id")

"""The catalogue: every scenario once, in the page's order, and each one well formed: its
GraphQL valid against schema.graphql with exactly the variables it declares, a plan for
each variant it lists, needs the over-fetch projection understands, and writes that clean
up after themselves."""

from __future__ import annotations

import re

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

from gateway.compare.catalogue import SCENARIOS
from gateway.compare.measure import ENTITY_OF
from gateway.compare.scenarios import VARIANT_TITLES, Ref
from gateway.graphql.schema import build_schema
from gateway.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(PROJECT_ROOT / "schema.graphql")


def test_every_scenario_is_listed_once_by_its_name_in_the_pages_order() -> None:
    assert list(SCENARIOS) == [
        "product-cards",
        "product-page",
        "category-tree",
        "search",
        "order-history",
        "place-order",
        "add-review",
        "cache-cold-warm",
        "http-caching",
    ]
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name), name
    assert len({s.title for s in SCENARIOS.values()}) == len(SCENARIOS)


def test_every_graphql_operation_is_valid_and_declares_exactly_its_variables(
    schema: GraphQLSchema,
) -> None:
    for scenario in SCENARIOS.values():
        assert scenario.graphql, scenario.name
        for operation in scenario.graphql:
            document = parse(operation.document)
            assert validate(schema, document) == [], (scenario.name, operation.document)
            (definition,) = document.definitions
            assert isinstance(definition, OperationDefinitionNode)
            assert definition.name is not None  # the waterfall labels calls by it
            declared = {v.variable.name.value for v in definition.variable_definitions or ()}
            assert declared == set(operation.variables), scenario.name
            for key, path in operation.keep.items():
                assert path.split(".")[0] in operation.document, (scenario.name, key)


def test_every_listed_variant_has_a_plan_and_a_title() -> None:
    for scenario in SCENARIOS.values():
        assert len(set(scenario.variants)) == len(scenario.variants), scenario.name
        assert set(scenario.variants) <= set(VARIANT_TITLES), scenario.name
        if "rest_tuned" in scenario.variants:
            assert scenario.tuned is not None, scenario.name
        assert set(scenario.titles) <= set(scenario.variants), scenario.name
        # The visits of a page with an HTTP cache: one time per pass, from the first visit on.
        if scenario.visits_at:
            assert len(scenario.visits_at) == len(scenario.passes), scenario.name
            assert list(scenario.visits_at) == sorted(scenario.visits_at)
            assert scenario.visits_at[0] == 0


def test_needs_name_entities_the_projection_knows() -> None:
    known = set(ENTITY_OF.values())
    for scenario in SCENARIOS.values():
        assert scenario.needs and set(scenario.needs) <= known, scenario.name
        assert all(scenario.needs.values()), scenario.name


def test_writes_run_signed_in_and_undo_what_they_made() -> None:
    writes = {s.name for s in SCENARIOS.values() if s.writes}
    assert writes == {"place-order", "add-review"}
    for scenario in SCENARIOS.values():
        if scenario.writes:
            assert scenario.signed_in and scenario.cleanup is not None, scenario.name
            # What the GraphQL variant creates is kept for the cleanup to find.
            assert any(op.keep for op in scenario.graphql), scenario.name
    signed_in = {s.name for s in SCENARIOS.values() if s.signed_in}
    assert signed_in == {"order-history", "place-order", "add-review"}


def test_every_ref_names_something_prepare_or_an_earlier_operation_gives() -> None:
    # What each scenario's preparation puts in the fixture (see reads.py and writes.py).
    prepared = {
        "product-page": {"product_id"},
        "cache-cold-warm": {"product_id"},
        "http-caching": {"product_id"},
        "search": {"q"},
        "place-order": {"order_product_id"},
        "add-review": {"review_product_id"},
    }

    def refs(value: object) -> set[str]:
        if isinstance(value, Ref):
            return {value.key}
        if isinstance(value, dict):
            return set().union(*(refs(v) for v in value.values()))
        if isinstance(value, list | tuple):
            return set().union(*(refs(v) for v in value))
        return set()

    for scenario in SCENARIOS.values():
        known = set(prepared.get(scenario.name, set()))
        if scenario.prepare is None:
            assert not known, scenario.name
        for operation in scenario.graphql:
            assert refs(dict(operation.variables)) <= known, scenario.name
            known |= set(operation.keep)

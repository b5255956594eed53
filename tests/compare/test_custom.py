"""Your own scenario: a GraphQL query and REST requests, checked, run and measured.

Its over-fetch counts the fields the query selects; bad input is refused with a message
that says what and where, on the page's endpoint and in the CLI alike.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from graphql import parse

from gateway.compare import custom
from gateway.compare.custom import Custom, CustomError, build, needs_of, rest_steps
from gateway.compare.runner import Runner
from gateway.settings import Settings
from tests.compare.test_runner import seed_demo
from tests.conftest import app_client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def seeded(database_url: str) -> str:
    asyncio.run(seed_demo(database_url))
    return database_url


def test_needs_are_the_fields_the_query_selects_per_entity() -> None:
    document = parse(
        """query Page($id: ID!) {
          product(id: $id) {
            name ratingAvg
            category { id name parent { name } }
            ...Reviews
          }
          products(first: 3) { totalCount pageInfo { endCursor } edges { node { id } } }
        }
        fragment Reviews on Product {
          reviews(first: 2) { edges { node { rating author { displayName } } } }
        }"""
    )
    needs = needs_of(document)
    assert needs["product"] == {"name", "rating_avg", "category_id", "id", "total_count"}
    assert needs["category"] == {"id", "name"}
    assert needs["review"] == {"rating"}
    assert needs["user"] == {"display_name"}
    # What REST says under other names: the page's total and cursor.
    assert needs["page"] == {"total", "end_cursor", "next_cursor"}


def test_a_syntax_error_says_what_and_where() -> None:
    with pytest.raises(CustomError) as caught:
        custom.parse_document("query {\n  products(first: 5 { id }\n}")
    assert caught.value.problems == [
        ("graphql", "Syntax Error: Expected Name, found '{'. (line 2, column 21)")
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("", "give a GraphQL query"),
        ("mutation { logout { errors { code } } }", "a mutation is not measured here"),
        (
            "query A { tags { edges { node { id } } } } query B { tags { totalCount } }",
            "exactly one",
        ),
    ],
)
def test_only_one_query_is_measured(document: str, message: str) -> None:
    with pytest.raises(CustomError, match=message):
        custom.parse_document(document)


def test_rest_requests_are_gets_under_the_api_in_steps() -> None:
    steps = rest_steps(
        "/api/v1/products/1\nGET /api/v1/products/1/reviews?limit=5\n\n\n"
        "http://elsewhere.example/api/v1/categories/3\n"
    )
    assert steps == (
        ("/api/v1/products/1", "/api/v1/products/1/reviews?limit=5"),
        ("/api/v1/categories/3",),
    )
    with pytest.raises(CustomError) as caught:
        rest_steps("DELETE /api/v1/products/1\n/metrics\n/api/v1//x\n/api/v1/../metrics")
    assert [message.split(":")[0] for _, message in caught.value.problems] == [
        "line 1",
        "line 2",
        "line 3",
        "line 4",
    ]
    assert "only GET requests" in caught.value.problems[0][1]
    with pytest.raises(CustomError, match="at least one request"):
        rest_steps("\n\n")


async def test_a_custom_scenario_runs_and_measures_over_fetch_against_the_query(
    seeded: str, client: httpx.AsyncClient
) -> None:
    given = Custom(
        "query Cards { products(first: 5) { edges { node { id name price } } } }",
        (("/api/v1/products?limit=5",), ("/api/v1/categories/1", "/api/v1/categories/2")),
        {},
    )
    result = await Runner(client).run(build(given), repeat=1)
    rest = result.variant("rest").runs[0]
    graphql = result.variant("graphql").runs[0]
    assert rest.calls[0].path == "/api/v1/products?limit=5"
    assert rest.figures.requests == 3 and rest.figures.round_trips == 2
    assert graphql.figures.requests == 1 and graphql.figures.overfetch == 0
    # The plain list sends every field and the categories were never asked for.
    assert rest.figures.overfetch > 0.7
    assert result.variant("rest").title == "REST (your requests)"


async def test_the_run_endpoint_refuses_a_bad_custom_scenario_clearly(
    seeded: str, settings: Settings
) -> None:
    async with app_client(settings) as http:
        answer = await http.post(
            "/compare/run",
            json={
                "scenario": "custom",
                "custom": {"graphql": "{ products { edges { node { id } }", "rest": "/etc/passwd"},
            },
        )
        assert (answer.status_code, answer.json()["code"]) == (400, "VALIDATION_FAILED")
        errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
        assert errors == {
            "custom.graphql": "Syntax Error: Expected Name, found <EOF>. (line 1, column 35)",
            "custom.rest": "line 1: '/etc/passwd' is not a path under /api/v1/, such as "
            "/api/v1/products/1",
        }
        missing = await http.post("/compare/run", json={"scenario": "custom"})
        assert missing.json()["errors"][0]["field"] == "custom"
        network = await http.post("/compare/run", json={"scenario": "search", "networks": ["5g"]})
        assert network.json()["errors"][0]["field"] == "networks"

"""graphql/planned.py: which query documents the planner binds and which it leaves to the
resolvers; how a request binds (variables, aliases, fragments, @include/@skip, callers) and
which requests share a plan; and the answer it gives: one statement, a NOT_FOUND per missing
root lookup at its response key, capped errors, and an error per root when the database fails.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from graphql import GraphQLSchema, get_operation_ast, parse
from graphql.execution.values import VariableValues

from gateway.errors import DBUnavailable
from gateway.graphql.planned import Bound, PlannedQueries
from gateway.graphql.protection import coerce_variables
from gateway.graphql.schema import build_schema
from gateway.principal import ANONYMOUS, Principal
from gateway.settings import PROJECT_ROOT
from tests.conftest import app_client, app_settings, reference, run_sql

pytestmark = pytest.mark.anyio

SCHEMA: GraphQLSchema = build_schema(PROJECT_ROOT / "schema.graphql")
CUSTOMER = Principal(7, "customer")
ADMIN = Principal(1, "admin")


def bind(
    planned: PlannedQueries,
    text: str,
    principal: Principal = ANONYMOUS,
    /,
    **variables: Any,
) -> Bound | None:
    """Bind `text` as the endpoint does, after parsing, validation and variable coercion."""
    document = parse(text)
    operation = get_operation_ast(document)
    assert operation is not None
    values = coerce_variables(SCHEMA, operation, variables)
    assert isinstance(values, VariableValues), values
    return planned.bind(text, document, operation, values, principal)


# -- what is covered ---------------------------------------------------------------------------

COVERED = [
    '{ product(id: "1") { name category { slug parent { slug } } tags { name } } }',
    "{ products(first: 2) { totalCount pageInfo { hasNextPage endCursor } "
    "edges { cursor node { id reviews(first: 1) { edges { node { title } } } } } } }",
    '{ category(slug: "home") { children { slug } products { edges { node { id } } } } }',
    "{ categories { edges { node { ancestors { id } } } } tags { totalCount } }",
    '{ review(id: "1") { rating author { displayName } product { name } } }',
    '{ user(id: "1") { displayName } __typename }',
    "{ products { __typename edges { __typename node { __typename } } pageInfo { __typename } } }",
]


@pytest.mark.parametrize("text", COVERED)
def test_reads_of_the_model_are_bound_for_any_caller(text: str) -> None:
    planned = PlannedQueries(SCHEMA)
    for principal in (ANONYMOUS, CUSTOMER, ADMIN):
        assert bind(planned, text, principal) is not None


@pytest.mark.parametrize(
    "text",
    [
        'mutation { deleteTag(id: "1") { deletedId } }',
        'subscription { productChanged(id: "1") { id } }',
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Product") { name } }',
        "{ products { edges { node { id } } } __schema { description } }",
    ],
)
def test_writes_subscriptions_and_introspection_go_to_the_executor(text: str) -> None:
    assert bind(PlannedQueries(SCHEMA), text, ADMIN) is None


@pytest.mark.parametrize(
    "text", ["{ me { email } }", '{ order(id: "1") { total } }', "{ orders { totalCount } }"]
)
def test_what_needs_a_sign_in_is_bound_only_for_a_signed_in_caller(text: str) -> None:
    planned = PlannedQueries(SCHEMA)
    # Anonymous: the resolvers report UNAUTHENTICATED exactly as they always have.
    assert bind(planned, text) is None
    customer = bind(planned, text, CUSTOMER)
    assert customer is not None and customer.values["user"] == 7
    admin = bind(planned, text, ADMIN)
    assert admin is not None and admin.key != customer.key


@pytest.mark.parametrize(
    ("text", "variables"),
    [
        ("query($n: Int!) { products(first: $n) { totalCount } }", {"n": 0}),
        ("query($n: Int!) { products(first: $n) { totalCount } }", {"n": 101}),
        ('{ product(id: "abc") { id } }', {}),
        ('{ category(id: "1", slug: "home") { id } }', {}),
        ("{ category { id } }", {}),
        ('{ category(slug: "Not A Slug!") { id } }', {}),
        ("{ products(sort: null) { totalCount } }", {}),
        ('{ products(after: "not-a-cursor") { totalCount } }', {}),
        ("{ products(filter: {minPrice: -1}) { totalCount } }", {}),
        ('{ category(id: "1") { products(filter: {category: "x"}) { totalCount } } }', {}),
        ('{ product(id: "1") { reviews(first: 500) { totalCount } } }', {}),
    ],
)
def test_a_request_whose_arguments_the_resolvers_refuse_is_left_to_them(
    text: str, variables: dict[str, Any]
) -> None:
    assert bind(PlannedQueries(SCHEMA), text, **variables) is None


def test_a_fragment_on_another_type_leaves_the_document_to_the_executor() -> None:
    text = '{ product(id: "1") { ... on Category { slug } } }'
    assert bind(PlannedQueries(SCHEMA), text) is None


# -- how requests bind, and which share a plan ----------------------------------------------------

PAGE = "query($n: Int!, $after: String) { products(first: $n, after: $after) { edges { cursor } } }"


def test_requests_differing_only_in_values_share_one_key_and_one_tree() -> None:
    planned = PlannedQueries(SCHEMA)
    one = bind(planned, PAGE, n=1)
    two = bind(planned, PAGE, n=50)
    assert one is not None and two is not None
    assert one.key == two.key
    assert one.query is two.query
    assert one.values["s0.limit"] == 1 and two.values["s0.limit"] == 50


def test_a_filter_changes_the_shape_and_so_the_key() -> None:
    planned = PlannedQueries(SCHEMA)
    filtered = bind(planned, "{ products(filter: {inStock: true}) { totalCount } }")
    plain = bind(planned, "{ products { totalCount } }")
    assert filtered is not None and plain is not None
    assert filtered.key != plain.key
    assert filtered.values["s0.in_stock"] is True


def test_a_lookup_binds_its_parsed_id_or_slug() -> None:
    planned = PlannedQueries(SCHEMA)
    by_id = bind(planned, "query($id: ID!) { product(id: $id) { id } }", id="42")
    by_slug = bind(planned, '{ category(slug: "garden-tools") { id } }')
    assert by_id is not None and by_id.values["s0.v"] == 42
    assert by_slug is not None and by_slug.values["s0.v"] == "garden-tools"


def test_aliases_are_bound_as_values_so_renamed_requests_share_a_tree() -> None:
    planned = PlannedQueries(SCHEMA)
    text = '{ first: product(id: "1") { label: name } second: product(id: "2") { name } }'
    bound = bind(planned, text)
    assert bound is not None
    assert [bound.values[f"a{i}"] for i in range(2)] == ['"first":', '"label":']
    assert bound.values["a2"] == '"second":'
    assert len(bound.query.roots) == 2


@pytest.mark.parametrize(
    ("flags", "roots"),
    [
        ({"withTags": True, "noReviews": False}, 3),
        ({"withTags": False, "noReviews": False}, 2),
        ({"withTags": False, "noReviews": True}, 1),
    ],
)
def test_include_and_skip_read_their_variables_into_the_template(
    flags: dict[str, bool], roots: int
) -> None:
    text = """query($withTags: Boolean!, $noReviews: Boolean!) {
        products(first: 1) { totalCount }
        tags @include(if: $withTags) { totalCount }
        ...R @skip(if: $noReviews)
        product(id: "1") @skip(if: true) { id }
    }
    fragment R on Query { review(id: "1") { id } }"""
    planned = PlannedQueries(SCHEMA)
    bound = bind(planned, text, **flags)
    assert bound is not None
    assert len(bound.query.roots) == roots
    other = bind(planned, text, withTags=not flags["withTags"], noReviews=flags["noReviews"])
    assert other is not None and other.key != bound.key


def test_directives_apply_before_coverage_is_judged() -> None:
    text = """query($signedIn: Boolean!) { products(first: 1) { totalCount }
        me @include(if: $signedIn) { email } }"""
    planned = PlannedQueries(SCHEMA)
    # Anonymous without `me`: nothing needs a sign-in, so the planner answers.
    assert bind(planned, text, signedIn=False) is not None
    assert bind(planned, text, signedIn=True) is None


def test_a_field_selected_twice_under_one_key_is_one_root() -> None:
    text = '{ product(id: "1") { name } product(id: "1") { sku } }'
    bound = bind(PlannedQueries(SCHEMA), text)
    merged = bind(PlannedQueries(SCHEMA), '{ product(id: "1") { name sku } }')
    assert bound is not None and merged is not None
    assert len(bound.query.roots) == 1
    assert bound.query == merged.query


def test_fragments_and_inline_fragments_merge_into_one_selection() -> None:
    spread = """{ product(id: "1") { ...P ... on Product { price } ... { stock } } }
        fragment P on Product { name ...Q } fragment Q on Product { name sku }"""
    flat = '{ product(id: "1") { name sku price stock } }'
    planned = PlannedQueries(SCHEMA)
    left, right = bind(planned, spread), bind(planned, flat)
    assert left is not None and right is not None
    assert left.query == right.query


def test_templates_are_kept_least_recently_used_first_out() -> None:
    # Each document keeps two entries: the variables its directives read, and its template.
    planned = PlannedQueries(SCHEMA, max_templates=4)
    texts = [f'{{ product(id: "{i}") {{ id }} t{i}: tags {{ totalCount }} }}' for i in (1, 2, 3)]
    first = bind(planned, texts[0])
    assert first is not None
    again = bind(planned, texts[0])
    assert again is not None and again.template is first.template
    bind(planned, texts[1])
    bind(planned, texts[2])  # the first document's entries go
    after = bind(planned, texts[0])
    assert after is not None and after.template is not first.template


# -- failures per root ---------------------------------------------------------------------------


def test_a_database_failure_is_an_error_per_root_and_constants_still_answer() -> None:
    planned = PlannedQueries(SCHEMA)
    bound = bind(planned, '{ __typename p: product(id: "1") { id } review(id: "2") { id } }')
    assert bound is not None
    result = planned.failure(bound, DBUnavailable())
    assert result["data"] == {"__typename": "Query", "p": None, "review": None}
    assert [e["path"] for e in result["errors"]] == [["p"], ["review"]]
    assert {e["extensions"]["code"] for e in result["errors"]} == {"DB_UNAVAILABLE"}


def test_a_failed_non_null_root_makes_data_null() -> None:
    planned = PlannedQueries(SCHEMA, max_errors=2)
    text = '{ products { totalCount } a: product(id: "1") { id } b: product(id: "2") { id } }'
    bound = bind(planned, text)
    assert bound is not None
    result = planned.failure(bound, DBUnavailable())
    assert result["data"] is None
    assert [e["extensions"]["code"] for e in result["errors"]] == [
        "DB_UNAVAILABLE",
        "TOO_MANY_ERRORS",
    ]


# -- answers over HTTP: one statement, errors as the resolvers give them -------------------------


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO categories (slug, name, parent_id) VALUES ('lamps', 'Lamps', 1);
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'P-' || i, 'Product ' || i, i, i % 2, 1 + i % 2 FROM generate_series(1, 6) AS i;
        INSERT INTO tags (name) VALUES ('sale'), ('new');
        INSERT INTO product_tags (product_id, tag_id) VALUES (1, 1), (1, 2), (2, 2);
        """,
    )
    return database_url


@pytest.fixture(scope="module")
async def planner(catalogue: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app_settings(catalogue, redis_url)) as http:
        yield http


@pytest.fixture(scope="module")
async def resolvers(catalogue: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with reference(app_settings(catalogue, redis_url)) as http:
        yield http


async def post(
    http: httpx.AsyncClient, text: str, headers: dict[str, str] | None = None, **variables: Any
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": text, "variables": variables}, headers=headers or {}
    )


def without_request_ids(body: bytes) -> bytes:
    return re.sub(rb'"request_id":"[^"]*"', b'"request_id":""', body)


def comparable(response: httpx.Response) -> tuple[bytes, list[Any]]:
    """The data exactly as sent, and the errors (request ids aside) in path order: the
    executor lists errors as its resolvers finish, the planner in document order."""
    body = orjson.loads(without_request_ids(response.content))
    data = orjson.dumps(body.get("data"))
    return data, sorted(body.get("errors", []), key=lambda e: e.get("path", []))


ANSWERS = [
    """query($tags: Boolean!) { __typename first: products(first: 2, sort: PRICE_DESC) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { ...P tags @include(if: $tags) { name } } } }
        home: category(slug: "home") { name children { slug } products(first: 1) { totalCount } } }
    fragment P on Product { id label: name category { slug } }""",
    '{ a: product(id: "1") { name } missing: product(id: "999") { name } '
    'category(slug: "nope") { id } review(id: "5") { id } user(id: "77") { id } }',
]


@pytest.mark.parametrize("text", ANSWERS)
async def test_the_planned_answer_is_the_resolvers_answer_in_one_statement(
    planner: httpx.AsyncClient, resolvers: httpx.AsyncClient, text: str
) -> None:
    planned = await post(planner, text, tags=True)
    reference_answer = await post(resolvers, text, tags=True)
    assert planned.headers["x-query-count"] == "1"
    assert int(reference_answer.headers["x-query-count"]) > 1
    assert comparable(planned) == comparable(reference_answer)


async def test_a_missing_lookup_is_not_found_at_its_response_key(
    planner: httpx.AsyncClient,
) -> None:
    response = await post(planner, ANSWERS[1])
    body = orjson.loads(response.content)
    assert body["data"] == {
        "a": {"name": "Product 1"},
        "missing": None,
        "category": None,
        "review": None,
        "user": None,
    }
    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        (["missing"], "Product 999 does not exist."),
        (["category"], "Category nope does not exist."),
        (["review"], "Review 5 does not exist."),
        (["user"], "User 77 does not exist."),
    ]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"NOT_FOUND"}


async def test_missing_lookups_past_the_error_cap_end_with_a_notice(
    catalogue: str, redis_url: str
) -> None:
    text = "{ " + " ".join(f'p{i}: product(id: "{900 + i}") {{ id }}' for i in range(5)) + " }"
    async with app_client(app_settings(catalogue, redis_url, graphql_max_errors=3)) as http:
        response = await post(http, text)
    body = orjson.loads(response.content)
    assert response.headers["x-query-count"] == "1"
    assert [e["extensions"]["code"] for e in body["errors"]] == [
        "NOT_FOUND",
        "NOT_FOUND",
        "TOO_MANY_ERRORS",
    ]
    assert [e["path"] for e in body["errors"][:2]] == [["p0"], ["p1"]]


async def answered_by(http: httpx.AsyncClient) -> dict[str, float]:
    """The app's count of queries answered by each path, from /metrics."""
    text = (await http.get("/metrics")).text
    found = re.findall(r'gateway_graphql_queries_total\{path="(\w+)"\} ([0-9.]+)', text)
    counts = {"planned": 0.0, "resolvers": 0.0}
    counts.update({path: float(value) for path, value in found})
    return counts


async def test_documents_it_leaves_are_answered_by_the_resolvers(
    planner: httpx.AsyncClient,
) -> None:
    before = await answered_by(planner)
    await post(planner, '{ product(id: "1") { name } }')
    await post(planner, "{ me { email } }")  # anonymous: the resolvers refuse it
    await post(planner, '{ product(id: "x") { name } }')  # an ID the resolvers refuse
    after = await answered_by(planner)
    assert after["planned"] - before["planned"] == 1
    assert after["resolvers"] - before["resolvers"] == 2

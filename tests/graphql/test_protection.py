"""Protection before execution: every limit at and just past its value, refused with its
code and no SQL run; introspection and suggestions in both modes; the verdict cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, get_introspection_query

from gateway.graphql.documents import Documents, VerdictCache
from gateway.graphql.protection import Limits
from gateway.graphql.schema import build_schema
from gateway.settings import PROJECT_ROOT, Settings, SettingsError
from tests.conftest import app_client, run_sql
from tests.support import gql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    """A category tree twelve levels deep and a few products, so deep queries have data."""

    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('c1', 'C1');
        INSERT INTO categories (slug, name, parent_id)
        SELECT 'c' || n, 'C' || n, n - 1 FROM generate_series(2, 12) n;
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'P-' || n, 'P' || n, n, 5, 12 FROM generate_series(1, 3) n;
        """,
    )
    return database_url


def refused(response: httpx.Response, code: str) -> dict[str, Any]:
    """Assert a 400 refusal with `code` that ran no SQL; the first error."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert code in [e["extensions"]["code"] for e in body["errors"]], body
    assert response.headers["x-query-count"] == "0"
    return next(e for e in body["errors"] if e["extensions"]["code"] == code)


def parents(levels: int) -> str:
    """`category` then `levels` nested `parent`s, then `name`: depth levels + 2."""
    return (
        'query { category(slug: "c12") { ' + "parent { " * levels + "name" + " }" * levels + " } }"
    )


# Tokens ------------------------------------------------------------------------------------


async def test_token_cap_counts_comments_and_stops_the_parser(api: httpx.AsyncClient) -> None:
    # `{ __typename }` is 3 tokens; each comment line is one more.
    at_limit = "{ __typename }" + "#\n" * (15_000 - 3)
    ok = await gql(api, at_limit)
    assert ok.status_code == 200
    assert ok.json() == {"data": {"__typename": "Query"}}
    error = refused(await gql(api, at_limit + "#\n"), "QUERY_TOO_LARGE")
    assert error["message"] == "The document has more than 15000 tokens."


# Depth -------------------------------------------------------------------------------------


async def test_depth_at_and_past_the_limit(api: httpx.AsyncClient) -> None:
    at_limit = await gql(api, parents(8))  # category, 8 parents, name: 10 levels
    assert at_limit.status_code == 200
    assert at_limit.json()["data"]["category"]["parent"]["parent"]
    error = refused(await gql(api, parents(9)), "QUERY_TOO_DEEP")
    assert error["message"] == "The operation is 11 levels deep; the limit is 10."


async def test_depth_counts_through_fragments_and_inline_fragments(
    api: httpx.AsyncClient,
) -> None:
    fragments = """
        fragment Up on Category { parent { ... on Category { parent { ...Up2 } } } }
        fragment Up2 on Category { parent { parent { parent { parent { name } } } } }
    """
    # category + 6 parents via fragments + name = 8 levels, nested under 2 more parents.
    ok = await gql(
        api, 'query { category(slug: "c12") { parent { parent { ...Up } } } }' + fragments
    )
    assert ok.status_code == 200, ok.text
    too_deep = 'query { category(slug: "c12") { parent { parent { parent { ...Up } } } } }'
    refused(await gql(api, too_deep + fragments), "QUERY_TOO_DEEP")


async def test_a_fragment_cycle_is_refused_without_running(api: httpx.AsyncClient) -> None:
    cycle = """
        query { category(slug: "c1") { ...A } }
        fragment A on Category { parent { ...B } }
        fragment B on Category { children { ...A } }
    """
    error = refused(await gql(api, cycle), "GRAPHQL_VALIDATION_FAILED")
    assert "Cannot spread fragment" in error["message"]


# Aliases and root fields -------------------------------------------------------------------


def aliased(count: int) -> str:
    fields = " ".join(f"a{i}: id" for i in range(count))
    return f"query {{ products(first: 1) {{ edges {{ node {{ {fields} }} }} }} }}"


async def test_aliases_at_and_past_the_limit(api: httpx.AsyncClient) -> None:
    ok = await gql(api, aliased(30))
    assert ok.status_code == 200
    assert len(ok.json()["data"]["products"]["edges"][0]["node"]) == 30
    error = refused(await gql(api, aliased(31)), "TOO_MANY_ALIASES")
    assert error["message"] == "The operation uses 31 aliases; the limit is 30."


async def test_aliases_in_a_fragment_count_once_per_spread(api: httpx.AsyncClient) -> None:
    fragment = "fragment F on Product { " + " ".join(f"f{i}: id" for i in range(15)) + " }"
    twice = 'query { a: product(id: "1") { ...F } b: product(id: "2") { ...F } }'
    # 15 in the fragment, spread twice, plus the two aliased roots: 32.
    refused(await gql(api, twice + fragment), "TOO_MANY_ALIASES")
    once = 'query { a: product(id: "1") { ...F } }'
    assert (await gql(api, once + fragment)).status_code == 200


def roots(count: int) -> str:
    return "query { " + " ".join(f"r{i}: __typename" for i in range(count)) + " }"


async def test_root_fields_at_and_past_the_limit(api: httpx.AsyncClient) -> None:
    assert (await gql(api, roots(20))).status_code == 200
    error = refused(await gql(api, roots(21)), "TOO_MANY_ROOT_FIELDS")
    assert error["message"] == "The operation selects 21 top-level fields; the limit is 20."
    # Root fields hidden in a fragment count too.
    hidden = "query { ...R } fragment R on Query { " + roots(21)[8:-2] + " }"
    refused(await gql(api, hidden), "TOO_MANY_ROOT_FIELDS")


# Cost and page sizes -----------------------------------------------------------------------

NESTED = """
query Nested($n: Int = 100, $m: Int = 100) {
  products(first: $n) { edges { node { reviews(first: $m) { edges { node { id } } } } } }
}
"""


async def test_cost_reads_variables(api: httpx.AsyncClient) -> None:
    # n products plus n * m reviews: 10 + 990 is exactly the limit.
    ok = await gql(api, NESTED, n=10, m=99)
    assert ok.status_code == 200
    error = refused(await gql(api, NESTED, n=10, m=100), "QUERY_TOO_COMPLEX")
    assert error["message"] == "The operation may cost 1010; the limit is 1000."
    assert error["extensions"]["cost"] == {"requested": 1010, "maximum": 1000}


async def test_remembered_verdicts_follow_the_variables_they_depend_on(
    api: httpx.AsyncClient,
) -> None:
    """Verdicts are remembered per document and the variables that can change them: the
    same document alternating between an allowed and a refused cost gets each right, while
    an id, which cannot change a cost, shares one verdict."""
    for _ in range(2):
        assert (await gql(api, NESTED, n=10, m=99)).status_code == 200
        refused(await gql(api, NESTED, n=10, m=100), "QUERY_TOO_COMPLEX")
        refused(await gql(api, NESTED, n=10, m=101), "INVALID_PARAMETER")
    by_id = "query($id: ID!, $m: Int!) { product(id: $id) { reviews(first: $m) { totalCount } } }"
    for product in ("1", "2"):
        assert (await gql(api, by_id, id=product, m=5)).status_code == 200
        refused(await gql(api, by_id, id=product, m=0), "INVALID_PARAMETER")


async def test_cost_reads_variable_defaults(api: httpx.AsyncClient) -> None:
    refused(await gql(api, NESTED), "QUERY_TOO_COMPLEX")


@pytest.mark.parametrize("first", [101, 0])
async def test_page_sizes_are_checked_before_anything_runs(
    api: httpx.AsyncClient, first: int
) -> None:
    # Without the check the outer products page would have run before reviews refused.
    page = "products(first: 2) { edges { node { reviews(first: %s) { totalCount } } } }"
    query = "query($m: Int!) { " + page % "$m" + " }"
    error = refused(await gql(api, query, m=first), "INVALID_PARAMETER")
    assert error["message"] == "first: must be between 1 and 100"
    refused(await gql(api, "{ " + page % first + " }"), "INVALID_PARAMETER")
    assert (await gql(api, query, m=100)).status_code == 200


async def test_an_explicit_null_page_size_is_refused(api: httpx.AsyncClient) -> None:
    # Found by the fuzzer: `first: null` overrode the default and reached the resolver.
    refused(await gql(api, "{ tags(first: null) { totalCount } }"), "INVALID_PARAMETER")
    query = "query($n: Int) { products(first: $n) { totalCount } }"
    refused(await gql(api, query, n=None), "INVALID_PARAMETER")
    omitted = await api.post("/graphql", json={"query": query})
    assert omitted.json() == {"data": {"products": {"totalCount": 3}}}


async def test_bad_variables_are_refused_before_anything_runs(api: httpx.AsyncClient) -> None:
    refused(await gql(api, NESTED, n="many"), "GRAPHQL_VALIDATION_FAILED")
    refused(
        await gql(api, "query($id: ID!) { product(id: $id) { id } }"), "GRAPHQL_VALIDATION_FAILED"
    )


# Introspection and suggestions -------------------------------------------------------------

INTROSPECTION = "{ __schema { queryType { name } } }"
MISSPELLED = [
    ("{ prodcts(first: 1) { totalCount } }", {}),
    ("{ products(frist: 1) { totalCount } }", {}),
    ("{ orders(status: PENDNG) { totalCount } }", {}),
    ("fragment F on Prodct { id } { products { edges { node { ...F } } } }", {}),
    (
        "mutation($input: CreateTagInput!) { createTag(input: $input) { tag { id } } }",
        {"input": {"nmae": "x"}},
    ),
]


# At most GRAPHQL_MAX_ERRORS errors per answer -------------------------------------------


def assert_capped(errors: list[dict[str, Any]], limit: int, code: str) -> None:
    assert len(errors) == limit
    assert {e["extensions"]["code"] for e in errors[:-1]} == {code}
    notice = errors[-1]
    assert notice["extensions"]["code"] == "TOO_MANY_ERRORS"
    assert notice["message"] == f"Too many errors: only the first {limit - 1} are shown."


async def test_validation_errors_are_capped(api: httpx.AsyncClient) -> None:
    # 150 unknown fields made 101 errors (19 KB) before the cap.
    query = '{ product(id: "1") { ' + " ".join(f"nope{n}" for n in range(150)) + " } }"
    response = await gql(api, query)
    assert response.status_code == 400
    assert_capped(response.json()["errors"], 10, "GRAPHQL_VALIDATION_FAILED")
    assert len(response.content) < 2500
    assert response.headers["x-query-count"] == "0"
    # At the cap nothing is left out.
    exactly = await gql(
        api, '{ product(id: "1") { ' + " ".join(f"no{n}" for n in range(10)) + " } }"
    )
    assert len(exactly.json()["errors"]) == 10
    assert "TOO_MANY_ERRORS" not in exactly.text


async def test_execution_and_variable_errors_are_capped(settings: Settings, catalogue: str) -> None:
    async with app_client(settings, graphql_max_errors=3) as http:
        missing = (
            "{ " + " ".join(f'p{n}: product(id: "{900 + n}") {{ id }}' for n in range(6)) + " }"
        )
        executed = await gql(http, missing)
        assert executed.status_code == 200
        body = executed.json()
        assert body["data"] == {f"p{n}": None for n in range(6)}
        assert_capped(body["errors"], 3, "NOT_FOUND")
        five = "query Q(" + ", ".join(f"$v{n}: Int!" for n in range(5)) + ") { __typename }"
        coerced = await http.post("/graphql", json={"query": five, "variables": {}})
        assert coerced.status_code == 400
        assert len(coerced.json()["errors"]) == 3
        assert coerced.json()["errors"][-1]["extensions"]["code"] == "TOO_MANY_ERRORS"


async def test_introspection_and_explorer_in_development(api: httpx.AsyncClient) -> None:
    response = await gql(api, INTROSPECTION)
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    # GraphiQL's own introspection query nests deeper than the depth limit: it is exempt.
    full = await gql(api, get_introspection_query(descriptions=True))
    assert full.status_code == 200
    assert full.json()["data"]["__schema"]["subscriptionType"]["name"] == "Subscription"
    assert "text/html" in (await api.get("/graphql")).headers["content-type"]


async def test_introspection_and_explorer_off_in_production(settings: Settings) -> None:
    async with app_client(settings, env="production") as http:
        error = refused(await gql(http, INTROSPECTION), "INTROSPECTION_DISABLED")
        assert error["message"] == "Introspection is disabled on this server."
        refused(await gql(http, '{ __type(name: "Product") { name } }'), "INTROSPECTION_DISABLED")
        # __typename is not introspection: clients add it to every selection.
        typename = await gql(http, "{ __typename }")
        assert typename.json() == {"data": {"__typename": "Query"}}
        # No GraphiQL: a plain GET is a GraphQL request without its query.
        explorer = await http.get("/graphql")
        assert explorer.status_code == 400
        assert explorer.json()["errors"][0]["extensions"]["code"] == "INVALID_PARAMETER"


@pytest.mark.parametrize("env", ["development", "production"])
async def test_no_suggestions_in_either_mode(settings: Settings, env: str) -> None:
    async with app_client(settings, env=env) as http:
        for query, variables in MISSPELLED:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
            assert response.status_code == 400, query
            messages = " ".join(e["message"] for e in response.json()["errors"])
            assert "Did you mean" not in messages, messages
            assert response.headers["x-query-count"] == "0"


# The verdict cache -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(PROJECT_ROOT / "schema.graphql")


def test_verdicts_are_cached_per_document(schema: GraphQLSchema) -> None:
    documents = Documents(schema, Limits())
    first = documents.verdict("{ __typename }")
    assert documents.verdict("{ __typename }") is first
    assert (documents.cache.hits, documents.cache.misses) == (1, 1)
    assert documents.verdict("{ nope }").errors
    assert documents.verdict("{ nope }").errors
    assert documents.cache.hits == 2


def test_the_cache_key_covers_schema_and_static_limits(
    schema: GraphQLSchema, tmp_path: Path
) -> None:
    shared = VerdictCache()
    strict = Documents(schema, Limits(max_depth=2), cache=shared)
    loose = Documents(schema, Limits(), cache=shared)
    production = Documents(schema, Limits(introspection=False), cache=shared)
    deep = "{ products { edges { node { id } } } }"
    assert strict.verdict(deep).errors
    assert not loose.verdict(deep).errors
    assert not loose.verdict(INTROSPECTION).errors
    assert production.verdict(INTROSPECTION).errors
    # A schema of its own to change: build_schema shares one per file among its callers.
    copy = tmp_path / "schema.graphql"
    copy.write_text((PROJECT_ROOT / "schema.graphql").read_text())
    other = build_schema(copy)
    assert other is not schema
    other.query_type.fields.pop("tags")  # type: ignore[union-attr]
    changed = Documents(other, Limits(), cache=shared)
    assert not loose.verdict("{ tags { totalCount } }").errors
    assert changed.verdict("{ tags { totalCount } }").errors


def test_the_cache_is_bounded_and_skips_large_documents(schema: GraphQLSchema) -> None:
    documents = Documents(schema, Limits(), cache=VerdictCache(max_entries=3), max_chars=100)
    for i in range(5):
        documents.verdict(f"{{ a{i}: __typename }}")
    assert len(documents.cache) == 3
    documents.verdict("{ __typename }" + " " * 200)
    assert len(documents.cache) == 3


def test_limits_come_from_the_environment() -> None:
    env = {
        "GRAPHQL_MAX_TOKENS": "500",
        "GRAPHQL_MAX_DEPTH": "4",
        "GRAPHQL_MAX_ALIASES": "0",
        "GRAPHQL_MAX_ROOT_FIELDS": "3",
        "GRAPHQL_MAX_COST": "50",
        "GRAPHQL_MAX_ERRORS": "5",
        "GRAPHQL_PERSISTED_ONLY": "true",
        "GRAPHQL_PERSISTED_MAX_BYTES": "4096",
        "GRAPHQL_PERSISTED_MAX_COUNT": "100",
        "GRAPHQL_PERSISTED_TTL": "3600",
        "GRAPHQL_WS_MAX_OPERATIONS": "7",
        "GRAPHQL_PERSISTED_MANIFEST": "/etc/gateway/manifest.json",
        "GATEWAY_ENV": "production",
        "JWT_SECRET": "x" * 40,
    }
    loaded = Settings.from_env(env)
    assert Limits.from_settings(loaded) == Limits(
        max_tokens=500,
        max_depth=4,
        max_aliases=0,
        max_root_fields=3,
        max_cost=50,
        max_errors=5,
        introspection=False,
    )
    assert loaded.graphql_persisted_only is True
    assert (
        loaded.graphql_persisted_max_bytes,
        loaded.graphql_persisted_max_count,
        loaded.graphql_persisted_ttl,
        loaded.graphql_ws_max_operations,
    ) == (4096, 100, 3600, 7)
    assert str(loaded.graphql_persisted_manifest) == "/etc/gateway/manifest.json"
    with pytest.raises(SettingsError, match="GRAPHQL_PERSISTED_ONLY"):
        Settings.from_env({"GRAPHQL_PERSISTED_ONLY": "maybe"})
    with pytest.raises(SettingsError, match="GRAPHQL_MAX_DEPTH"):
        Settings.from_env({"GRAPHQL_MAX_DEPTH": "0"})
    with pytest.raises(SettingsError, match="GRAPHQL_MAX_ERRORS"):
        Settings.from_env({"GRAPHQL_MAX_ERRORS": "1"})

"""The GraphQL API as an Apollo Federation 2 subgraph (GRAPHQL_FEDERATION=true).

In process: the subgraph's SDL, `_entities` answered by one planned statement for any
number and mix of representations (and by the reference resolvers, batched, with the same
bytes), its refusals, and the schema left exactly as it was with the setting off.

Across processes: a real Apollo gateway (`@apollo/gateway` with `IntrospectAndCompose`,
`@apollo/server`) composes `gateway serve` with a small inventory subgraph written for
this test (`@apollo/subgraph`, tests/federation/inventory.mjs) into one supergraph and
answers queries that need both. The npm packages are pinned in
tests/federation/package-lock.json and installed by `npm ci`; the test skips only when
Node.js is missing or the npm registry cannot be reached.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from graphql import build_schema as graphql_build_schema
from graphql import print_schema

from gateway.graphql.schema import build_schema
from gateway.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_JWT_SECRET, Actors, app_client, reference, run_sql
from tests.processes import Listening, Served, base_env, free_port, npm_installed

pytestmark = pytest.mark.anyio

FEDERATION_DIR = PROJECT_ROOT / "tests" / "federation"

SHOP = """
INSERT INTO categories (slug, name, parent_id) VALUES ('home', 'Home', NULL), ('lamps', 'Lamps', 1);
INSERT INTO products (sku, name, price, stock, category_id)
SELECT 'P-' || n, 'Lamp ' || n, n + 0.5, n % 8, 1 + n % 2 FROM generate_series(1, 8) n;
INSERT INTO users (email, display_name, password_hash, role) VALUES
    ('ada@example.com', 'Ada', '!', 'customer'),
    ('bob@example.com', 'Bob', '!', 'customer'),
    ('root@example.com', 'Root', '!', 'admin');
INSERT INTO reviews (product_id, author_id, rating, title, created_at) VALUES
    (1, 1, 5, 'Bright', timestamptz '2026-01-01 10:00:00+00'),
    (1, 2, 3, 'Fine', timestamptz '2026-01-02 10:00:00+00'),
    (2, 1, 4, 'Warm', timestamptz '2026-01-03 10:00:00+00');
"""

ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Product {
      id name price inStock
      category { slug parent { name } }
      reviews(first: 1) { totalCount edges { node { title author { displayName } } } }
    }
    ... on Category { id name children { slug } }
    ...review
    ... on User { id displayName }
  }
}
fragment review on Review { id rating product { name } author { displayName } }
"""


def representations(*pairs: tuple[str, int | str]) -> list[dict[str, Any]]:
    return [{"__typename": type_name, "id": str(key)} for type_name, key in pairs]


MIXED = representations(
    ("Product", 2),
    ("User", 1),
    ("Category", 2),
    ("Review", 1),
    ("Product", 999),
    ("Product", 1),
    ("User", 3),
    ("Review", 3),
)


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, SHOP)
    return database_url


@pytest.fixture
def federated(shop: str, settings: Settings) -> Settings:
    return replace(settings, graphql_federation=True)


@pytest.fixture
async def subgraph(federated: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(federated) as http:
        yield http


async def post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    return await http.post("/graphql", json={"query": query, "variables": variables or {}})


# The subgraph's schema -----------------------------------------------------------------------


async def test_the_sdl_links_federation_2_and_keys_the_entities(
    subgraph: httpx.AsyncClient,
) -> None:
    response = await post(subgraph, "{ _service { sdl } }")
    assert response.status_code == 200, response.text
    sdl = response.json()["data"]["_service"]["sdl"]
    assert sdl.startswith(
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])'
    )
    for name in ("Product", "Category", "Review", "User"):
        assert f'type {name} @key(fields: "id") {{' in sdl
    assert sdl.count("@key(") == 4  # Account (with its email) and Order are no entities
    # The SDL is schema.graphql, every type and field of it, and no federation machinery.
    served = graphql_build_schema(sdl.split("\n", 2)[2].replace(' @key(fields: "id")', ""))
    assert print_schema(served) == print_schema(
        graphql_build_schema((PROJECT_ROOT / "schema.graphql").read_text())
    )


def test_with_the_setting_off_the_schema_is_exactly_as_before() -> None:
    path = PROJECT_ROOT / "schema.graphql"
    assert print_schema(build_schema(path)) == print_schema(graphql_build_schema(path.read_text()))
    federated = build_schema(path, federation=True)
    assert {"_service", "_entities"} <= set(federated.query_type.fields)  # type: ignore[union-attr]


async def test_without_the_setting_there_is_no_service_field(client: httpx.AsyncClient) -> None:
    response = await post(client, "{ _service { sdl } }")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# _entities: one statement for all representations ----------------------------------------------


async def test_entities_of_every_type_are_one_statement_in_the_order_asked(
    subgraph: httpx.AsyncClient,
) -> None:
    response = await post(subgraph, ENTITIES, {"representations": MIXED})
    assert response.status_code == 200, response.text
    assert response.headers["x-query-count"] == "1"
    body = response.json()
    assert "errors" not in body
    lamp_2, ada, lamps, review_1, absent, lamp_1, root, review_3 = body["data"]["_entities"]
    assert lamp_2 == {
        "__typename": "Product",
        "id": "2",
        "name": "Lamp 2",
        "price": 2.5,
        "inStock": True,
        "category": {"slug": "home", "parent": None},
        "reviews": {
            "totalCount": 1,
            "edges": [{"node": {"title": "Warm", "author": {"displayName": "Ada"}}}],
        },
    }
    assert ada == {"__typename": "User", "id": "1", "displayName": "Ada"}
    assert lamps == {"__typename": "Category", "id": "2", "name": "Lamps", "children": []}
    assert review_1 == {
        "__typename": "Review",
        "id": "1",
        "rating": 5,
        "product": {"name": "Lamp 1"},
        "author": {"displayName": "Ada"},
    }
    assert absent is None
    assert lamp_1["reviews"]["totalCount"] == 2
    assert lamp_1["reviews"]["edges"] == [
        {"node": {"title": "Fine", "author": {"displayName": "Bob"}}}
    ]
    assert root == {"__typename": "User", "id": "3", "displayName": "Root"}
    assert review_3["product"] == {"name": "Lamp 2"}


async def test_the_statement_count_does_not_grow_with_the_representations(
    subgraph: httpx.AsyncClient,
) -> None:
    for count in (1, 8):
        wanted = representations(*(("Product", n) for n in range(1, count + 1)))
        response = await post(subgraph, ENTITIES, {"representations": wanted})
        assert response.status_code == 200, response.text
        assert response.headers["x-query-count"] == "1"
        names = [e["name"] for e in response.json()["data"]["_entities"]]
        assert names == [f"Lamp {n}" for n in range(1, count + 1)]
    response = await post(subgraph, ENTITIES, {"representations": []})
    assert response.json() == {"data": {"_entities": []}}


async def test_the_reference_resolvers_give_the_same_bytes_batched(federated: Settings) -> None:
    planned_bodies = []
    async with app_client(federated) as http:
        for wanted in (MIXED, MIXED[:2]):
            planned_bodies.append((await post(http, ENTITIES, {"representations": wanted})).content)
    async with reference(federated) as http:
        counts = []
        for wanted, planned in zip((MIXED, MIXED[:2]), planned_bodies, strict=True):
            response = await post(http, ENTITIES, {"representations": wanted})
            assert response.status_code == 200
            assert response.content == planned
            counts.append(int(response.headers["x-query-count"]))
        # Batched by DataLoaders: 8 entities of 4 types cost a statement per type and
        # per nested relation, not per entity.
        assert counts[0] <= 12, counts
        # Products 1, 3, 5 and 7 are all filed under Lamps: the same relations to follow.
        more = representations(*(("Product", n) for n in (1, 3, 5, 7)))
        few = representations(("Product", 1))
        many_count = (await post(http, ENTITIES, {"representations": more})).headers
        few_count = (await post(http, ENTITIES, {"representations": few})).headers
        assert many_count["x-query-count"] == few_count["x-query-count"]


@pytest.fixture
def lamp_9(shop: str) -> str:
    """A product of this test's own (id 9: the shop has 8), so renaming it changes no other."""
    run_sql(
        shop,
        "INSERT INTO products (id, sku, name, price, stock, category_id)"
        " OVERRIDING SYSTEM VALUE VALUES (9, 'C-9', 'Cached lamp', 9, 1, 1)",
    )
    return "9"


async def test_an_entity_answer_is_cached_until_a_write_changes_it(
    federated: Settings, actors: Actors, lamp_9: str
) -> None:
    admin = await actors.admin()
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { name } } }"
    wanted = [{"__typename": "Product", "id": lamp_9}]
    async with app_client(federated, cache_enabled=True) as http:
        first = await post(http, query, {"r": wanted})
        again = await post(http, query, {"r": wanted})
        assert (first.headers["x-query-count"], again.headers["x-query-count"]) == ("1", "0")
        assert again.headers["x-cache"] == "HIT"
        rename = (
            'mutation($id: ID!) { updateProduct(id: $id, input: {name: "Renamed lamp"})'
            " { errors { code } } }"
        )
        renamed = await http.post(
            "/graphql",
            json={"query": rename, "variables": {"id": lamp_9}},
            headers=admin.headers,
        )
        assert renamed.json() == {"data": {"updateProduct": {"errors": []}}}
        after = await post(http, query, {"r": wanted})
        assert after.json() == {"data": {"_entities": [{"name": "Renamed lamp"}]}}


SELECTIONS = [
    # Aliases, at the union's level and inside a type.
    "kind: __typename ... on Product { title: name n: reviewCount } ... on User { who: displayName }",
    # A fragment on the union itself, and one on a type, spread together.
    "...any ...product",
    # @include and @skip read from variables, on fields and on fragments.
    "... on Product @include(if: $yes) { name } ... on Category @skip(if: $yes) { name }"
    " ... on Review { title @skip(if: $no) rating }",
    # Nested connections with cursors and pageInfo, tags, and the category tree.
    "... on Product { tags { name } reviews(first: 1) { pageInfo { hasNextPage endCursor }"
    " edges { cursor node { id } } } } ... on Category { parent { id } ancestors { slug }"
    " products(first: 2, sort: PRICE_DESC) { totalCount edges { node { id price } } } }",
    # Only the type name: every entity still tells whether it exists.
    "__typename",
    # Fields for one type only: the others are empty objects, absent ones null.
    "... on User { displayName }",
]


@pytest.mark.parametrize("selection", SELECTIONS)
async def test_the_planner_and_the_resolvers_agree_on_entities(
    federated: Settings, selection: str
) -> None:
    flags = ", $yes: Boolean = true, $no: Boolean = false" if "$yes" in selection else ""
    query = f"query($r: [_Any!]!{flags}) {{ _entities(representations: $r) {{ {selection} }} }}"
    if "...any" in selection:
        query += " fragment any on _Entity { __typename } fragment product on Product { id sku }"
    answers = []
    for client in (app_client(federated), reference(federated)):
        async with client as http:
            response = await post(http, query, {"r": MIXED})
            assert response.status_code == 200, response.text
            answers.append((response.content, response.headers["x-query-count"]))
    (planned, planned_count), (resolved, _) = answers
    assert planned_count == "1"
    assert planned == resolved
    assert b'"errors"' not in planned


# Refusals and visibility --------------------------------------------------------------------------


async def test_only_the_entity_types_are_found_and_users_only_by_their_public_profile(
    subgraph: httpx.AsyncClient,
) -> None:
    for type_name in ("Account", "Order", "Tag"):
        response = await post(
            subgraph,
            "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
            {"r": representations((type_name, 1))},
        )
        body = response.json()
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == "INVALID_PARAMETER"
        assert "example.com" not in response.text
    response = await post(
        subgraph,
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }",
        {"r": representations(("User", 1))},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_bad_id_fails_its_entity_alone(subgraph: httpx.AsyncClient) -> None:
    wanted = [*representations(("Product", 1)), {"__typename": "Product", "id": "x1"}]
    wanted.append({"__typename": "Category"})
    response = await post(subgraph, ENTITIES, {"representations": wanted})
    body = response.json()
    assert body["data"]["_entities"][0]["name"] == "Lamp 1"
    assert body["data"]["_entities"][1:] == [None, None]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["_entities", 1], "INVALID_PARAMETER"),
        (["_entities", 2], "INVALID_PARAMETER"),
    ]


async def test_representations_count_against_the_cost_limit(
    subgraph: httpx.AsyncClient,
) -> None:
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) "
        "{ ... on Product { reviews(first: 5) { edges { node { title } } } } } }"
    )
    response = await post(subgraph, query, {"r": representations(*[("Product", 1)] * 100)})
    assert response.status_code == 200, response.text
    response = await post(subgraph, query, {"r": representations(*[("Product", 1)] * 200)})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"]["requested"] == 200 + 200 * 5


# A supergraph: a real Apollo gateway over this subgraph and an inventory subgraph -----------------


@pytest.fixture(scope="module")
def supergraph(shop: str, redis_url: str) -> Iterator[tuple[str, Served]]:
    """The supergraph's URL, and the `gateway serve` process behind its catalogue."""
    programs = npm_installed(FEDERATION_DIR)
    env = base_env(
        DATABASE_URL=shop,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:{uuid.uuid4().hex[:8]}",
        DB_POOL_MIN_SIZE="0",
        RATE_LIMIT_PER_MINUTE="1000000",
        LOG_LEVEL="info",
        GRAPHQL_FEDERATION="true",
    )
    catalogue = Served(env)
    started: list[Listening] = []
    try:
        inventory_port, gateway_port = free_port(), free_port()
        ids = [str(n) for n in range(1, 9)]
        started.append(
            Listening(
                ["node", "inventory.mjs", str(inventory_port), *ids],
                inventory_port,
                cwd=programs,
                timeout=60,
            )
        )
        subgraphs = [
            f"catalogue={catalogue.url}/graphql",
            f"inventory=http://127.0.0.1:{inventory_port}/",
        ]
        started.append(
            Listening(
                ["node", "supergraph.mjs", str(gateway_port), *subgraphs],
                gateway_port,
                cwd=programs,
                timeout=60,
            )
        )
        yield f"http://127.0.0.1:{gateway_port}/", catalogue
    finally:
        for program in reversed(started):
            program.stop()
        assert catalogue.stop() == 0, catalogue.output()


def through(url: str, query: str) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def access_log(served: Served, operation: str) -> list[dict[str, Any]]:
    """The catalogue's access-log entries for the subgraph requests of `operation` (the
    gateway names them `<operation>__<subgraph>__<n>`). An entry is written once its
    response has gone out, so it may trail the answer a moment: wait for one."""
    deadline = time.monotonic() + 10
    while True:
        text = served.output()
        lines = text[: text.rfind("\n") + 1].splitlines()  # whole lines only
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        found = [
            e
            for e in entries
            if e.get("logger") == "gateway.access"
            and (e.get("operation") or "").startswith(operation)
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.mark.slow
def test_a_supergraph_query_takes_fields_from_both_subgraphs(
    supergraph: tuple[str, Served],
) -> None:
    url, _ = supergraph
    data = through(
        url,
        "query Shelf { products(first: 8) { edges { node {"
        " id name stock warehouse shipsInDays category { name } } } } }",
    )
    nodes = [edge["node"] for edge in data["products"]["edges"]]
    assert [n["name"] for n in nodes] == [f"Lamp {i}" for i in range(1, 9)]
    assert [n["warehouse"] for n in nodes] == ["north", "south"] * 4
    # shipsInDays @requires the catalogue's stock: the gateway read it here, then sent it
    # to the inventory subgraph's _entities. Lamp 8 is out of stock.
    assert [n["shipsInDays"] for n in nodes] == [1] * 7 + [14]
    assert [n["category"]["name"] for n in nodes] == ["Lamps", "Home"] * 4


@pytest.mark.slow
def test_entities_asked_by_the_gateway_are_one_statement_here(
    supergraph: tuple[str, Served],
) -> None:
    url, catalogue = supergraph
    data = through(
        url,
        'query Stored { stored(warehouse: "north") { id warehouse name price'
        " category { slug } reviews(first: 1) { edges { node { title author { displayName } } } } } }",
    )
    stored = data["stored"]
    assert [p["id"] for p in stored] == ["1", "3", "5", "7"]
    assert [p["name"] for p in stored] == ["Lamp 1", "Lamp 3", "Lamp 5", "Lamp 7"]
    assert {p["warehouse"] for p in stored} == {"north"}
    assert [p["category"]["slug"] for p in stored] == ["lamps"] * 4
    assert stored[0]["reviews"]["edges"] == [
        {"node": {"title": "Fine", "author": {"displayName": "Bob"}}}
    ]
    # The gateway fetched the four products' fields with one _entities request to the
    # catalogue, which answered it with one statement.
    (entry,) = access_log(catalogue, "Stored")
    assert entry["path"] == "/graphql" and entry["status"] == 200
    assert entry["queries"] == 1, entry

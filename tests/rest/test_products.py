"""The first end-to-end slice: products over REST and GraphQL, probes, problem+json errors."""

from __future__ import annotations

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import reference, run_sql
from tests.support import gql

pytestmark = pytest.mark.anyio

PRODUCT_KEYS = {
    "id",
    "sku",
    "name",
    "description",
    "price",
    "stock",
    "in_stock",
    "category_id",
    "review_count",
    "rating_avg",
    "created_at",
    "updated_at",
    "version",
}


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    """Two levels of categories and 57 products (an odd number, so pages end part-full)."""

    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO categories (slug, name, parent_id) VALUES ('lamps', 'Lamps', 1);
        INSERT INTO products (sku, name, description, price, stock, category_id)
        SELECT 'SKU-' || n, 'Lamp ' || n, 'A lamp.', n * 1.25, n % 4, 1 + n % 2
        FROM generate_series(1, 57) n;
        INSERT INTO users (email, display_name, password_hash)
        VALUES ('r@example.com', 'R', '!');
        INSERT INTO reviews (product_id, author_id, rating, title) VALUES (2, 1, 4, 'ok');
        """,
    )
    return database_url


# REST -----------------------------------------------------------------------------------


async def test_first_page_defaults_to_twenty(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/products")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert [p["id"] for p in body["data"]] == list(range(1, 21))
    assert set(body["data"][0]) == PRODUCT_KEYS
    assert body["page"]["limit"] == 20
    assert body["page"]["next_cursor"]
    assert "total" not in body["page"]
    assert response.headers["x-query-count"] == "1"
    assert response.headers["link"].endswith('rel="next"')


async def test_product_values_are_typed(api: httpx.AsyncClient) -> None:
    product = (await api.get("/api/v1/products/2")).json()["data"]
    assert product["price"] == 2.5
    assert product["stock"] == 2 and product["in_stock"] is True
    assert product["review_count"] == 1 and product["rating_avg"] == 4.0
    assert product["created_at"].endswith("+00:00")


async def test_cursor_walk_covers_the_table_once(api: httpx.AsyncClient) -> None:
    seen: list[int] = []
    url: str | None = "/api/v1/products?limit=10&count=exact"
    pages = 0
    while url:
        response = await api.get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["page"]["total"] == 57
        seen += [p["id"] for p in body["data"]]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
        assert (url is None) == (body["page"]["next_cursor"] is None)
        pages += 1
    assert seen == list(range(1, 58))
    assert pages == 6


async def test_queries_per_list_do_not_grow_with_the_page(api: httpx.AsyncClient) -> None:
    small = await api.get("/api/v1/products?limit=5")
    large = await api.get("/api/v1/products?limit=50")
    assert len(large.json()["data"]) == 50
    assert small.headers["x-query-count"] == large.headers["x-query-count"] == "1"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=1e3", "limit"),
        ("after=not-a-cursor", "after"),
        ("after=", "after"),
        ("count=estimated", "count"),
        ("limt=5", "limt"),
        ("limit=5&limit=6", "limit"),
    ],
)
async def test_bad_list_parameters_are_400(
    api: httpx.AsyncClient, query: str, parameter: str
) -> None:
    response = await api.get(f"/api/v1/products?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "INVALID_PARAMETER"
    assert problem["detail"].startswith(f"{parameter}:")
    assert problem["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-query-count"] == "0"


async def test_a_tampered_cursor_is_400(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/products?limit=2")).json()["page"]["next_cursor"]
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    response = await api.get(f"/api/v1/products?after={flipped}")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"


async def test_detail_embeds_the_category_in_one_query(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/products/3")
    assert response.status_code == 200
    product = response.json()["data"]
    assert product["name"] == "Lamp 3"
    assert product["category"] == {
        "id": 2,
        "slug": "lamps",
        "name": "Lamps",
        "parent_id": 1,
        "created_at": product["category"]["created_at"],
    }
    assert response.headers["x-query-count"] == "1"


async def test_absent_product_is_404_problem(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/products/9999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "bad_id",
    ["abc", "0", "-1", "01", "1.5", "9223372036854775808", "99999999999999999999", "\u0661"],
)
async def test_malformed_ids_are_400_and_run_no_sql(api: httpx.AsyncClient, bad_id: str) -> None:
    response = await api.get(f"/api/v1/products/{bad_id}")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"
    assert response.headers["x-query-count"] == "0"


async def test_largest_id_is_valid_and_absent(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/products/9223372036854775807")
    assert response.status_code == 404


async def test_unknown_route_and_wrong_method_are_problems(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "NOT_FOUND"
    wrong = await api.delete("/api/v1/products")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in wrong.headers["allow"]


async def test_request_id_is_echoed_or_generated(api: httpx.AsyncClient) -> None:
    echoed = await api.get("/livez", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    hostile = await api.get("/livez", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"
    assert len(hostile.headers["x-request-id"]) == 32


async def test_server_timing_reports_db_and_app(api: httpx.AsyncClient) -> None:
    timing = (await api.get("/api/v1/products/1")).headers["server-timing"]
    assert timing.startswith("db;dur=") and "app;dur=" in timing


# GraphQL --------------------------------------------------------------------------------

LIST = """
query List($first: Int, $after: String) {
  products(first: $first, after: $after) {
    edges { cursor node { id name price category { slug parent { slug } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def test_graphql_products_connection(api: httpx.AsyncClient) -> None:
    response = await gql(api, LIST, first=3)
    assert response.status_code == 200
    data = response.json()["data"]["products"]
    assert [e["node"]["id"] for e in data["edges"]] == ["1", "2", "3"]
    assert data["edges"][1]["node"]["category"] == {"slug": "home", "parent": None}
    assert data["edges"][0]["node"]["category"] == {"slug": "lamps", "parent": {"slug": "home"}}
    assert data["pageInfo"]["hasNextPage"] is True
    assert data["pageInfo"]["endCursor"] == data["edges"][-1]["cursor"]


async def test_graphql_and_rest_share_the_cursor_format(api: httpx.AsyncClient) -> None:
    rest = (await api.get("/api/v1/products?limit=3")).json()["page"]["next_cursor"]
    graph = (await gql(api, LIST, first=3)).json()["data"]["products"]["pageInfo"]["endCursor"]
    assert rest == graph
    after = (await gql(api, LIST, first=2, after=rest)).json()["data"]["products"]["edges"]
    assert [e["node"]["id"] for e in after] == ["4", "5"]


async def test_graphql_nested_categories_are_batched(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    small = await gql(api, LIST, first=5)
    large = await gql(api, LIST, first=50)
    assert len(large.json()["data"]["products"]["edges"]) == 50
    assert small.headers["x-query-count"] == large.headers["x-query-count"] == "1"
    # The resolvers: the products page and one category batch, whatever the page size; the
    # parents ("home") were already in that batch, so the loader's memo answers them.
    async with reference(settings) as resolvers:
        small, slow = await gql(resolvers, LIST, first=5), await gql(resolvers, LIST, first=50)
    assert small.headers["x-query-count"] == slow.headers["x-query-count"] == "2"
    assert slow.content == large.content


TOTAL = "{ products(first: 1) { totalCount } }"
EDGES = "{ products(first: 1) { edges { node { id } } } }"


async def test_graphql_total_count_only_when_selected(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    with_total = await gql(api, TOTAL)
    assert with_total.json()["data"]["products"]["totalCount"] == 57
    # One statement either way (the count is a subquery of it, written only when asked).
    assert with_total.headers["x-query-count"] == (await gql(api, EDGES)).headers["x-query-count"]
    # The resolvers pay one more statement for it.
    async with reference(settings) as resolvers:
        without, counted = await gql(resolvers, EDGES), await gql(resolvers, TOTAL)
    assert int(counted.headers["x-query-count"]) == int(without.headers["x-query-count"]) + 1


async def test_graphql_product_with_category(api: httpx.AsyncClient, settings: Settings) -> None:
    document = (
        'query { product(id: "3") { id name inStock ratingAvg category { name parent { name } } } }'
    )
    response = await gql(api, document)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "product": {
                "id": "3",
                "name": "Lamp 3",
                "inStock": True,
                "ratingAvg": None,
                "category": {"name": "Lamps", "parent": {"name": "Home"}},
            }
        }
    }
    assert response.headers["x-query-count"] == "1"
    # The resolvers: the product's own category comes with the product; only the parent
    # needs a query.
    async with reference(settings) as resolvers:
        again = await gql(resolvers, document)
    assert again.headers["x-query-count"] == "2"
    assert again.content == response.content


async def test_graphql_absent_product_is_null_with_not_found(api: httpx.AsyncClient) -> None:
    response = await gql(api, 'query { product(id: "9999") { id } }')
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"product": None}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["product"]
    assert body["errors"][0]["extensions"]["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("bad_id", ["abc", "0", "-4", "9223372036854775808"])
async def test_graphql_malformed_id_is_invalid_parameter(
    api: httpx.AsyncClient, bad_id: str
) -> None:
    response = await gql(api, "query($id: ID!) { product(id: $id) { id } }", id=bad_id)
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PARAMETER"
    assert response.headers["x-query-count"] == "0"


@pytest.mark.parametrize("first", [0, 101, -5])
async def test_graphql_first_out_of_range(api: httpx.AsyncClient, first: int) -> None:
    response = await gql(api, LIST, first=first)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PARAMETER"
    assert error["message"].startswith("first:")


async def test_graphql_parse_and_validation_failures_are_400(api: httpx.AsyncClient) -> None:
    parse = await gql(api, "{ products(first: ")
    assert parse.status_code == 400
    assert parse.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    invalid = await gql(api, "{ products { nope } }")
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "data" not in invalid.json()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"query": "{ __typename }"}'),
        ("application/x-www-form-urlencoded", b"query=%7B__typename%7D"),
        ("multipart/form-data; boundary=x", b"--x--"),
    ],
)
async def test_graphql_only_accepts_json(
    api: httpx.AsyncClient, content_type: str, body: bytes
) -> None:
    response = await api.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_graphql_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_JSON"


async def test_graphql_explorer_in_development(api: httpx.AsyncClient) -> None:
    response = await api.get("/graphql")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


# Probes ---------------------------------------------------------------------------------


async def test_probes(api: httpx.AsyncClient) -> None:
    live = await api.get("/livez")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "database": "ok",
        "cache": {"kind": "redis", "status": "ok"},
    }

"""Categories and tags over REST and GraphQL: the tree, its reads, the admin's writes, roles."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import reference, run_sql

pytestmark = pytest.mark.anyio

CATEGORY_KEYS = {"id", "slug", "name", "parent_id", "created_at"}


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    """A tree with products at every level, 40 more top-level categories, and some tags.

    electronics (1) > audio (2) > headphones (3);  electronics > cameras (4);  garden (5);
    empty (6). Products: 1-2 in electronics, 3-5 in audio, 6-9 in headphones, 10 in
    cameras, 11-12 in garden; product 20 in headphones again. bulk-1..bulk-40 (7..46) each
    have two children (47..126). Tags: alpha..echo, and tags 1 and 2 are on products 1-3.
    """

    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name, parent_id) VALUES
            ('electronics', 'Electronics', NULL), ('audio', 'Audio', 1),
            ('headphones', 'Headphones', 2), ('cameras', 'Cameras', 1),
            ('garden', 'Garden', NULL), ('empty', 'Empty', NULL);
        INSERT INTO categories (slug, name)
        SELECT 'bulk-' || n, 'Bulk ' || n FROM generate_series(1, 40) n;
        INSERT INTO categories (slug, name, parent_id)
        SELECT 'bulk-' || n || '-' || k, 'Child ' || (3 - k) || ' of ' || n, 6 + n
        FROM generate_series(1, 40) n CROSS JOIN generate_series(1, 2) k;
        INSERT INTO products (sku, name, price, category_id)
        SELECT 'P-' || n, 'Product ' || n, n,
               CASE WHEN n <= 2 THEN 1 WHEN n <= 5 THEN 2 WHEN n <= 9 THEN 3
                    WHEN n = 10 THEN 4 ELSE 5 END
        FROM generate_series(1, 12) n;
        INSERT INTO products (sku, name, price, category_id)
        SELECT 'FILL-' || n, 'Filler ' || n, 1, 7 FROM generate_series(13, 19) n;
        INSERT INTO products (sku, name, price, category_id) VALUES ('P-20', 'Late', 1, 3);
        INSERT INTO tags (name) VALUES ('echo'), ('delta'), ('charlie'), ('bravo'), ('alpha');
        INSERT INTO product_tags (product_id, tag_id) VALUES (1, 1), (2, 1), (3, 2);
        """,
    )
    return database_url


@pytest.fixture
def url(catalogue: str) -> str:
    """The module's database, for checking what a request left behind."""
    return catalogue


async def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every catalogue row, to prove a refused write changed nothing."""
    tables = {
        "categories": "SELECT id, slug, name, parent_id FROM categories ORDER BY id",
        "tags": "SELECT id, name FROM tags ORDER BY id",
        "product_tags": "SELECT product_id, tag_id FROM product_tags ORDER BY 1, 2",
        "products": "SELECT id, category_id FROM products ORDER BY id",
    }
    return {name: [tuple(r) for r in await query(url, sql)] for name, sql in tables.items()}


async def gql(
    api: httpx.AsyncClient, document: str, headers: dict[str, str] | None = None, **variables: Any
) -> httpx.Response:
    return await api.post(
        "/graphql", json={"query": document, "variables": variables}, headers=headers or {}
    )


async def make_category(url: str, slug: str, parent_id: int | None = None) -> int:
    (row,) = await query(
        url,
        "INSERT INTO categories (slug, name, parent_id) VALUES ($1, $1, $2) RETURNING id",
        slug,
        parent_id,
    )
    return int(row["id"])


def ids(items: list[dict[str, Any]]) -> list[Any]:
    return [item["id"] for item in items]


# REST: category reads ---------------------------------------------------------------


async def test_categories_list_in_id_order_with_pages(api: Any) -> None:
    first = await api.get("/api/v1/categories?limit=4&count=exact")
    assert first.status_code == 200
    body = first.json()
    assert ids(body["data"]) == [1, 2, 3, 4]
    assert set(body["data"][0]) == CATEGORY_KEYS
    assert body["data"][1]["parent_id"] == 1
    assert body["page"]["total"] >= 126
    link = first.headers["link"]
    second = await api.get(link[1 : link.index(">")])
    assert ids(second.json()["data"]) == [5, 6, 7, 8]


async def test_categories_filtered_by_parent(api: Any) -> None:
    response = await api.get("/api/v1/categories?parent_id=1&count=exact")
    assert ids(response.json()["data"]) == [2, 4]
    assert response.json()["page"]["total"] == 2
    assert (await api.get("/api/v1/categories?parent_id=99999")).json()["data"] == []


@pytest.mark.parametrize("query_string", ["parent_id=0", "parent_id=x", "parent=1", "limit=0"])
async def test_bad_category_list_parameters_are_400(api: Any, query_string: str) -> None:
    response = await api.get(f"/api/v1/categories?{query_string}")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"


async def test_category_by_id_or_slug(api: Any, url: str) -> None:
    by_id = await api.get("/api/v1/categories/3")
    assert by_id.status_code == 200
    category = by_id.json()["data"]
    assert (category["slug"], category["name"], category["parent_id"]) == (
        "headphones",
        "Headphones",
        2,
    )
    by_slug = await api.get("/api/v1/categories/headphones")
    assert by_slug.json()["data"] == category
    numeric_slug = await make_category(url, "2024")
    # Digits always name an id; a slug made of digits is reached through its id.
    assert (await api.get("/api/v1/categories/2024")).status_code == 404
    assert (await api.get(f"/api/v1/categories/{numeric_slug}")).json()["data"]["slug"] == "2024"


@pytest.mark.parametrize(
    ("ref", "status", "code"),
    [
        ("Headphones", 400, "INVALID_PARAMETER"),
        ("head_phones", 400, "INVALID_PARAMETER"),
        ("-audio", 400, "INVALID_PARAMETER"),
        ("0", 400, "INVALID_PARAMETER"),
        ("01", 400, "INVALID_PARAMETER"),
        ("nothing-here", 404, "NOT_FOUND"),
        ("99999", 404, "NOT_FOUND"),
    ],
)
async def test_bad_or_absent_category_refs(api: Any, ref: str, status: int, code: str) -> None:
    response = await api.get(f"/api/v1/categories/{ref}")
    assert response.status_code == status
    assert response.json()["code"] == code
    products = await api.get(f"/api/v1/categories/{ref}/products")
    assert (products.status_code, products.json()["code"]) == (status, code)


async def test_category_products_include_the_whole_subtree(api: Any) -> None:
    response = await api.get("/api/v1/categories/1/products?count=exact")
    assert response.status_code == 200
    body = response.json()
    # Its own (1-2), its child's (3-5), its grandchild's (6-9, 20) and cameras' (10).
    assert ids(body["data"]) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20]
    assert body["page"] == {"limit": 20, "next_cursor": None, "total": 11}
    assert set(body["data"][0]) >= {"id", "sku", "price", "category_id", "version"}
    leaf = await api.get("/api/v1/categories/headphones/products")
    assert ids(leaf.json()["data"]) == [6, 7, 8, 9, 20]
    empty = await api.get("/api/v1/categories/6/products?count=exact")
    assert empty.json() == {"data": [], "page": {"limit": 20, "next_cursor": None, "total": 0}}


async def test_category_products_page_by_keyset(api: Any) -> None:
    seen: list[int] = []
    next_url: str | None = "/api/v1/categories/electronics/products?limit=4"
    while next_url:
        response = await api.get(next_url)
        seen += ids(response.json()["data"])
        link = response.headers.get("link")
        next_url = link[1 : link.index(">")] if link else None
    assert seen == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20]
    bad = await api.get("/api/v1/categories/1/products?after=nope")
    assert bad.status_code == 400


# REST: category writes --------------------------------------------------------------


async def test_create_category(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    response = await api.post(
        "/api/v1/categories",
        json={"slug": "in-ear", "name": "In-ear", "parent_id": 3},
        headers=admin.headers,
    )
    assert response.status_code == 201
    category = response.json()["data"]
    assert response.headers["location"] == f"/api/v1/categories/{category['id']}"
    assert set(category) == CATEGORY_KEYS
    assert (category["slug"], category["parent_id"]) == ("in-ear", 3)
    (row,) = await query(url, "SELECT * FROM categories WHERE slug = 'in-ear'")
    assert (row["id"], row["name"], row["parent_id"]) == (category["id"], "In-ear", 3)
    top = await api.post(
        "/api/v1/categories", json={"slug": "toys", "name": "Toys"}, headers=admin.headers
    )
    assert top.status_code == 201 and top.json()["data"]["parent_id"] is None


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"slug": "audio", "name": "Again"}, 409, "CONFLICT", None),
        (
            {"slug": "orphan", "name": "Orphan", "parent_id": 99999},
            400,
            "VALIDATION_FAILED",
            "parent_id",
        ),
        ({"slug": "Bad Slug", "name": "x"}, 400, "VALIDATION_FAILED", "slug"),
        ({"slug": "a--b", "name": "x"}, 400, "VALIDATION_FAILED", "slug"),
        ({"slug": "trailing\n", "name": "x"}, 400, "VALIDATION_FAILED", "slug"),
        ({"slug": "s" * 101, "name": "x"}, 400, "VALIDATION_FAILED", "slug"),
        ({"slug": "nul", "name": "a\u0000b"}, 400, "VALIDATION_FAILED", "name"),
        ({"slug": "empty-name", "name": ""}, 400, "VALIDATION_FAILED", "name"),
        ({"slug": "with-id", "name": "x", "id": 5}, 400, "VALIDATION_FAILED", "id"),
        (
            {"slug": "when", "name": "x", "created_at": "2020-01-01"},
            400,
            "VALIDATION_FAILED",
            "created_at",
        ),
        ({"name": "No slug"}, 400, "VALIDATION_FAILED", "slug"),
    ],
)
async def test_refused_category_creates_change_nothing(
    api: Any, url: str, actors: Any, body: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.post("/api/v1/categories", json=body, headers=admin.headers)
    assert response.status_code == status
    problem = response.json()
    assert problem["code"] == code
    if field is not None:
        assert [e["field"] for e in problem["errors"]] == [field]
    assert "categories_" not in response.text  # no constraint names
    assert await snapshot(url) == before


async def test_patch_category_renames_and_moves(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    moving = await make_category(url, "moving", parent_id=5)
    response = await api.patch(
        f"/api/v1/categories/{moving}",
        json={"name": "Moved", "slug": "moved", "parent_id": 4},
        headers=admin.headers,
    )
    assert response.status_code == 200
    assert response.json()["data"] == {
        "id": moving,
        "slug": "moved",
        "name": "Moved",
        "parent_id": 4,
        "created_at": response.json()["data"]["created_at"],
    }
    (row,) = await query(url, "SELECT slug, name, parent_id FROM categories WHERE id = $1", moving)
    assert tuple(row) == ("moved", "Moved", 4)
    # Only the name: the parent stays; an explicit null parent makes it top-level.
    renamed = await api.patch(
        f"/api/v1/categories/{moving}", json={"name": "Again"}, headers=admin.headers
    )
    assert renamed.json()["data"]["parent_id"] == 4
    top = await api.patch(
        f"/api/v1/categories/{moving}", json={"parent_id": None}, headers=admin.headers
    )
    assert top.json()["data"]["parent_id"] is None
    (row,) = await query(url, "SELECT parent_id FROM categories WHERE id = $1", moving)
    assert row["parent_id"] is None


@pytest.mark.parametrize(
    ("category_id", "body", "status", "code"),
    [
        (1, {"parent_id": 1}, 409, "CONFLICT"),
        (1, {"parent_id": 3}, 409, "CONFLICT"),
        (2, {"parent_id": 3}, 409, "CONFLICT"),
        (2, {"parent_id": 99999}, 400, "VALIDATION_FAILED"),
        (2, {"slug": "garden"}, 409, "CONFLICT"),
        (2, {}, 400, "VALIDATION_FAILED"),
        (2, {"slug": None}, 400, "VALIDATION_FAILED"),
        (2, {"id": 9}, 400, "VALIDATION_FAILED"),
        (99999, {"name": "Ghost"}, 404, "NOT_FOUND"),
    ],
)
async def test_refused_category_patches_change_nothing(
    api: Any,
    url: str,
    actors: Any,
    category_id: int,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.patch(
        f"/api/v1/categories/{category_id}", json=body, headers=admin.headers
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert await snapshot(url) == before


async def test_concurrent_crossed_moves_cannot_close_a_cycle(
    api: Any, url: str, actors: Any
) -> None:
    admin = await actors.admin()
    for attempt in range(5):
        a = await make_category(url, f"race-a-{attempt}")
        b = await make_category(url, f"race-b-{attempt}")
        responses = await asyncio.gather(
            api.patch(f"/api/v1/categories/{a}", json={"parent_id": b}, headers=admin.headers),
            api.patch(f"/api/v1/categories/{b}", json={"parent_id": a}, headers=admin.headers),
        )
        assert sorted(r.status_code for r in responses) == [200, 409]
        rows = await query(url, "SELECT parent_id FROM categories WHERE id IN ($1, $2)", a, b)
        assert sorted(r["parent_id"] is None for r in rows) == [False, True]


async def test_a_moved_subtree_takes_its_products_along(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    branch = await make_category(url, "branch")
    twig = await make_category(url, "twig", parent_id=branch)
    await query(
        url,
        "INSERT INTO products (sku, name, price, category_id) VALUES ('TWIG', 't', 1, $1)",
        twig,
    )
    await api.patch(f"/api/v1/categories/{branch}", json={"parent_id": 5}, headers=admin.headers)
    garden = await api.get("/api/v1/categories/garden/products")
    assert [p["sku"] for p in garden.json()["data"]][-1] == "TWIG"


async def test_delete_category(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    doomed = await make_category(url, "doomed", parent_id=5)
    response = await api.delete(f"/api/v1/categories/{doomed}", headers=admin.headers)
    assert response.status_code == 204 and response.content == b""
    assert await query(url, "SELECT 1 FROM categories WHERE id = $1", doomed) == []
    missing = await api.delete(f"/api/v1/categories/{doomed}", headers=admin.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize("category_id", [3, 2, 46])  # products; both; children only
async def test_delete_of_a_category_in_use_is_409(
    api: Any, url: str, actors: Any, category_id: int
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.delete(f"/api/v1/categories/{category_id}", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT"
    assert "fkey" not in response.text
    assert await snapshot(url) == before


# REST: tags ----------------------------------------------------------------------------


async def test_tags_list_in_name_order(api: Any) -> None:
    first = await api.get("/api/v1/tags?limit=2&count=exact")
    body = first.json()
    assert [t["name"] for t in body["data"]][:2] == ["alpha", "bravo"]
    assert set(body["data"][0]) == {"id", "name"}
    assert body["page"]["total"] >= 5
    link = first.headers["link"]
    second = await api.get(link[1 : link.index(">")])
    assert [t["name"] for t in second.json()["data"]] == ["charlie", "delta"]
    # Tags sort by name only (either way); any other order is refused.
    assert (await api.get("/api/v1/tags?sort=id")).status_code == 400


async def test_create_get_and_delete_a_tag(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    created = await api.post("/api/v1/tags", json={"name": "low-energy"}, headers=admin.headers)
    assert created.status_code == 201
    tag = created.json()["data"]
    assert tag == {"id": tag["id"], "name": "low-energy"}
    assert created.headers["location"] == f"/api/v1/tags/{tag['id']}"
    assert (await api.get(created.headers["location"])).json()["data"] == tag
    await query(url, "INSERT INTO product_tags VALUES (4, $1), (5, $1)", tag["id"])
    deleted = await api.delete(f"/api/v1/tags/{tag['id']}", headers=admin.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert await query(url, "SELECT 1 FROM tags WHERE id = $1", tag["id"]) == []
    assert await query(url, "SELECT 1 FROM product_tags WHERE tag_id = $1", tag["id"]) == []
    assert await query(url, "SELECT 1 FROM products WHERE id IN (4, 5)") != []
    again = await api.delete(f"/api/v1/tags/{tag['id']}", headers=admin.headers)
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "alpha"}, 409, "CONFLICT"),
        ({"name": "Alpha"}, 400, "VALIDATION_FAILED"),
        ({"name": "two words"}, 400, "VALIDATION_FAILED"),
        ({"name": "x" * 51}, 400, "VALIDATION_FAILED"),
        ({"name": "nul\u0000"}, 400, "VALIDATION_FAILED"),
        ({"name": ""}, 400, "VALIDATION_FAILED"),
        ({"name": "ok", "id": 3}, 400, "VALIDATION_FAILED"),
    ],
)
async def test_refused_tag_creates_change_nothing(
    api: Any, url: str, actors: Any, body: dict[str, Any], status: int, code: str
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    response = await api.post("/api/v1/tags", json=body, headers=admin.headers)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert await snapshot(url) == before


# REST: roles -------------------------------------------------------------------------

REST_WRITES = [
    ("POST", "/api/v1/categories", {"slug": "intruder", "name": "x"}),
    ("PATCH", "/api/v1/categories/6", {"name": "Hijacked"}),
    ("DELETE", "/api/v1/categories/6", None),
    ("POST", "/api/v1/tags", {"name": "intruder"}),
    ("DELETE", "/api/v1/tags/5", None),
]


@pytest.mark.parametrize(("method", "path", "body"), REST_WRITES)
async def test_anonymous_writes_are_401(
    api: Any, url: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = await snapshot(url)
    response = await api.request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert await snapshot(url) == before


@pytest.mark.parametrize(("method", "path", "body"), REST_WRITES)
async def test_customer_writes_are_403(
    api: Any, url: str, actors: Any, method: str, path: str, body: dict[str, Any] | None
) -> None:
    customer = await actors.customer()
    before = await snapshot(url)
    response = await api.request(method, path, json=body, headers=customer.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert await snapshot(url) == before


# GraphQL: reads ------------------------------------------------------------------------

ONE = """
query($id: ID, $slug: String) { category(id: $id, slug: $slug) { id slug name parent { slug } } }
"""


async def test_graphql_category_by_id_or_slug(api: Any) -> None:
    by_id = await gql(api, ONE, id="3")
    expected = {"id": "3", "slug": "headphones", "name": "Headphones", "parent": {"slug": "audio"}}
    assert by_id.json()["data"]["category"] == expected
    by_slug = await gql(api, ONE, slug="headphones")
    assert by_slug.json()["data"]["category"] == expected


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({}, "INVALID_PARAMETER"),
        ({"id": "1", "slug": "electronics"}, "INVALID_PARAMETER"),
        ({"id": "0"}, "INVALID_PARAMETER"),
        ({"slug": "Not A Slug"}, "INVALID_PARAMETER"),
        ({"id": "99999"}, "NOT_FOUND"),
        ({"slug": "nothing-here"}, "NOT_FOUND"),
    ],
)
async def test_graphql_bad_or_absent_category(
    api: Any, variables: dict[str, Any], code: str
) -> None:
    body = (await gql(api, ONE, **variables)).json()
    assert body["data"] == {"category": None}
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["path"] == ["category"]


TREE = """
query($first: Int) {
  categories(first: $first) {
    totalCount
    edges { cursor node { id slug children { name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_graphql_categories_with_children_in_name_order(api: Any) -> None:
    body = (await gql(api, TREE, first=7)).json()["data"]["categories"]
    nodes = {e["node"]["slug"]: e["node"]["children"] for e in body["edges"]}
    assert nodes["electronics"] == [{"name": "Audio"}, {"name": "Cameras"}]
    assert nodes["audio"] == [{"name": "Headphones"}] and nodes["empty"] == []
    assert nodes["bulk-1"] == [{"name": "Child 1 of 1"}, {"name": "Child 2 of 1"}]
    assert body["pageInfo"] == {"hasNextPage": True, "endCursor": body["edges"][-1]["cursor"]}
    assert body["totalCount"] >= 126


CHILDREN = "{ categories(first: %d) { edges { node { children { name } } } } }"


async def test_graphql_children_are_one_batched_query(api: Any, settings: Settings) -> None:
    few, many = await gql(api, CHILDREN % 2), await gql(api, CHILDREN % 60)
    assert len(many.json()["data"]["categories"]["edges"]) == 60
    assert few.headers["x-query-count"] == many.headers["x-query-count"] == "1"
    # The resolvers: the page, then every category's children at once.
    async with reference(settings) as resolvers:
        few, slow = await gql(resolvers, CHILDREN % 2), await gql(resolvers, CHILDREN % 60)
    assert few.headers["x-query-count"] == slow.headers["x-query-count"] == "2"
    assert slow.content == many.content


SUBTREE_PRODUCTS = """
query($first: Int, $n: Int) {
  categories(first: $first) {
    edges { node { slug products(first: $n) { totalCount edges { node { id } }
                                              pageInfo { hasNextPage } } } }
  }
}
"""


async def test_graphql_category_products_cover_the_subtree_in_one_query(
    api: Any, settings: Settings
) -> None:
    few = await gql(api, SUBTREE_PRODUCTS, first=3, n=3)
    many = await gql(api, SUBTREE_PRODUCTS, first=50, n=3)
    edges = many.json()["data"]["categories"]["edges"]
    assert len(edges) == 50
    found = {e["node"]["slug"]: e["node"]["products"] for e in edges}
    electronics = found["electronics"]
    assert [e["node"]["id"] for e in electronics["edges"]] == ["1", "2", "3"]
    assert electronics["totalCount"] == 11 and electronics["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in found["headphones"]["edges"]] == ["6", "7", "8"]
    assert found["empty"] == {"totalCount": 0, "edges": [], "pageInfo": {"hasNextPage": False}}
    assert few.headers["x-query-count"] == many.headers["x-query-count"] == "1"
    # The resolvers: categories page, products of every category, counts of every category.
    async with reference(settings) as resolvers:
        few = await gql(resolvers, SUBTREE_PRODUCTS, first=3, n=3)
        slow = await gql(resolvers, SUBTREE_PRODUCTS, first=50, n=3)
    assert few.headers["x-query-count"] == slow.headers["x-query-count"] == "3"
    assert slow.content == many.content


async def test_graphql_category_products_page_on(api: Any) -> None:
    document = """
    query($after: String) {
      category(slug: "electronics") {
        products(first: 4, after: $after) { edges { node { id } } pageInfo { endCursor } }
      }
    }
    """
    first = (await gql(api, document)).json()["data"]["category"]["products"]
    cursor = first["pageInfo"]["endCursor"]
    rest_cursor = (await api.get("/api/v1/categories/1/products?limit=4")).json()["page"][
        "next_cursor"
    ]
    assert cursor == rest_cursor
    second = (await gql(api, document, after=cursor)).json()["data"]["category"]["products"]
    assert [e["node"]["id"] for e in second["edges"]] == ["5", "6", "7", "8"]


async def test_graphql_tags_connection(api: Any) -> None:
    document = (
        "query($after: String) { tags(first: 3, after: $after) { totalCount "
        "edges { node { id name } } pageInfo { hasNextPage endCursor } } }"
    )
    first = (await gql(api, document)).json()["data"]["tags"]
    assert [e["node"]["name"] for e in first["edges"]] == ["alpha", "bravo", "charlie"]
    assert first["edges"][0]["node"]["id"] == "5"
    assert first["pageInfo"]["hasNextPage"] is True and first["totalCount"] >= 5
    second = (await gql(api, document, after=first["pageInfo"]["endCursor"])).json()
    assert [e["node"]["name"] for e in second["data"]["tags"]["edges"]][:2] == ["delta", "echo"]


# GraphQL: writes -----------------------------------------------------------------------

CREATE_CATEGORY = """
mutation($input: CreateCategoryInput!) {
  createCategory(input: $input) {
    category { id slug name parent { slug } children { slug } }
    errors { code field message }
  }
}
"""
UPDATE_CATEGORY = """
mutation($id: ID!, $input: UpdateCategoryInput!) {
  updateCategory(id: $id, input: $input) {
    category { id slug name parent { slug } }
    errors { code field message }
  }
}
"""
DELETE_CATEGORY = "mutation($id: ID!) { deleteCategory(id: $id) { deletedId errors { code } } }"
CREATE_TAG = (
    "mutation($input: CreateTagInput!) "
    "{ createTag(input: $input) { tag { id name } errors { code field message } } }"
)
DELETE_TAG = "mutation($id: ID!) { deleteTag(id: $id) { deletedId errors { code } } }"


async def test_graphql_category_lifecycle(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    created = await gql(
        api,
        CREATE_CATEGORY,
        admin.headers,
        input={"slug": "sheds", "name": "Sheds", "parentId": "5"},
    )
    result = created.json()["data"]["createCategory"]
    assert result["errors"] == []
    category = result["category"]
    assert category["slug"] == "sheds" and category["parent"] == {"slug": "garden"}
    assert category["children"] == []
    (row,) = await query(url, "SELECT id, parent_id FROM categories WHERE slug = 'sheds'")
    assert (str(row["id"]), row["parent_id"]) == (category["id"], 5)

    moved = await gql(
        api,
        UPDATE_CATEGORY,
        admin.headers,
        id=category["id"],
        input={"name": "Garden sheds", "parentId": None},
    )
    assert moved.json()["data"]["updateCategory"] == {
        "category": {
            "id": category["id"],
            "slug": "sheds",
            "name": "Garden sheds",
            "parent": None,
        },
        "errors": [],
    }
    (row,) = await query(url, "SELECT name, parent_id FROM categories WHERE id = $1", row["id"])
    assert tuple(row) == ("Garden sheds", None)

    deleted = await gql(api, DELETE_CATEGORY, admin.headers, id=category["id"])
    assert deleted.json()["data"]["deleteCategory"] == {
        "deletedId": category["id"],
        "errors": [],
    }
    assert await query(url, "SELECT 1 FROM categories WHERE slug = 'sheds'") == []


@pytest.mark.parametrize(
    ("document", "variables", "expected"),
    [
        (CREATE_CATEGORY, {"input": {"slug": "audio", "name": "x"}}, ("CONFLICT", None)),
        (CREATE_CATEGORY, {"input": {"slug": "Bad", "name": "x"}}, ("VALIDATION_FAILED", "slug")),
        (
            CREATE_CATEGORY,
            {"input": {"slug": "ok-slug", "name": ""}},
            ("VALIDATION_FAILED", "name"),
        ),
        (
            CREATE_CATEGORY,
            {"input": {"slug": "lost", "name": "x", "parentId": "99999"}},
            ("VALIDATION_FAILED", "parentId"),
        ),
        (UPDATE_CATEGORY, {"id": "1", "input": {"parentId": "3"}}, ("CONFLICT", None)),
        (UPDATE_CATEGORY, {"id": "2", "input": {"parentId": "2"}}, ("CONFLICT", None)),
        (UPDATE_CATEGORY, {"id": "2", "input": {}}, ("VALIDATION_FAILED", None)),
        (UPDATE_CATEGORY, {"id": "2", "input": {"name": None}}, ("VALIDATION_FAILED", "name")),
        (UPDATE_CATEGORY, {"id": "99999", "input": {"name": "x"}}, ("NOT_FOUND", None)),
        (DELETE_CATEGORY, {"id": "3"}, ("CONFLICT",)),
        (DELETE_CATEGORY, {"id": "1"}, ("CONFLICT",)),
        (DELETE_CATEGORY, {"id": "99999"}, ("NOT_FOUND",)),
        (CREATE_TAG, {"input": {"name": "alpha"}}, ("CONFLICT", None)),
        (CREATE_TAG, {"input": {"name": "No Caps"}}, ("VALIDATION_FAILED", "name")),
        (DELETE_TAG, {"id": "99999"}, ("NOT_FOUND",)),
    ],
)
async def test_graphql_refused_writes_are_user_errors(
    api: Any,
    url: str,
    actors: Any,
    document: str,
    variables: dict[str, Any],
    expected: tuple[str | None, ...],
) -> None:
    admin = await actors.admin()
    before = await snapshot(url)
    body = (await gql(api, document, admin.headers, **variables)).json()
    assert "errors" not in body
    (result,) = body["data"].values()
    thing = next(k for k in result if k != "errors")
    assert result[thing] is None
    keys = ("code", "field")[: len(expected)]
    assert [tuple(e[k] for k in keys) for e in result["errors"]] == [expected]
    assert await snapshot(url) == before


async def test_graphql_tag_lifecycle(api: Any, url: str, actors: Any) -> None:
    admin = await actors.admin()
    created = (await gql(api, CREATE_TAG, admin.headers, input={"name": "solar"})).json()
    tag = created["data"]["createTag"]["tag"]
    assert created["data"]["createTag"]["errors"] == [] and tag["name"] == "solar"
    await query(url, "INSERT INTO product_tags VALUES (6, $1)", int(tag["id"]))
    product = await gql(api, '{ product(id: "6") { tags { name } } }')
    assert product.json()["data"]["product"]["tags"] == [{"name": "solar"}]
    deleted = (await gql(api, DELETE_TAG, admin.headers, id=tag["id"])).json()
    assert deleted["data"]["deleteTag"] == {"deletedId": tag["id"], "errors": []}
    assert await query(url, "SELECT 1 FROM product_tags WHERE tag_id = $1", int(tag["id"])) == []


GQL_WRITES = [
    ("createCategory", CREATE_CATEGORY, {"input": {"slug": "intruder", "name": "x"}}),
    ("updateCategory", UPDATE_CATEGORY, {"id": "6", "input": {"name": "Hijacked"}}),
    ("deleteCategory", DELETE_CATEGORY, {"id": "6"}),
    ("createTag", CREATE_TAG, {"input": {"name": "intruder"}}),
    ("deleteTag", DELETE_TAG, {"id": "5"}),
]


@pytest.mark.parametrize(("field", "document", "variables"), GQL_WRITES)
@pytest.mark.parametrize(("role", "code"), [(None, "UNAUTHENTICATED"), ("customer", "FORBIDDEN")])
async def test_graphql_writes_need_an_admin(
    api: Any,
    url: str,
    actors: Any,
    field: str,
    document: str,
    variables: dict[str, Any],
    role: str | None,
    code: str,
) -> None:
    headers = (await actors.customer()).headers if role else {}
    before = await snapshot(url)
    body = (await gql(api, document, headers, **variables)).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["path"] == [field]
    assert await snapshot(url) == before

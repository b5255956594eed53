"""The read grammar of every list: limit, keyset cursors, sort orders, filters, count,
sparse fieldsets and embedded relations, over REST and the mirrored GraphQL arguments."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from gateway.tokens import TokenIssuer
from tests.conftest import TEST_JWT_SECRET, app_client, app_settings, reference, run_sql

pytestmark = pytest.mark.anyio

# home (1) > lamps (2) > desk-lamps (3); garden (4). Products 1..50: prices repeat every
# 8 (ties broken by id), names repeat every 10 in reverse, stock 0 for every fifth, the
# creation time steps back a minute per id. Tags: bright on 1-10, solar on 5-15. Reviews
# by four users give products 1-6 ratings; 7-50 are unrated.
SHOP = """
INSERT INTO categories (slug, name, parent_id) VALUES
    ('home', 'Home', NULL), ('lamps', 'Lamps', 1), ('desk-lamps', 'Desk lamps', 2),
    ('garden', 'Garden', NULL);
INSERT INTO products (sku, name, description, price, stock, category_id, created_at)
SELECT 'SKU-' || n,
       'Item ' || chr(74 - n % 10),
       CASE WHEN n % 3 = 0 THEN 'A warm reading lamp' ELSE 'A garden chair' END,
       (n % 8) * 2.5 + 1,
       CASE WHEN n % 5 = 0 THEN 0 ELSE n END,
       CASE WHEN n <= 10 THEN 3 WHEN n <= 20 THEN 2 WHEN n <= 25 THEN 1 ELSE 4 END,
       timestamptz '2026-01-01 00:00:00+00' - n * interval '1 minute'
FROM generate_series(1, 50) n;
INSERT INTO tags (name) VALUES ('bright'), ('solar');
INSERT INTO product_tags (product_id, tag_id)
SELECT n, 1 FROM generate_series(1, 10) n UNION ALL SELECT n, 2 FROM generate_series(5, 15) n;
INSERT INTO users (email, display_name, password_hash, role)
SELECT 'u' || n || '@example.com', 'User ' || n, '!', 'customer' FROM generate_series(1, 4) n;
INSERT INTO users (email, display_name, password_hash, role)
VALUES ('boss@example.com', 'Boss', '!', 'admin');
INSERT INTO reviews (product_id, author_id, rating, title, created_at)
SELECT p, u, 1 + (p * u) % 5, 'Review', timestamptz '2026-02-01 00:00:00+00' + (p * 4 + u) * interval '1 s'
FROM generate_series(1, 6) p CROSS JOIN generate_series(1, 4) u WHERE u <= p;
INSERT INTO orders (customer_id, status, created_at)
SELECT 1 + n % 2, CASE WHEN n % 3 = 0 THEN 'paid' ELSE 'pending' END,
       timestamptz '2026-03-01 00:00:00+00' + n * interval '1 h'
FROM generate_series(1, 9) n;
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT n, 1 + n % 4, 1, 2.5 FROM generate_series(1, 9) n;
"""


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(database_url, SHOP)
    return database_url


@pytest.fixture(scope="module")
async def api(shop: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """One app for the whole module: every test here only reads."""
    settings = app_settings(
        shop,
        redis_url,
        rate_limit_per_minute=1_000_000,
    )
    async with app_client(settings) as http:
        yield http


def bearer(user_id: int, role: str = "customer") -> dict[str, str]:
    defaults = Settings()
    issuer = TokenIssuer(
        TEST_JWT_SECRET,
        issuer=defaults.jwt_issuer,
        audience=defaults.jwt_audience,
        ttl=defaults.access_token_ttl,
    )
    return {"Authorization": f"Bearer {issuer.issue(user_id, role)}"}  # type: ignore[arg-type]


async def walk(api: httpx.AsyncClient, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a list, following `Link: rel="next"` to the end."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = await api.get(next_url, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["data"]
        link = response.headers.get("link")
        next_url = link[1 : link.index(">")] if link else None
        assert (next_url is None) == (body["page"]["next_cursor"] is None)
    return items


async def all_products(shop: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(shop)
    try:
        rows = await conn.fetch(
            "SELECT id, name, price, created_at, rating_avg, review_count FROM products"
        )
    finally:
        await conn.close()
    return [dict(row) for row in rows]


def key_of(field: str) -> Callable[[dict[str, Any]], Any]:
    if field == "rating_avg":
        return lambda row: (row["rating_avg"] or Decimal(0), row["id"])
    return lambda row: (row[field], row["id"])


# Sort orders ----------------------------------------------------------------------------

PRODUCT_SORTS = ["id", "price", "name", "created_at", "rating_avg", "review_count"]


@pytest.mark.parametrize("field", PRODUCT_SORTS)
@pytest.mark.parametrize("descending", [False, True])
async def test_every_product_sort_walks_the_table_once_in_order(
    api: httpx.AsyncClient, shop: str, field: str, descending: bool
) -> None:
    sort = f"-{field}" if descending else field
    seen = await walk(api, f"/api/v1/products?sort={sort}&limit=7")
    expected = sorted(await all_products(shop), key=key_of(field), reverse=descending)
    assert [p["id"] for p in seen] == [row["id"] for row in expected]


async def test_names_sort_with_the_database_collation_and_ids_break_ties(
    api: httpx.AsyncClient,
) -> None:
    items = (await api.get("/api/v1/products?sort=-name&limit=5&fields=name")).json()["data"]
    assert [(p["name"], p["id"]) for p in items] == [
        ("Item J", 50),
        ("Item J", 40),
        ("Item J", 30),
        ("Item J", 20),
        ("Item J", 10),
    ]


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/products?sort=stock", "sort"),
        ("/api/v1/products?sort=price,id", "sort"),
        ("/api/v1/products?sort=%2Bprice", "sort"),
        ("/api/v1/products/1/reviews?sort=title", "sort"),
        ("/api/v1/categories?sort=parent_id", "sort"),
        ("/api/v1/tags?sort=-id", "sort"),
    ],
)
async def test_unknown_sorts_are_400(api: httpx.AsyncClient, url: str, parameter: str) -> None:
    response = await api.get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"
    assert response.json()["detail"].startswith(f"{parameter}:")
    assert response.headers["x-query-count"] == "0"


async def test_a_cursor_works_only_with_its_own_sort_and_resource(api: httpx.AsyncClient) -> None:
    by_price = (await api.get("/api/v1/products?sort=price&limit=3")).json()["page"]
    cursor = by_price["next_cursor"]
    assert (await api.get(f"/api/v1/products?sort=price&after={cursor}")).status_code == 200
    for url in (
        f"/api/v1/products?sort=-price&after={cursor}",
        f"/api/v1/products?after={cursor}",
        f"/api/v1/categories?after={cursor}",
    ):
        response = await api.get(url)
        assert response.status_code == 400, url
        assert response.json()["detail"].startswith("after:")
    categories = (await api.get("/api/v1/categories?limit=1")).json()["page"]["next_cursor"]
    assert (await api.get(f"/api/v1/products?after={categories}")).status_code == 400


async def test_a_tampered_cursor_is_400_for_every_sort(api: httpx.AsyncClient) -> None:
    for sort in ("price", "-name", "created_at", "-rating_avg", "review_count"):
        cursor = (await api.get(f"/api/v1/products?sort={sort}&limit=2")).json()["page"][
            "next_cursor"
        ]
        flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
        response = await api.get(f"/api/v1/products?sort={sort}&after={flipped}")
        assert response.status_code == 400, sort


# Filters --------------------------------------------------------------------------------


async def ids(api: httpx.AsyncClient, query: str) -> list[int]:
    response = await api.get(f"/api/v1/products?limit=100&count=exact&{query}")
    assert response.status_code == 200, response.text
    body = response.json()
    found = [p["id"] for p in body["data"]]
    assert body["page"]["total"] == len(found), "count=exact respects the filters"
    return found


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=3", list(range(1, 11))),
        ("category=desk-lamps", list(range(1, 11))),
        ("category=lamps", list(range(1, 21))),
        ("category=home", list(range(1, 26))),
        ("category=garden", list(range(26, 51))),
        ("category=nowhere", []),
        ("category=999", []),
        ("min_price=18.5", [n for n in range(1, 51) if n % 8 == 7]),
        ("max_price=1", [n for n in range(1, 51) if n % 8 == 0]),
        ("min_price=6&max_price=8.5", [n for n in range(1, 51) if n % 8 in (2, 3)]),
        ("in_stock=false", list(range(5, 51, 5))),
        ("in_stock=true&category=desk-lamps", [1, 2, 3, 4, 6, 7, 8, 9]),
        ("tag=bright", list(range(1, 11))),
        ("tag=solar", list(range(5, 16))),
        ("tag=nothing-tagged", []),
        ("q=lamps", [n for n in range(1, 51) if n % 3 == 0]),
        ("q=reading%20-warm", []),
        ("q=%22garden%20chair%22&category=desk-lamps", [1, 2, 4, 5, 7, 8, 10]),
        ("rating_gte=0", [1, 2, 3, 4, 5, 6]),
        ("rating_gte=4.5", []),
        ("tag=solar&in_stock=true&max_price=10", [n for n in range(5, 16) if n % 5 and n % 8 <= 3]),
    ],
)
async def test_product_filters(api: httpx.AsyncClient, query: str, expected: list[int]) -> None:
    assert await ids(api, query) == expected


async def test_rating_filter_matches_the_aggregate(api: httpx.AsyncClient, shop: str) -> None:
    rated = [p for p in await all_products(shop) if p["rating_avg"] is not None]
    expected = sorted(p["id"] for p in rated if p["rating_avg"] >= Decimal("3"))
    assert 0 < len(expected) < len(rated)
    assert await ids(api, "rating_gte=3") == expected


async def test_filters_combine_with_every_sort_and_cursor(api: httpx.AsyncClient) -> None:
    items = await walk(api, "/api/v1/products?category=lamps&in_stock=true&sort=-price&limit=3")
    prices = [(p["price"], p["id"]) for p in items]
    assert prices == sorted(prices, key=lambda pair: (-pair[0], -pair[1]))
    assert {p["id"] for p in items} == {n for n in range(1, 21) if n % 5}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("min_price=-1", "min_price"),
        ("min_price=abc", "min_price"),
        ("min_price=NaN", "min_price"),
        ("max_price=Infinity", "max_price"),
        ("max_price=1e400", "max_price"),
        ("min_price=5&max_price=4", "max_price"),
        ("in_stock=yes", "in_stock"),
        ("in_stock=", "in_stock"),
        ("tag=Not%20A%20Tag", "tag"),
        ("category=01", "category"),
        ("category=Home", "category"),
        ("category=99999999999999999999", "category"),
        ("q=", "q"),
        ("q=%00", "q"),
        ("q=" + "x" * 201, "q"),
        ("rating_gte=6", "rating_gte"),
        ("limit=%00", "limit"),
        ("limit=%ff", "limit"),
        ("limit=99999999999999999999999999", "limit"),
        ("fields=name,stok", "fields"),
        ("fields=", "fields"),
        ("include=author", "include"),
        ("count=EXACT", "count"),
        ("after=%ff%fe", "after"),
        ("sort=price&sort=name", "sort"),
    ],
)
async def test_bad_read_parameters_are_400_and_run_no_sql(
    api: httpx.AsyncClient, query: str, parameter: str
) -> None:
    response = await api.get(f"/api/v1/products?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "INVALID_PARAMETER"
    assert problem["detail"].startswith(f"{parameter}:")
    assert response.headers["x-query-count"] == "0"


async def test_category_products_take_the_same_grammar(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/api/v1/categories/lamps/products?sort=-price&in_stock=true&count=exact&limit=4"
        "&fields=price&include=category"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["page"]["total"] == 16
    assert [set(p) for p in body["data"]] == [{"id", "price", "category"}] * 4
    assert body["data"][0]["price"] == 18.5
    refused = await api.get("/api/v1/categories/lamps/products?category=garden")
    assert refused.status_code == 400
    assert (await api.get("/api/v1/categories/nowhere/products")).status_code == 404


# Shape: fields and include ----------------------------------------------------------------


async def test_fields_keep_only_the_named_properties_and_the_id(api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/v1/products?fields=name,price,name&limit=2")).json()
    assert body["data"] == [
        {"id": 1, "name": "Item I", "price": 3.5},
        {"id": 2, "name": "Item H", "price": 6.0},
    ]


async def test_fields_on_every_list(api: httpx.AsyncClient) -> None:
    admin = bearer(5, "admin")
    for url, headers, wanted in [
        ("/api/v1/categories?fields=slug", {}, {"id", "slug"}),
        ("/api/v1/tags?fields=name", {}, {"id", "name"}),
        ("/api/v1/products/6/reviews?fields=rating", {}, {"id", "rating"}),
        ("/api/v1/orders?fields=status,total", admin, {"id", "status", "total"}),
    ]:
        response = await api.get(url, headers=headers)
        assert response.status_code == 200, url
        assert {frozenset(item) for item in response.json()["data"]} == {frozenset(wanted)}
        bad = await api.get(url.replace("fields=", "fields=nope,"), headers=headers)
        assert bad.status_code == 400, url


async def test_include_embeds_relations_with_one_query_each(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    url = "/api/v1/products?include=category,tags,reviews&sort=-review_count&limit={}"
    small = await api.get(url.format(5))
    large = await api.get(url.format(50))
    assert len(large.json()["data"]) == 50
    # One statement, whatever the page size.
    assert small.headers["x-query-count"] == large.headers["x-query-count"] == "1"
    # The services: the page, then one batched query per included relation.
    async with reference(settings) as services:
        few, slow = await services.get(url.format(5)), await services.get(url.format(50))
    assert few.headers["x-query-count"] == slow.headers["x-query-count"] == "4"
    assert slow.content == large.content
    first = small.json()["data"][0]
    assert first["id"] == 6
    assert first["category"]["slug"] == "desk-lamps"
    assert [t["name"] for t in first["tags"]] == ["bright", "solar"]
    assert len(first["reviews"]) == 4 == first["review_count"]
    assert first["reviews"][0]["author"]["display_name"].startswith("User ")
    plain = await api.get("/api/v1/products?limit=50&fields=name")
    assert plain.headers["x-query-count"] == "1"
    assert "tags" not in plain.json()["data"][0]


async def test_fields_and_include_together_keep_the_relations(api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/v1/products?fields=sku&include=tags&limit=1")).json()
    assert body["data"] == [{"id": 1, "sku": "SKU-1", "tags": [{"id": 1, "name": "bright"}]}]


async def test_one_resource_takes_fields_and_a_product_takes_include(
    api: httpx.AsyncClient,
) -> None:
    shaped = await api.get("/api/v1/products/6?fields=name,review_count&include=reviews,tags")
    product = shaped.json()["data"]
    assert set(product) == {"id", "name", "review_count", "reviews", "tags"}
    assert len(product["reviews"]) == product["review_count"] == 4
    assert shaped.headers["x-query-count"] == "1"
    whole = (await api.get("/api/v1/products/6?include=reviews")).json()["data"]
    assert {"category", "tags", "reviews", "sku"} <= set(whole)
    assert (await api.get("/api/v1/categories/lamps?fields=slug")).json()["data"] == {
        "id": 2,
        "slug": "lamps",
    }
    assert (await api.get("/api/v1/tags/2?fields=id")).json()["data"] == {"id": 2}
    review = (await api.get("/api/v1/reviews/1?fields=rating")).json()["data"]
    assert set(review) == {"id", "rating"}
    order = await api.get("/api/v1/orders/2?fields=status,total", headers=bearer(1))
    assert order.json()["data"] == {"id": 2, "status": "pending", "total": 2.5}
    assert order.headers["x-query-count"] == "1"
    with_lines = await api.get("/api/v1/orders/2?fields=items", headers=bearer(1))
    assert with_lines.json()["data"]["items"][0]["quantity"] == 1
    for url in ("/api/v1/products/6?fields=nope", "/api/v1/products/6?include=author"):
        assert (await api.get(url)).status_code == 400, url


async def test_link_keeps_every_parameter_and_count_repeats_the_total(
    api: httpx.AsyncClient,
) -> None:
    first = await api.get("/api/v1/products?category=lamps&sort=name&limit=6&count=exact")
    link = first.headers["link"]
    assert link.endswith('>; rel="next"')
    for part in ("category=lamps", "sort=name", "limit=6", "count=exact", "after="):
        assert part in link
    second = await api.get(link[1 : link.index(">")])
    assert second.json()["page"]["total"] == first.json()["page"]["total"] == 20


# Other lists' orders ------------------------------------------------------------------------


async def test_reviews_sort_by_time_or_rating(api: httpx.AsyncClient) -> None:
    newest = await walk(api, "/api/v1/products/6/reviews?limit=3")
    assert [r["author"]["id"] for r in newest] == [4, 3, 2, 1]
    oldest = await walk(api, "/api/v1/products/6/reviews?limit=3&sort=created_at")
    assert [r["id"] for r in oldest] == [r["id"] for r in reversed(newest)]
    best = await walk(api, "/api/v1/products/6/reviews?limit=1&sort=-rating")
    ratings = [(r["rating"], r["id"]) for r in best]
    assert ratings == sorted(ratings, reverse=True)
    worst = await walk(api, "/api/v1/products/6/reviews?limit=2&sort=rating")
    assert [r["id"] for r in worst] == [r["id"] for r in reversed(best)]


async def test_orders_sort_both_ways_for_customers_and_admins(api: httpx.AsyncClient) -> None:
    mine = await walk(api, "/api/v1/orders?limit=2&sort=created_at", headers=bearer(1))
    assert [o["id"] for o in mine] == [2, 4, 6, 8]
    everyone = await walk(api, "/api/v1/orders?limit=4", headers=bearer(5, "admin"))
    assert [o["id"] for o in everyone] == list(range(9, 0, -1))
    paid = await walk(api, "/api/v1/orders?status=paid&sort=created_at", headers=bearer(5, "admin"))
    assert [o["id"] for o in paid] == [3, 6, 9]


async def test_categories_and_tags_sort_by_name(api: httpx.AsyncClient) -> None:
    names = await walk(api, "/api/v1/categories?sort=-name&limit=3")
    assert [c["name"] for c in names] == ["Lamps", "Home", "Garden", "Desk lamps"]
    children = await walk(api, "/api/v1/categories?sort=name&parent_id=1")
    assert [c["slug"] for c in children] == ["lamps"]
    assert [t["name"] for t in await walk(api, "/api/v1/tags?sort=-name&limit=1")] == [
        "solar",
        "bright",
    ]
    newest = await walk(api, "/api/v1/categories?sort=-id&limit=3")
    assert [c["id"] for c in newest] == [4, 3, 2, 1]


# GraphQL mirrors the grammar ------------------------------------------------------------

PRODUCTS = """
query($first: Int, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  products(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    edges { cursor node { id price } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def gql(api: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await api.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    return body


async def test_graphql_products_take_the_same_filter_sort_and_cursors(
    api: httpx.AsyncClient,
) -> None:
    rest = (
        await api.get("/api/v1/products?category=lamps&in_stock=true&sort=-price&limit=3")
    ).json()
    body = await gql(
        api,
        PRODUCTS,
        first=3,
        filter={"category": "lamps", "inStock": True},
        sort="PRICE_DESC",
    )
    products = body["data"]["products"]
    assert [int(e["node"]["id"]) for e in products["edges"]] == [p["id"] for p in rest["data"]]
    assert products["pageInfo"]["endCursor"] == rest["page"]["next_cursor"]
    assert products["totalCount"] == 16
    after = await gql(
        api,
        PRODUCTS,
        first=3,
        after=rest["page"]["next_cursor"],
        filter={"category": "lamps", "inStock": True},
        sort="PRICE_DESC",
    )
    page_two = (
        await api.get(
            "/api/v1/products?category=lamps&in_stock=true&sort=-price&limit=3"
            f"&after={rest['page']['next_cursor']}"
        )
    ).json()
    assert [int(e["node"]["id"]) for e in after["data"]["products"]["edges"]] == [
        p["id"] for p in page_two["data"]
    ]
    foreign = await gql(api, PRODUCTS, first=3, after=rest["page"]["next_cursor"], sort="PRICE")
    assert foreign["errors"][0]["extensions"]["code"] == "INVALID_PARAMETER"


@pytest.mark.parametrize(
    "bad",
    [
        {"minPrice": -1},
        {"minPrice": 5, "maxPrice": 1},
        {"category": "Not A Slug"},
        {"tag": ""},
        {"q": ""},
        {"ratingGte": 9},
    ],
)
async def test_graphql_filters_are_checked_like_rest(
    api: httpx.AsyncClient, bad: dict[str, Any]
) -> None:
    body = await gql(api, PRODUCTS, first=2, filter=bad)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PARAMETER"


CATEGORY_PRODUCTS = """
query($first: Int, $filter: ProductFilter, $sort: ProductSort) {
  categories(first: $first) {
    edges { node { slug products(first: 2, filter: $filter, sort: $sort) {
      totalCount edges { node { id } } } } }
  }
}
"""


async def test_graphql_category_products_filter_and_sort_in_one_batch(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    response = await api.post(
        "/graphql",
        json={
            "query": CATEGORY_PRODUCTS,
            "variables": {"first": 4, "filter": {"inStock": True}, "sort": "ID_DESC"},
        },
    )
    found = {
        e["node"]["slug"]: e["node"]["products"]
        for e in response.json()["data"]["categories"]["edges"]
    }
    assert [int(e["node"]["id"]) for e in found["lamps"]["edges"]] == [19, 18]
    assert found["lamps"]["totalCount"] == 16
    assert found["garden"]["totalCount"] == 20
    assert response.headers["x-query-count"] == "1"
    one = {"query": CATEGORY_PRODUCTS, "variables": {"first": 1, "sort": "PRICE"}}
    assert (await api.post("/graphql", json=one)).headers["x-query-count"] == "1"
    # The resolvers: categories, then every category's page, then every category's count.
    async with reference(settings) as resolvers:
        again = await resolvers.post("/graphql", json=one)
    assert again.headers["x-query-count"] == "3"
    refused = await gql(api, CATEGORY_PRODUCTS, first=1, filter={"category": "garden"})
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_PARAMETER"

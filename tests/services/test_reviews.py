"""Reviews in both styles: reading, writing your own, moderation, one review per product,
no existence oracle, exact product aggregates, and batched Product.reviews."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Actor, Actors, reference, run_sql

pytestmark = pytest.mark.anyio

REVIEW_KEYS = {
    "id",
    "product_id",
    "author",
    "rating",
    "title",
    "body",
    "created_at",
    "updated_at",
}
BUSY = 55  # the product with many reviews, several sharing one created_at
EMPTY = 58  # a product without reviews
MISSING = 999_999


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    """60 products; products 1..50 have three reviews each, product 55 has 45 reviews."""

    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'SKU-' || n, 'Lamp ' || n, 10, 5, 1 FROM generate_series(1, 60) n;
        INSERT INTO users (email, display_name, password_hash)
        SELECT 'seed' || n || '@example.com', 'Seed ' || n, '!'
        FROM generate_series(1, 45) n;
        INSERT INTO reviews (product_id, author_id, rating, title, created_at)
        SELECT p, u, 1 + (p + u) % 5, 'Review ' || p || '/' || u,
               now() - make_interval(mins => p * 10 + u)
        FROM generate_series(1, 50) p, generate_series(1, 3) u;
        -- Groups of five share a created_at, so only the id tie-breaker orders them.
        INSERT INTO reviews (product_id, author_id, rating, title, created_at)
        SELECT 55, u, 1 + u % 5, 'Busy ' || u,
               timestamptz '2025-01-01 00:00:00+00' + make_interval(hours => u / 5)
        FROM generate_series(1, 45) u;
        """,
    )
    return database_url


@pytest.fixture
async def api(shop: str, client: httpx.AsyncClient) -> httpx.AsyncClient:
    return client


async def gql(
    api: httpx.AsyncClient, query: str, actor: Actor | None = None, **variables: Any
) -> httpx.Response:
    headers = actor.headers if actor else {}
    return await api.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def review_row(database_url: str, review_id: int) -> asyncpg.Record | None:
    rows = await fetch(database_url, "SELECT * FROM reviews WHERE id = $1", review_id)
    return rows[0] if rows else None


async def review_count(database_url: str) -> int:
    return int((await fetch(database_url, "SELECT count(*) FROM reviews"))[0][0])


async def post_review(
    api: httpx.AsyncClient, actor: Actor | None, target: int, **body: Any
) -> httpx.Response:
    payload = {"rating": 4, "title": "Good", **body}
    headers = actor.headers if actor else {}
    return await api.post(f"/api/v1/products/{target}/reviews", json=payload, headers=headers)


async def product_aggregates(api: httpx.AsyncClient, product_id: int) -> tuple[int, float | None]:
    product = (await api.get(f"/api/v1/products/{product_id}")).json()["data"]
    return product["review_count"], product["rating_avg"]


def assert_not_found(response: httpx.Response, missing: httpx.Response) -> None:
    """Someone else's thing answers exactly like a missing one (no existence oracle)."""
    assert response.status_code == missing.status_code == 404
    mine, theirs = response.json(), missing.json()
    for body in (mine, theirs):
        body.pop("request_id")
        body["detail"] = body["detail"].split(" ")[0]
    assert mine == theirs
    assert mine["code"] == "NOT_FOUND"


# REST reads ------------------------------------------------------------------------------


async def test_reviews_of_a_product_newest_first(api: httpx.AsyncClient, shop: str) -> None:
    response = await api.get(f"/api/v1/products/{BUSY}/reviews?limit=5")
    assert response.status_code == 200
    body = response.json()
    expected = await fetch(
        shop,
        "SELECT id FROM reviews WHERE product_id = $1 ORDER BY created_at DESC, id DESC LIMIT 5",
        BUSY,
    )
    assert [r["id"] for r in body["data"]] == [r["id"] for r in expected]
    first = body["data"][0]
    assert set(first) == REVIEW_KEYS
    assert set(first["author"]) == {"id", "display_name"}
    assert first["author"]["display_name"].startswith("Seed ")
    assert "email" not in response.text
    assert body["page"]["limit"] == 5 and body["page"]["next_cursor"]
    assert response.headers["link"].endswith('rel="next"')
    assert response.headers["x-query-count"] == "1"


async def test_cursor_walk_has_no_duplicates_or_gaps(api: httpx.AsyncClient, shop: str) -> None:
    expected = await fetch(
        shop,
        "SELECT id FROM reviews WHERE product_id = $1 ORDER BY created_at DESC, id DESC",
        BUSY,
    )
    seen: list[int] = []
    url: str | None = f"/api/v1/products/{BUSY}/reviews?limit=7&count=exact"
    while url:
        response = await api.get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["page"]["total"] == 45
        seen += [r["id"] for r in body["data"]]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert seen == [r["id"] for r in expected]
    assert len(set(seen)) == 45


async def test_list_of_missing_and_empty_products(api: httpx.AsyncClient) -> None:
    missing = await api.get(f"/api/v1/products/{MISSING}/reviews")
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    empty = await api.get(f"/api/v1/products/{EMPTY}/reviews?count=exact")
    assert empty.status_code == 200
    assert empty.json() == {"data": [], "page": {"limit": 20, "next_cursor": None, "total": 0}}
    assert "link" not in empty.headers


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "after=bogus", "sort=id", "count=1"])
async def test_bad_list_parameters_are_400(api: httpx.AsyncClient, query: str) -> None:
    response = await api.get(f"/api/v1/products/1/reviews?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"


async def test_a_product_cursor_is_refused_for_reviews(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/products?limit=1")).json()["page"]["next_cursor"]
    response = await api.get(f"/api/v1/products/1/reviews?after={cursor}")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("after:")


async def test_one_review_anonymously(api: httpx.AsyncClient, shop: str) -> None:
    (row,) = await fetch(shop, "SELECT id FROM reviews WHERE product_id = 1 LIMIT 1")
    response = await api.get(f"/api/v1/reviews/{row['id']}")
    assert response.status_code == 200
    assert response.json()["data"]["product_id"] == 1
    assert (await api.get(f"/api/v1/reviews/{MISSING}")).status_code == 404
    assert (await api.get("/api/v1/reviews/abc")).status_code == 400


# REST writes -----------------------------------------------------------------------------


async def test_review_lifecycle_keeps_the_product_aggregates_exact(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    alice = await actors.customer("Alice")
    assert await product_aggregates(api, EMPTY) == (0, None)

    created = await post_review(api, alice, EMPTY, rating=5, title="Lovely", body="Bright.")
    assert created.status_code == 201
    review = created.json()["data"]
    assert created.headers["location"] == f"/api/v1/reviews/{review['id']}"
    assert set(review) == REVIEW_KEYS
    assert review["author"] == {"id": alice.user_id, "display_name": "Alice"}
    assert (review["rating"], review["title"], review["body"]) == (5, "Lovely", "Bright.")
    assert await product_aggregates(api, EMPTY) == (1, 5.0)

    changed = await api.patch(
        f"/api/v1/reviews/{review['id']}", json={"rating": 2}, headers=alice.headers
    )
    assert changed.status_code == 200
    after = changed.json()["data"]
    assert (after["rating"], after["title"], after["body"]) == (2, "Lovely", "Bright.")
    assert after["updated_at"] > review["updated_at"]
    assert after["created_at"] == review["created_at"]
    assert await product_aggregates(api, EMPTY) == (1, 2.0)

    gone = await api.delete(f"/api/v1/reviews/{review['id']}", headers=alice.headers)
    assert gone.status_code == 204 and gone.content == b""
    assert await review_row(shop, review["id"]) is None
    assert await product_aggregates(api, EMPTY) == (0, None)


async def test_body_defaults_to_empty(api: httpx.AsyncClient, actors: Actors) -> None:
    response = await post_review(api, await actors.customer(), 60, rating=3)
    assert response.status_code == 201
    assert response.json()["data"]["body"] == ""
    assert response.json()["data"]["product_id"] == 60


async def test_admins_may_review_too(api: httpx.AsyncClient, actors: Actors) -> None:
    response = await post_review(api, await actors.admin(), 2)
    assert response.status_code == 201


async def test_anonymous_writes_are_401(api: httpx.AsyncClient, shop: str) -> None:
    before = await review_count(shop)
    (row,) = await fetch(shop, "SELECT id FROM reviews LIMIT 1")
    for response in (
        await post_review(api, None, 1),
        await api.patch(f"/api/v1/reviews/{row['id']}", json={"rating": 1}),
        await api.delete(f"/api/v1/reviews/{row['id']}"),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["code"] == "UNAUTHENTICATED"
    assert await review_count(shop) == before


async def test_second_review_of_a_product_is_409(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    bob = await actors.customer()
    assert (await post_review(api, bob, 3)).status_code == 201
    again = await post_review(api, bob, 3, rating=1)
    assert again.status_code == 409
    assert again.json()["code"] == "CONFLICT"
    assert again.json()["detail"] == "You have already reviewed this product."
    rows = await fetch(shop, "SELECT rating FROM reviews WHERE author_id = $1", bob.user_id)
    assert [r["rating"] for r in rows] == [4]


async def test_reviewing_a_missing_product_is_404(api: httpx.AsyncClient, actors: Actors) -> None:
    response = await post_review(api, await actors.customer(), MISSING)
    assert response.status_code == 404
    assert response.json()["detail"] == f"Product {MISSING} does not exist."


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"author_id": 1}, "author_id"),
        ({"id": 1}, "id"),
        ({"product_id": 2}, "product_id"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": 4.5}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": True}, "rating"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"body": "x" * 10_001}, "body"),
        ({"body": None}, "body"),
    ],
)
async def test_bad_or_read_only_fields_are_400(
    api: httpx.AsyncClient, actors: Actors, shop: str, extra: dict[str, Any], field: str
) -> None:
    before = await review_count(shop)
    response = await post_review(api, await actors.customer(), 4, **extra)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert field in [e["field"] for e in problem["errors"]]
    assert await review_count(shop) == before


async def test_another_users_review_is_404_like_a_missing_one(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    owner, other = await actors.customer(), await actors.customer()
    review = (await post_review(api, owner, 5, title="Mine")).json()["data"]
    url = f"/api/v1/reviews/{review['id']}"
    patched = await api.patch(url, json={"title": "Hacked"}, headers=other.headers)
    missing = await api.patch(
        f"/api/v1/reviews/{MISSING}", json={"title": "Hacked"}, headers=other.headers
    )
    assert_not_found(patched, missing)
    deleted = await api.delete(url, headers=other.headers)
    assert_not_found(deleted, await api.delete(f"/api/v1/reviews/{MISSING}", headers=other.headers))
    row = await review_row(shop, review["id"])
    assert row is not None and row["title"] == "Mine"


async def test_an_admin_may_delete_any_review_but_not_edit_it(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    owner, admin = await actors.customer(), await actors.admin()
    review = (await post_review(api, owner, 6)).json()["data"]
    url = f"/api/v1/reviews/{review['id']}"
    edited = await api.patch(url, json={"title": "Moderated"}, headers=admin.headers)
    assert edited.status_code == 404
    assert (await api.delete(url, headers=admin.headers)).status_code == 204
    assert await review_row(shop, review["id"]) is None


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "", "nothing to change"),
        ({"product_id": 7}, "product_id", "unknown or read-only field"),
        ({"author_id": 7}, "author_id", "unknown or read-only field"),
        ({"title": None}, "title", "must not be null; omit the field to keep it"),
        ({"rating": 9}, "rating", "Input should be less than or equal to 5"),
    ],
)
async def test_bad_patches_are_400_and_change_nothing(
    api: httpx.AsyncClient,
    actors: Actors,
    shop: str,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    owner = await actors.customer()
    review = (await post_review(api, owner, 7, title="Kept")).json()["data"]
    response = await api.patch(f"/api/v1/reviews/{review['id']}", json=body, headers=owner.headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert {"field": field, "message": message} in problem["errors"]
    row = await review_row(shop, review["id"])
    assert row is not None
    assert (row["product_id"], row["title"]) == (7, "Kept")
    assert row["updated_at"] == row["created_at"]


# GraphQL ---------------------------------------------------------------------------------

REVIEW_FIELDS = (
    "id rating title body createdAt updatedAt product { id name } author { id displayName }"
)
ADD = f"""
mutation($productId: ID!, $input: AddReviewInput!) {{
  addReview(productId: $productId, input: $input) {{
    review {{ {REVIEW_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""
UPDATE = f"""
mutation($id: ID!, $input: UpdateReviewInput!) {{
  updateReview(id: $id, input: $input) {{
    review {{ {REVIEW_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""
DELETE = """
mutation($id: ID!) { deleteReview(id: $id) { deletedId errors { code field message } } }
"""


async def test_graphql_review_by_id(api: httpx.AsyncClient, shop: str) -> None:
    (row,) = await fetch(shop, "SELECT id, author_id FROM reviews WHERE product_id = 1 LIMIT 1")
    response = await gql(api, f'{{ review(id: "{row["id"]}") {{ {REVIEW_FIELDS} }} }}')
    review = response.json()["data"]["review"]
    assert review["id"] == str(row["id"])
    assert review["product"] == {"id": "1", "name": "Lamp 1"}
    assert review["author"]["id"] == str(row["author_id"])
    missing = (await gql(api, f'{{ review(id: "{MISSING}") {{ id }} }}')).json()
    assert missing["data"] == {"review": None}
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_graphql_review_lifecycle(api: httpx.AsyncClient, actors: Actors, shop: str) -> None:
    carol = await actors.customer("Carol")
    added = (await gql(api, ADD, carol, productId="8", input={"rating": 1, "title": "Meh"})).json()[
        "data"
    ]["addReview"]
    assert added["errors"] == []
    review = added["review"]
    assert review["author"] == {"id": str(carol.user_id), "displayName": "Carol"}
    assert (review["rating"], review["body"], review["product"]["id"]) == (1, "", "8")

    updated = (
        await gql(api, UPDATE, carol, id=review["id"], input={"rating": 5, "body": "Grew on me"})
    ).json()["data"]["updateReview"]
    assert updated["errors"] == []
    assert (updated["review"]["rating"], updated["review"]["title"]) == (5, "Meh")
    assert updated["review"]["updatedAt"] > review["updatedAt"]
    rest = (await api.get(f"/api/v1/reviews/{review['id']}")).json()["data"]
    assert (rest["rating"], rest["body"]) == (5, "Grew on me")

    deleted = (await gql(api, DELETE, carol, id=review["id"])).json()["data"]["deleteReview"]
    assert deleted == {"deletedId": review["id"], "errors": []}
    assert await review_row(shop, int(review["id"])) is None


async def test_graphql_duplicate_and_missing_are_user_errors(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    dave = await actors.customer()
    first = await gql(api, ADD, dave, productId="9", input={"rating": 3, "title": "One"})
    assert first.json()["data"]["addReview"]["errors"] == []
    again = (await gql(api, ADD, dave, productId="9", input={"rating": 3, "title": "Two"})).json()[
        "data"
    ]["addReview"]
    assert again == {
        "review": None,
        "errors": [
            {
                "code": "CONFLICT",
                "field": None,
                "message": "You have already reviewed this product.",
            }
        ],
    }
    missing = (
        await gql(api, ADD, dave, productId=str(MISSING), input={"rating": 3, "title": "x"})
    ).json()["data"]["addReview"]
    assert missing["errors"][0]["code"] == "NOT_FOUND"
    bad_id = (await gql(api, ADD, dave, productId="abc", input={"rating": 3, "title": "x"})).json()[
        "data"
    ]["addReview"]
    assert bad_id["errors"][0]["code"] == "INVALID_PARAMETER"
    assert bad_id["errors"][0]["field"] == "productId"


async def test_graphql_invalid_input_is_a_validation_user_error(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    before = await review_count(shop)
    result = (
        await gql(
            api, ADD, await actors.customer(), productId="10", input={"rating": 6, "title": ""}
        )
    ).json()["data"]["addReview"]
    assert result["review"] is None
    assert {(e["code"], e["field"]) for e in result["errors"]} == {
        ("VALIDATION_FAILED", "rating"),
        ("VALIDATION_FAILED", "title"),
    }
    assert await review_count(shop) == before


@pytest.mark.parametrize(
    "mutation",
    [
        'addReview(productId: "11", input: {rating: 3, title: "x", authorId: "1"})',
        'updateReview(id: "1", input: {productId: "2"})',
    ],
)
async def test_graphql_read_only_fields_fail_validation(
    api: httpx.AsyncClient, actors: Actors, shop: str, mutation: str
) -> None:
    before = await fetch(shop, "SELECT id, product_id, author_id FROM reviews ORDER BY id")
    response = await gql(
        api, f"mutation {{ {mutation} {{ errors {{ code }} }} }}", await actors.customer()
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # The same input in variables fails variable coercion with the same code.
    via_variables = await gql(
        api,
        ADD,
        await actors.customer(),
        productId="11",
        input={"rating": 3, "title": "x", "authorId": "1"},
    )
    assert via_variables.status_code == 400
    # A request error: refused before execution, so no `data` at all (GraphQL spec 7.1.1).
    assert "data" not in via_variables.json()
    assert via_variables.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await fetch(shop, "SELECT id, product_id, author_id FROM reviews ORDER BY id") == before


async def test_graphql_anonymous_writes_are_unauthenticated(
    api: httpx.AsyncClient, shop: str
) -> None:
    before = await review_count(shop)
    for query, variables in (
        (ADD, {"productId": "1", "input": {"rating": 3, "title": "x"}}),
        (UPDATE, {"id": "1", "input": {"rating": 3}}),
        (DELETE, {"id": "1"}),
    ):
        body = (await gql(api, query, **variables)).json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await review_count(shop) == before


async def test_graphql_empty_update_is_a_validation_user_error(
    api: httpx.AsyncClient, actors: Actors
) -> None:
    owner = await actors.customer()
    review = (await post_review(api, owner, 12)).json()["data"]
    result = (await gql(api, UPDATE, owner, id=str(review["id"]), input={})).json()
    assert result["data"]["updateReview"]["errors"] == [
        {"code": "VALIDATION_FAILED", "field": None, "message": "nothing to change"}
    ]


async def test_graphql_aliased_writes_to_another_users_review_are_not_found(
    api: httpx.AsyncClient, actors: Actors, shop: str
) -> None:
    me, them = await actors.customer(), await actors.customer()
    mine = (await post_review(api, me, 13, title="Mine")).json()["data"]["id"]
    theirs = (await post_review(api, them, 13, title="Theirs")).json()["data"]["id"]
    query = f"""mutation {{
      a: updateReview(id: "{mine}", input: {{title: "Edited"}}) {{ review {{ title }} errors {{ code }} }}
      b: updateReview(id: "{theirs}", input: {{title: "Edited"}}) {{ review {{ title }} errors {{ code }} }}
      c: updateReview(id: "{MISSING}", input: {{title: "Edited"}}) {{ review {{ title }} errors {{ code }} }}
      d: deleteReview(id: "{theirs}") {{ deletedId errors {{ code message }} }}
      e: deleteReview(id: "{MISSING}") {{ deletedId errors {{ code message }} }}
    }}"""
    data = (await gql(api, query, me)).json()["data"]
    assert data["a"] == {"review": {"title": "Edited"}, "errors": []}
    assert data["b"] == data["c"] == {"review": None, "errors": [{"code": "NOT_FOUND"}]}
    assert data["d"]["deletedId"] is None and data["d"]["errors"][0]["code"] == "NOT_FOUND"
    assert data["d"]["errors"][0]["message"].split(" ")[0] == "Review"
    row = await review_row(shop, theirs)
    assert row is not None and row["title"] == "Theirs"


async def test_graphql_admin_deletes_any_review(api: httpx.AsyncClient, actors: Actors) -> None:
    review = (await post_review(api, await actors.customer(), 14)).json()["data"]
    result = (await gql(api, DELETE, await actors.admin(), id=str(review["id"]))).json()
    assert result["data"]["deleteReview"] == {"deletedId": str(review["id"]), "errors": []}


# Product.reviews -------------------------------------------------------------------------

NESTED = """
query($first: Int!) {
  products(first: $first) {
    edges { node { id reviews(first: 5) { edges { node { rating author { displayName } } } } } }
  }
}"""


async def test_product_reviews_are_one_batched_query(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    small = await gql(api, NESTED, first=5)
    large = await gql(api, NESTED, first=50)
    assert "errors" not in large.json()
    edges = large.json()["data"]["products"]["edges"]
    assert len(edges) == 50
    assert all(len(e["node"]["reviews"]["edges"]) >= 3 for e in edges)
    assert all(
        r["node"]["author"]["displayName"] for e in edges for r in e["node"]["reviews"]["edges"]
    )
    assert small.headers["x-query-count"] == large.headers["x-query-count"] == "1"
    # The resolvers: one products page and one reviews batch (authors come joined).
    async with reference(settings) as resolvers:
        few, slow = await gql(resolvers, NESTED, first=5), await gql(resolvers, NESTED, first=50)
    assert few.headers["x-query-count"] == slow.headers["x-query-count"] == "2"
    assert slow.content == large.content


async def test_product_reviews_connection_pages_like_rest(
    api: httpx.AsyncClient, shop: str
) -> None:
    query = """
    query($id: ID!, $after: String) {
      product(id: $id) {
        reviews(first: 10, after: $after) {
          totalCount
          edges { cursor node { id } }
          pageInfo { hasNextPage endCursor }
        }
      }
    }"""
    seen: list[str] = []
    after = None
    while True:
        response = await gql(api, query, id=str(BUSY), after=after)
        reviews = response.json()["data"]["product"]["reviews"]
        assert reviews["totalCount"] == 45
        seen += [e["node"]["id"] for e in reviews["edges"]]
        if not reviews["pageInfo"]["hasNextPage"]:
            break
        after = reviews["pageInfo"]["endCursor"]
    # One statement; totalCount comes from the product's own count.
    assert response.headers["x-query-count"] == "1"
    expected = await fetch(
        shop,
        "SELECT id FROM reviews WHERE product_id = $1 ORDER BY created_at DESC, id DESC",
        BUSY,
    )
    assert seen == [str(r["id"]) for r in expected]
    rest = (await api.get(f"/api/v1/products/{BUSY}/reviews?limit=10")).json()
    assert (
        rest["page"]["next_cursor"]
        == (
            (await gql(api, query, id=str(BUSY))).json()["data"]["product"]["reviews"]["pageInfo"][
                "endCursor"
            ]
        )
    )


@pytest.mark.parametrize(("first", "after"), [(0, None), (101, None), (5, "bogus")])
async def test_product_reviews_bad_arguments(
    api: httpx.AsyncClient, first: int, after: str | None
) -> None:
    query = 'query($f: Int!, $a: String) { product(id: "1") { reviews(first: $f, after: $a) { totalCount } } }'
    body = (await gql(api, query, f=first, a=after)).json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PARAMETER"

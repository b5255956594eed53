"""The read-only scenarios: product cards, product page (cold and warm, HTTP caching),
category tree, search.

Naive plans call plain resources and follow links the way a client would: whatever an
answer already embeds is used, whatever it only links to (a parent category, a review's
author) is fetched, and calls that do not depend on each other go out together.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.compare.scenarios import (
    Client,
    Fixture,
    Made,
    Operation,
    Ref,
    Scenario,
    needs,
)

CARD_FIELDS = "id,name,price"
PAGE_FIELDS = "id,name,price,description,rating_avg,review_count"
SEARCH_FIELDS = "id,name,price,rating_avg,review_count"


# -- product cards: name and price of 20 products ---------------------------------------


async def _cards_naive(client: Client, fixture: Fixture, made: Made) -> None:
    await client.get("/products", {"limit": 20})


async def _cards_tuned(client: Client, fixture: Fixture, made: Made) -> None:
    await client.get("/products", {"limit": 20, "fields": CARD_FIELDS})


PRODUCT_CARDS = Scenario(
    name="product-cards",
    title="Product cards: name and price of 20 products",
    lesson="Over-fetching: a plain list sends every field of every product; a card shows "
    "a name and a price.",
    needs=needs(product="id name price"),
    naive=_cards_naive,
    tuned=_cards_tuned,
    graphql=(
        Operation(
            document="""query ProductCards {
  products(first: 20) {
    edges { node { id name price } }
  }
}"""
        ),
    ),
)


# -- product page: product, category path, tags, 5 latest reviews with authors ----------


def _product_id(fixture: Fixture, made: Made) -> Any:
    return made.get("product_id", fixture.get("product_id"))


async def _category_path(client: Client, category: dict[str, Any], fields: str | None) -> None:
    """Walk up the tree from `category`, one request per level, as links allow."""
    params = {"fields": fields} if fields else None
    while category.get("parent_id") is not None:
        category = (await client.get(f"/categories/{category['parent_id']}", params))["data"]


async def _product_page_naive(client: Client, fixture: Fixture, made: Made) -> None:
    product_id = _product_id(fixture, made)
    answers = await asyncio.gather(
        client.get(f"/products/{product_id}"),
        client.get(f"/products/{product_id}/reviews", {"limit": 5}),
    )
    product, reviews = answers[0]["data"], answers[1]["data"]
    category = (
        product.get("category")
        or (await client.get(f"/categories/{product['category_id']}"))["data"]
    )
    authors = [r["author_id"] for r in reviews if "author" not in r]
    await asyncio.gather(
        _category_path(client, category, None),
        *(client.get(f"/users/{author}") for author in dict.fromkeys(authors)),
    )


async def _product_page_tuned(client: Client, fixture: Fixture, made: Made) -> None:
    product_id = _product_id(fixture, made)
    answer = await client.get(
        f"/products/{product_id}", {"include": "category,tags,reviews", "fields": PAGE_FIELDS}
    )
    await _category_path(client, answer["data"]["category"], "id,name,parent_id")


PRODUCT_PAGE_QUERY = Operation(
    document="""query ProductPage($id: ID!) {
  product(id: $id) {
    id name price description ratingAvg reviewCount
    category { id name parent { id name parent { id name } } }
    tags { name }
    reviews(first: 5) {
      edges { node { rating title body createdAt author { displayName } } }
    }
  }
}""",
    variables={"id": Ref("product_id", as_id=True)},
)
PRODUCT_PAGE_NEEDS = needs(
    product="id name price description rating_avg review_count",
    category="id name",
    tag="name",
    review="rating title body created_at",
    user="display_name",
)

_MOST_REVIEWED = """query CompareMostReviewed($first: Int!) {
  products(first: $first, sort: REVIEW_COUNT_DESC) { edges { node { id } } }
}"""


async def _most_reviewed(client: Client, fixture: Fixture) -> None:
    data = await client.graphql(_MOST_REVIEWED, {"first": 1})
    fixture["product_id"] = int(data["products"]["edges"][0]["node"]["id"])


PRODUCT_PAGE = Scenario(
    name="product-page",
    title="Product page: a product, its category path, tags, 5 latest reviews with authors",
    lesson="Round trips: REST follows links one level at a time; "
    "GraphQL asks for the whole tree at once.",
    needs=PRODUCT_PAGE_NEEDS,
    naive=_product_page_naive,
    tuned=_product_page_tuned,
    graphql=(PRODUCT_PAGE_QUERY,),
    prepare=_most_reviewed,
)


# -- the same product page twice: cold, then warm cache ----------------------------------

CACHE_PAGE = Scenario(
    name="cache-cold-warm",
    title="The same product page twice: cold, then warm cache",
    lesson="Caching: the cold pass bypasses the gateway's caches, so every read runs its "
    "SQL; the warm pass, after an unmeasured one, is served from the cache (X-Cache: HIT).",
    needs=PRODUCT_PAGE_NEEDS,
    naive=_product_page_naive,
    tuned=_product_page_tuned,
    graphql=(PRODUCT_PAGE_QUERY,),
    prepare=_most_reviewed,
    passes=("cold", "warm"),
)


# -- HTTP caching: the product page visited, then revisited ------------------------------

HTTP_CACHING = Scenario(
    name="http-caching",
    title="HTTP caching: a product page, visited, revisited within 30 s and after",
    lesson="HTTP caching: a browser keeps what GET answers. REST's anonymous answers are "
    "public for 30 s (max-age=30), so a revisit within them needs no request at all; after "
    "them the client revalidates with the ETags it kept, and unchanged answers come back "
    "304 Not Modified, without a body. GraphQL GET answers are no-cache: always "
    "revalidated, one round trip. A GraphQL POST is not cached: every visit downloads again.",
    needs=PRODUCT_PAGE_NEEDS,
    naive=_product_page_naive,
    tuned=_product_page_tuned,
    graphql=(PRODUCT_PAGE_QUERY,),
    variants=("rest_tuned", "graphql", "graphql_get"),
    titles={"rest_tuned": "REST GET", "graphql": "GraphQL POST"},
    prepare=_most_reviewed,
    passes=("first visit", "within 30 s", "after 30 s"),
    visits_at=(0, 10, 60),
)


# -- the category tree with product counts ------------------------------------------------


async def _all_categories(client: Client, fields: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 100}
    if fields:
        params["fields"] = fields
    while True:
        answer = await client.get("/categories", params)
        found += answer["data"]
        cursor = answer["page"]["next_cursor"]
        if cursor is None:
            return found
        params["after"] = cursor


async def _tree_naive(client: Client, fixture: Fixture, made: Made) -> None:
    categories = await _all_categories(client, None)
    await asyncio.gather(
        *(
            client.get(f"/categories/{c['id']}/products", {"limit": 1, "count": "exact"})
            for c in categories
        )
    )


async def _tree_tuned(client: Client, fixture: Fixture, made: Made) -> None:
    categories = await _all_categories(client, "id,name,parent_id")
    await asyncio.gather(
        *(
            client.get(
                f"/categories/{c['id']}/products", {"limit": 1, "count": "exact", "fields": "id"}
            )
            for c in categories
        )
    )


CATEGORY_TREE = Scenario(
    name="category-tree",
    title="Category tree with product counts",
    lesson="N+1 requests: REST has no count per category, so the client asks once per "
    "category; GraphQL batches the counts into one statement.",
    needs=needs(category="id name parent_id", page="total", product="total_count"),
    naive=_tree_naive,
    tuned=_tree_tuned,
    graphql=(
        Operation(
            document="""query CategoryTree {
  categories(first: 100) {
    edges { node { id name parent { id } products(first: 1) { totalCount } } }
  }
}"""
        ),
    ),
)


# -- search results for a phrase, with ratings --------------------------------------------

_SEARCH_PROBE = """query CompareSearchProbe($q: String!) {
  products(first: 1, filter: {q: $q}) { totalCount edges { node { name } } }
}"""


async def _search_phrase(client: Client, fixture: Fixture) -> None:
    phrase = "desk lamp"
    data = await client.graphql(_SEARCH_PROBE, {"q": phrase})
    if data["products"]["totalCount"] == 0:
        # Another data set: search for the last two words of some product's name.
        data = await client.graphql(_MOST_REVIEWED, {"first": 1})
        found = await client.graphql(
            "query CompareName($id: ID!) { product(id: $id) { name } }",
            {"id": data["products"]["edges"][0]["node"]["id"]},
        )
        phrase = " ".join(found["product"]["name"].split()[-2:])
    fixture["q"] = phrase


async def _search_naive(client: Client, fixture: Fixture, made: Made) -> None:
    await client.get("/products", {"q": fixture["q"], "limit": 20})


async def _search_tuned(client: Client, fixture: Fixture, made: Made) -> None:
    await client.get("/products", {"q": fixture["q"], "limit": 20, "fields": SEARCH_FIELDS})


SEARCH = Scenario(
    name="search",
    title="Search results for a phrase, with ratings",
    lesson="Full-text search in both styles: the same statement; what differs is what comes back.",
    needs=needs(product="id name price rating_avg review_count"),
    naive=_search_naive,
    tuned=_search_tuned,
    graphql=(
        Operation(
            document="""query Search($q: String!) {
  products(first: 20, filter: {q: $q}) {
    edges { node { id name price ratingAvg reviewCount } }
  }
}""",
            variables={"q": Ref("q")},
        ),
    ),
    prepare=_search_phrase,
)

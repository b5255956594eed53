"""Workloads: the exact requests each benchmark sends, built once as data.

A workload is a list of calls that every load generator replays in order (wrk from a
generated Lua script, the Python one directly), so both send the same bytes. Ids come
from a seeded random generator: runs are repeatable, and "cache miss" means ids spread
over the whole catalogue, so most reads find nothing cached until the run has touched
most of the 10,000 products.

Some workloads depend on parts of the gateway still being built (sparse fields, includes,
persisted-query GET). Each has variants in preference order; the harness probes them
against the live gateway and keeps the first one that answers 2xx, saying which.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

import orjson

Style = Literal["floor", "rest", "graphql", "mix"]

DETAIL_DOCUMENT = """query ProductDetail($id: ID!) {
  product(id: $id) {
    id sku name description price stock inStock reviewCount ratingAvg
    createdAt updatedAt version
    category { id slug name }
  }
}"""
"""The GraphQL twin of REST GET /products/{id} (which embeds the product's category)."""

LIST_DOCUMENT = "query ProductCards { products(first: 20) { edges { node { id name price } } } }"
"""The GraphQL twin of REST GET /products?limit=20&fields=id,name,price."""

PAGE_DOCUMENT = """query ProductPage($id: ID!) {
  product(id: $id) {
    id name description price stock
    category { id slug name }
    tags { id name }
    reviews(first: 10) {
      edges { node { id rating title body createdAt author { id displayName } } }
    }
  }
}"""
"""The nested product page: a product, its category, tags and 10 newest reviews with authors."""

FEED_DOCUMENT = """query Feed { products(first: 20) { edges { node { id name category { name }
  reviews(first: 3) { edges { node { rating title author { displayName } } } } } } } }"""
"""20 products, each with its category and 3 newest reviews with authors: the peers' W3."""
FEED_REST = (
    "/api/v1/products?limit=20&fields=name&include=category,reviews.author"
    "&fields[categories]=name&fields[reviews]=rating,title&fields[users]=display_name"
    "&limit[reviews]=3"
)
"""The REST twin of FEED_DOCUMENT: one request, nested includes, sparse fields per type."""

REST_PAGE_INCLUDE = "category,tags,reviews"
MIX_WRITE_SHARE = 0.10
MIX_CALLS = 10_000


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request; `kind` groups calls of the same shape (one of each is probed)."""

    method: str
    path: str
    kind: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def raw(self, host: str) -> bytes:
        """The request as HTTP/1.1 bytes on a keep-alive connection."""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Accept: */*"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method in {"POST", "PUT", "PATCH"}:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(frozen=True, slots=True)
class Workload:
    """A named list of calls; `pair` links a REST workload to its GraphQL twin."""

    name: str
    title: str
    style: Style
    calls: tuple[Call, ...]
    pair: str | None = None
    variant: str = "as specified"
    calls_per_op: int = 1
    # Sent once to each freshly started server before warm-up (persisted-query registration).
    setup: tuple[Call, ...] = ()
    cached: bool = True

    @property
    def kinds(self) -> list[Call]:
        """The first call of each kind, in order: what a probe sends."""
        seen: dict[str, Call] = {}
        for call in self.calls:
            seen.setdefault(call.kind, call)
        return list(seen.values())


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What the workloads need to know about the seeded data."""

    product_ids: tuple[int, ...] = field(repr=False)
    hot_id: int
    page_ids: tuple[int, ...]
    admin_token: str = field(repr=False)


_JSON = (("Content-Type", "application/json"),)


def rest_detail(product_id: int) -> Call:
    return Call("GET", f"/api/v1/products/{product_id}", "rest.detail")


def graphql_post(document: str, kind: str, variables: Mapping[str, object] | None = None) -> Call:
    payload: dict[str, object] = {"query": document}
    if variables is not None:
        payload["variables"] = dict(variables)
    return Call("POST", "/graphql", kind, orjson.dumps(payload), _JSON)


def graphql_detail(product_id: int) -> Call:
    return graphql_post(DETAIL_DOCUMENT, "graphql.detail", {"id": str(product_id)})


def persisted_hash(document: str) -> str:
    """The SHA-256 an automatic-persisted-query client sends for `document`."""
    return hashlib.sha256(document.encode()).hexdigest()


def persisted_get(document: str, variables: Mapping[str, object]) -> Call:
    """GET /graphql running a registered document by hash (Apollo APQ over GET)."""
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": persisted_hash(document)}}
    query = urlencode(
        {
            "extensions": json.dumps(extensions, separators=(",", ":")),
            "variables": json.dumps(dict(variables), separators=(",", ":")),
        }
    )
    return Call("GET", f"/graphql?{query}", "graphql.persisted")


def persisted_register(document: str, variables: Mapping[str, object]) -> Call:
    """The POST that registers `document` under its hash (query and hash together)."""
    payload = {
        "query": document,
        "variables": dict(variables),
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": persisted_hash(document)}},
    }
    return Call("POST", "/graphql", "graphql.persisted.register", orjson.dumps(payload), _JSON)


def _one_product_query(product_id: int) -> str:
    """A list query whose single item is `product_id`, with the page's relations embedded.

    The cursor is the one the list itself hands out for the product before (id order),
    so the page starts exactly at `product_id`: how a client holding cursors reaches one
    product through the list's `include=`.
    """
    from gateway.services.product_lists import ORDERS

    after = ORDERS["id"].cursor({"id": product_id - 1})
    return urlencode(
        {
            "limit": 1,
            "after": after,
            "fields": "id,name,description,price,stock",
            "include": REST_PAGE_INCLUDE,
        }
    )


def _rest_lists() -> list[tuple[str, Call]]:
    sparse = Call("GET", "/api/v1/products?limit=20&fields=id,name,price", "rest.list")
    plain = Call("GET", "/api/v1/products?limit=20", "rest.list")
    return [("as specified", sparse), ("without fields= (not supported yet): whole rows", plain)]


def _spread(catalogue: Catalogue, seed: int) -> list[int]:
    """Every product id once, in a shuffled (but repeatable) order."""
    ids = list(catalogue.product_ids)
    random.Random(seed).shuffle(ids)
    return ids


def _mix(catalogue: Catalogue, list_call: Call, seed: int) -> tuple[Call, ...]:
    """90 % reads (REST and GraphQL, detail and list, ids spread), 10 % admin stock PATCHes."""
    rng = random.Random(seed)
    auth = (("Authorization", f"Bearer {catalogue.admin_token}"), *_JSON)
    reads = (
        rest_detail,
        graphql_detail,
        lambda i: list_call,
        lambda i: graphql_post(LIST_DOCUMENT, "graphql.list"),
    )
    calls: list[Call] = []
    for n in range(MIX_CALLS):
        product_id = rng.choice(catalogue.product_ids)
        if rng.random() < MIX_WRITE_SHARE:
            # Stock only: always valid (0..500 is within the CHECK), so no write can fail
            # for a business reason; no If-Match, so concurrent writers never conflict.
            body = orjson.dumps({"stock": rng.randint(0, 500)})
            path = f"/api/v1/products/{product_id}"
            calls.append(Call("PATCH", path, "rest.patch", body, auth))
        else:
            calls.append(reads[n % len(reads)](product_id))
    return tuple(calls)


def candidates(catalogue: Catalogue, seed: int = 2024) -> dict[str, list[Workload]]:
    """Every workload, each with its variants in preference order."""
    hot, spread = catalogue.hot_id, _spread(catalogue, seed)
    page_ids = list(catalogue.page_ids)
    floor = Workload(
        "floor",
        "Floor: bare ASGI app, constant body of the REST detail's size",
        "floor",
        (Call("GET", f"/api/v1/products/{hot}", "floor"),),
        cached=False,
    )
    starlette_floor = Workload(
        "floor.starlette",
        "Framework floor: the same constant body from one Starlette route, no middleware",
        "floor",
        (Call("GET", f"/api/v1/products/{hot}", "floor"),),
        cached=False,
    )
    rest_list = [
        Workload("rest.list", "REST product list (20, sparse fields)", "rest", (call,), "list", v)
        for v, call in _rest_lists()
    ]
    graphql_list = Workload(
        "graphql.list",
        "GraphQL product list (20, 3 fields)",
        "graphql",
        (graphql_post(LIST_DOCUMENT, "graphql.list"),),
        "list",
    )
    rest_page_single = Workload(
        "rest.page",
        "REST product page, tuned (include=)",
        "rest",
        tuple(
            Call("GET", f"/api/v1/products/{i}?include={REST_PAGE_INCLUDE}", "rest.page")
            for i in page_ids
        ),
        "page",
    )
    rest_page_list = Workload(
        "rest.page",
        "REST product page, tuned (include=)",
        "rest",
        tuple(
            Call("GET", f"/api/v1/products?{_one_product_query(i)}", "rest.page.list")
            for i in page_ids
        ),
        "page",
        "the detail takes no include=: one request to /products?limit=1&after=<cursor of "
        "the product before>&fields=...&include=category,tags,reviews",
    )
    rest_page_two = Workload(
        "rest.page",
        "REST product page, tuned (include=)",
        "rest",
        tuple(
            call
            for i in page_ids
            for call in (
                rest_detail(i),
                Call("GET", f"/api/v1/products/{i}/reviews?limit=10", "rest.reviews"),
            )
        ),
        "page",
        "include= not supported yet: detail + reviews, 2 requests per page (pages/s = "
        "requests/s ÷ 2; latencies are per request), no tags",
        calls_per_op=2,
    )
    detail_vars = {"id": str(hot)}
    return {
        "floor": [floor],
        "floor.starlette": [starlette_floor],
        "rest.list": rest_list,
        "graphql.list": [graphql_list],
        "rest.detail.hit": [
            Workload(
                "rest.detail.hit",
                "REST product detail, one id (cache hit)",
                "rest",
                (rest_detail(hot),),
                "detail-hit",
            )
        ],
        "graphql.detail.hit": [
            Workload(
                "graphql.detail.hit",
                "GraphQL product detail, one id (cache hit)",
                "graphql",
                (graphql_detail(hot),),
                "detail-hit",
            )
        ],
        "rest.detail.miss": [
            Workload(
                "rest.detail.miss",
                "REST product detail, ids spread over the catalogue (cache miss)",
                "rest",
                tuple(rest_detail(i) for i in spread),
                "detail-miss",
            )
        ],
        "graphql.detail.miss": [
            Workload(
                "graphql.detail.miss",
                "GraphQL product detail, ids spread over the catalogue (cache miss)",
                "graphql",
                tuple(graphql_detail(i) for i in spread),
                "detail-miss",
            )
        ],
        "rest.page": [rest_page_single, rest_page_list, rest_page_two],
        "rest.feed": [
            Workload(
                "rest.feed",
                "REST feed: 20 products with category and 3 reviews with authors",
                "rest",
                (Call("GET", FEED_REST, "rest.feed"),),
                "feed",
            )
        ],
        "graphql.feed": [
            Workload(
                "graphql.feed",
                "GraphQL feed: 20 products with category and 3 reviews with authors",
                "graphql",
                (graphql_post(FEED_DOCUMENT, "graphql.feed"),),
                "feed",
            )
        ],
        "graphql.page": [
            Workload(
                "graphql.page",
                "GraphQL nested product page",
                "graphql",
                tuple(
                    graphql_post(PAGE_DOCUMENT, "graphql.page", {"id": str(i)}) for i in page_ids
                ),
                "page",
            )
        ],
        "graphql.persisted": [
            Workload(
                "graphql.persisted",
                "GraphQL persisted query over GET (APQ), product detail",
                "graphql",
                (persisted_get(DETAIL_DOCUMENT, detail_vars),),
                setup=(persisted_register(DETAIL_DOCUMENT, detail_vars),),
            )
        ],
        "mix": [
            Workload(
                "mix",
                "90/10 read/write mix (REST + GraphQL reads, admin stock PATCH)",
                "mix",
                _mix(catalogue, call, seed),
                variant=v,
            )
            for v, call in _rest_lists()
        ],
    }


ORDER = (
    "floor",
    "floor.starlette",
    "rest.list",
    "graphql.list",
    "rest.detail.hit",
    "graphql.detail.hit",
    "rest.detail.miss",
    "graphql.detail.miss",
    "rest.page",
    "graphql.page",
    "rest.feed",
    "graphql.feed",
    "graphql.persisted",
    "mix",
)
"""The order workloads run and are reported in."""

"""The read scenarios' plans: the requests each variant sends (and in what order) and what
their preparation finds, run through a real recorder against the app on the demo data.

tests/compare/test_runner.py runs them end to end and checks the figures; this module pins
each plan's own requests against what the database says they must be.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.compare import reads
from gateway.compare.recorder import Recorder
from gateway.compare.scenarios import Fixture
from gateway.settings import Settings
from tests.compare.test_runner import seed_demo
from tests.conftest import app_client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def seeded(database_url: str) -> str:
    asyncio.run(seed_demo(database_url))
    return database_url


@pytest.fixture
async def http(seeded: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as client:
        yield client


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def paths(recorder: Recorder) -> list[str]:
    return [c.path for c in recorder.calls]


async def test_product_cards_ask_for_twenty_products_the_tuned_way_only_three_fields(
    http: httpx.AsyncClient,
) -> None:
    naive, tuned = Recorder(http), Recorder(http)
    await reads.PRODUCT_CARDS.naive(naive, {}, {})
    assert reads.PRODUCT_CARDS.tuned is not None
    await reads.PRODUCT_CARDS.tuned(tuned, {}, {})
    assert paths(naive) == ["/api/v1/products?limit=20"]
    assert paths(tuned) == ["/api/v1/products?limit=20&fields=id%2Cname%2Cprice"]
    answer = (await http.get(tuned.calls[0].path)).json()
    assert len(answer["data"]) == 20
    assert all(set(p) == {"id", "name", "price"} for p in answer["data"])


async def product_page(http: httpx.AsyncClient, seeded: str) -> tuple[Fixture, int, int, int]:
    """The prepared fixture, the product's category depth above its own (from the
    database), the authors its 5 latest reviews only link to, and its category."""
    fixture: Fixture = {}
    assert reads.PRODUCT_PAGE.prepare is not None
    await reads.PRODUCT_PAGE.prepare(Recorder(http), fixture)
    (top,) = await fetch(seeded, "SELECT max(review_count) AS n FROM products")
    (chosen,) = await fetch(
        seeded,
        "SELECT review_count, category_id FROM products WHERE id = $1",
        fixture["product_id"],
    )
    assert chosen["review_count"] == top["n"]
    ancestors = await fetch(
        seeded,
        """WITH RECURSIVE up AS (SELECT id, parent_id FROM categories WHERE id = $1
           UNION ALL SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id)
           SELECT count(*) - 1 AS n FROM up""",
        chosen["category_id"],
    )
    listed = (await http.get(f"/api/v1/products/{fixture['product_id']}/reviews?limit=5")).json()
    # An author the review embeds needs no request of its own.
    authors = len({r["author_id"] for r in listed["data"] if "author" not in r})
    return fixture, ancestors[0]["n"], authors, chosen["category_id"]


async def test_the_naive_product_page_follows_every_link_one_level_at_a_time(
    http: httpx.AsyncClient, seeded: str
) -> None:
    fixture, depth, authors, category_id = await product_page(http, seeded)
    product_id = fixture["product_id"]
    recorder = Recorder(http)
    await reads.PRODUCT_PAGE.naive(recorder, fixture, {})
    sent = paths(recorder)
    assert sorted(sent[:2]) == [
        f"/api/v1/products/{product_id}",
        f"/api/v1/products/{product_id}/reviews?limit=5",
    ]
    categories = [p for p in sent if p.startswith("/api/v1/categories/")]
    users = [p for p in sent if p.startswith("/api/v1/users/")]
    # The product embeds its category; the client fetches each parent above it, in turn.
    embedded = (await http.get(f"/api/v1/products/{product_id}")).json()["data"]["category"]
    assert embedded["id"] == category_id
    assert len(categories) == depth > 0
    assert categories[0] == f"/api/v1/categories/{embedded['parent_id']}"
    # Each author once, however many of the 5 reviews they wrote.
    assert len(users) == len(set(users)) == authors
    assert len(sent) == 2 + len(categories) + len(users)
    # What answered was all the client asked for: nothing failed.
    assert {c.status for c in recorder.calls} == {200}


async def test_the_tuned_product_page_embeds_and_walks_up_with_few_fields(
    http: httpx.AsyncClient, seeded: str
) -> None:
    fixture, depth, _, _ = await product_page(http, seeded)
    recorder = Recorder(http)
    assert reads.PRODUCT_PAGE.tuned is not None
    # The iteration's own product wins over the prepared one.
    await reads.PRODUCT_PAGE.tuned(recorder, {"product_id": -1}, fixture)
    first, *walk = paths(recorder)
    assert first == (
        f"/api/v1/products/{fixture['product_id']}?include=category%2Ctags%2Creviews"
        "&fields=id%2Cname%2Cprice%2Cdescription%2Crating_avg%2Creview_count"
    )
    assert len(walk) == depth
    assert all(p.endswith("?fields=id%2Cname%2Cparent_id") for p in walk)


async def test_the_category_tree_pages_through_categories_then_counts_each(
    http: httpx.AsyncClient, seeded: str
) -> None:
    (count,) = await fetch(seeded, "SELECT count(*) AS n FROM categories")
    n = count["n"]
    for plan, fields in (
        (reads.CATEGORY_TREE.naive, ""),
        (reads.CATEGORY_TREE.tuned, "&fields=id"),
    ):
        assert plan is not None
        recorder = Recorder(http)
        await plan(recorder, {}, {})
        sent = paths(recorder)
        listing = [p for p in sent if p.startswith("/api/v1/categories?")]
        counts = [p for p in sent if "/products?" in p]
        assert len(listing) == -(-n // 100) and listing[0].startswith(
            "/api/v1/categories?limit=100"
        )
        assert len(counts) == len(set(counts)) == n
        assert all(p.endswith("?limit=1&count=exact" + fields) for p in counts)
        assert len(sent) == len(listing) + n


async def test_search_prepares_a_phrase_that_finds_something_and_sends_it(
    http: httpx.AsyncClient,
) -> None:
    fixture: Fixture = {}
    assert reads.SEARCH.prepare is not None
    await reads.SEARCH.prepare(Recorder(http), fixture)
    assert fixture["q"]
    found = (await http.get("/api/v1/products", params={"q": fixture["q"]})).json()["data"]
    assert found
    naive, tuned = Recorder(http), Recorder(http)
    await reads.SEARCH.naive(naive, fixture, {})
    assert reads.SEARCH.tuned is not None
    await reads.SEARCH.tuned(tuned, fixture, {})
    q = httpx.QueryParams({"q": fixture["q"]})
    assert paths(naive) == [f"/api/v1/products?{q}&limit=20"]
    assert paths(tuned) == [
        f"/api/v1/products?{q}&limit=20&fields=id%2Cname%2Cprice%2Crating_avg%2Creview_count"
    ]

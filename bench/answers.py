"""Whether the gateways of one configuration answer alike, and as the primary holds: the
same calls sent to each, bodies compared, and every product's stock checked against the
primary's row."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import orjson

from bench.workloads import (
    PAGE_DOCUMENT,
    Call,
    Catalogue,
    Workload,
    graphql_detail,
    graphql_post,
    rest_detail,
)

LIST = Call("GET", "/api/v1/products?limit=20&fields=id,name,price", "rest.list")
"""The REST list the benchmark's read workload sends."""


def sample_calls(catalogue: Catalogue, mix: Workload) -> list[Call]:
    """What the agreement check asks both gateways: products the mix writes, others, a list
    and pages, in both styles."""
    written = [int(c.path.rsplit("/", 1)[1]) for c in mix.calls if c.method == "PATCH"]
    ids = list(dict.fromkeys([*written[:15], *catalogue.product_ids[:10]]))
    pages = catalogue.page_ids[:5]
    return [
        *(rest_detail(i) for i in ids),
        *(graphql_detail(i) for i in ids[:10]),
        LIST,
        *(graphql_post(PAGE_DOCUMENT, "graphql.page", {"id": str(i)}) for i in pages),
    ]


def compare(urls: list[str], calls: list[Call], primary_url: str) -> dict[str, Any]:
    """Each call's answer from both gateways: equal to each other, 200, and each product's
    stock equal to the primary's row."""
    answers = []
    for url in urls:
        with httpx.Client(base_url=url, timeout=15) as client:
            answers.append([client.request(c.method, c.path, content=c.body or None,
                                           headers=dict(c.headers)) for c in calls])  # fmt: skip
    stock = asyncio.run(_stock(primary_url))
    differ, failed, stale = [], [], []
    for n, call in enumerate(calls):
        bodies = [orjson.loads(a[n].content) for a in answers]
        label = f"{call.method} {call.kind} {call.path if call.method == 'GET' else n}"
        if any(a[n].status_code != 200 for a in answers):
            failed.append(label)
        if bodies[0] != bodies[1]:
            differ.append(label)
        for body in bodies:
            product = (
                body.get("data", {}).get("product") if call.kind.startswith("graphql") else body
            )
            held = isinstance(product, dict) and "stock" in product
            if held and stock.get(int(product["id"])) != product["stock"]:
                stale.append(
                    f"{label}: stock {product['stock']}, primary {stock.get(int(product['id']))}"
                )
    return {"calls": len(calls), "differ": differ, "failed": failed, "stale": stale}


async def _stock(url: str) -> dict[int, int]:
    conn = await asyncpg.connect(url)
    try:
        return {r["id"]: r["stock"] for r in await conn.fetch("SELECT id, stock FROM products")}
    finally:
        await conn.close()

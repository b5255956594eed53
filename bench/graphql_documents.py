"""What the GraphQL verdict cache saves: parse and validation per document, and requests/s.

Measures, for a three-field query:
  1. graphql-core's parse and validate (with the gateway's static rules) in µs per call;
  2. requests/s and µs per request through the whole ASGI app in-process (httpx), with
     the verdict cache disabled ("before") and enabled ("after").
Usage: python bench/graphql_documents.py [--url URL] [-n 2000]
Without --url it starts an embedded PostgreSQL in a temporary folder (and no Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from graphql import parse, specified_rules, validate
from starlette.routing import Route

from gateway.app import create_app
from gateway.cli.embedded import EmbeddedPostgres
from gateway.db import Database, statements
from gateway.db.migrations import migrate
from gateway.db.seed import Scale, seed
from gateway.graphql.documents import VerdictCache
from gateway.graphql.endpoint import GraphQLEndpoint
from gateway.graphql.protection import Limits, static_rules
from gateway.graphql.schema import build_schema
from gateway.settings import PROJECT_ROOT, Settings

QUERY = 'query Three { product(id: "1") { id name price } }'
WITH_VARIABLES = "query Three($id: ID!) { product(id: $id) { id name price } }"


def per_document(n: int) -> None:
    schema = build_schema(PROJECT_ROOT / "schema.graphql")
    rules = (*specified_rules, *static_rules(Limits()))
    started = time.perf_counter()
    for _ in range(n):
        document = parse(QUERY, max_tokens=15_000)
    parsed = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _ in range(n):
        assert not validate(schema, document, rules, hide_suggestions=True)
    validated = (time.perf_counter() - started) / n * 1e6
    print(f"  parse    {parsed:8.1f} µs per document")
    print(f"  validate {validated:8.1f} µs per document (spec rules + depth/aliases/roots)")


async def through_the_app(url: str, n: int) -> None:
    settings = Settings(database_url=url, db_pool_min_size=1, rate_limit_per_minute=10**9)
    app = create_app(settings)
    endpoint = next(
        r.endpoint.__self__  # type: ignore[attr-defined]
        for r in app.routes
        if isinstance(r, Route) and r.path == "/graphql"
    )
    assert isinstance(endpoint, GraphQLEndpoint)
    documents = endpoint.engine.documents
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            runs = [
                ("literal id, no cache", {"query": QUERY}, 0),
                ("literal id, cached", {"query": QUERY}, 1000),
                ("$id variable, no cache", {"query": WITH_VARIABLES, "variables": {"id": "1"}}, 0),
                ("$id variable, cached", {"query": WITH_VARIABLES, "variables": {"id": "1"}}, 1000),
            ]
            for label, body, entries in runs:
                documents.cache = VerdictCache(entries)
                for _ in range(200):  # warm-up: pool, statement caches, the verdict
                    await http.post("/graphql", json=body)
                started = time.perf_counter()
                for _ in range(n):
                    response = await http.post("/graphql", json=body)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                print(
                    f"  {label:<24} {n / elapsed:8.0f} requests/s  "
                    f"{elapsed / n * 1e6:8.1f} µs per request"
                )


async def prepare(url: str) -> None:
    db = Database(url, statements.load(PROJECT_ROOT / "sql" / "queries"), min_size=1)
    await db.connect()
    try:
        await migrate(db, PROJECT_ROOT / "sql" / "migrations")
        if not await db.fetch_val("seed.has_data"):
            await seed(db, Scale.parse("small"))
    finally:
        await db.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="PostgreSQL URL (default: embedded, temporary)")
    parser.add_argument("-n", type=int, default=2000, help="requests per measurement")
    args = parser.parse_args()
    print(f"document: {QUERY}")
    per_document(args.n)
    folder = None
    url = args.url
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-graphql-"))
        folder.chmod(0o755)
        server = EmbeddedPostgres(folder)
        url = server.start()
    try:
        asyncio.run(prepare(url))
        asyncio.run(through_the_app(url, args.n))
    finally:
        if folder is not None:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

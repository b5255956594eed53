"""Whole-response cache for anonymous GraphQL queries.

The service cache already keeps every entity and page a resolver reads, but a nested
query still pays graphql-core's executor for every field of every item; for a product
page that is most of its cost. An anonymous query's answer depends only on its document,
operation, variables and the data, so the finished body is cached whole, as the REST
product page is:

- the key is the schema's fingerprint, the document, the operation name and the
  variables; signed-in callers are never served from it (their answers may hold what is
  theirs alone), nor are answers with errors stored;
- the entry is stamped with the generation of every table and the cache's epoch, as they
  were *before* execution began: one round trip fetches the entry together with every current
  generation, and an entry whose stamp differs from them is a miss. A write that
  committed while the answer was being built leaves it stamped with the older generation,
  so it is never served.

A hit shows as `X-Cache: HIT` with no SQL; after a miss, `X-Cache` tells how the service
reads inside the execution fared. Redis down means the query simply runs (`BYPASS`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from graphql import GraphQLSchema, print_schema

from gateway import telemetry
from gateway.cache import CacheUnavailable
from gateway.graphql.execution import Prepared
from gateway.principal import Principal
from gateway.reads import dependencies
from gateway.services import caching
from gateway.services.resources import Resources

TTL = 60.0
MAX_BODY_BYTES = 512 * 1024
"""Larger answers are not stored: they would crowd out many small ones."""


class ResultCache:
    """Shared answers to anonymous queries for one schema and one set of SQL statements."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.fingerprint = hashlib.sha256(print_schema(schema).encode()).hexdigest()[:16]

    def dependencies(self, stats: telemetry.RequestStats) -> frozenset[str] | None:
        """The generations this request's answer depends on: every table's. These queries
        are the few the planner leaves to the resolvers (introspection, say); any write
        retiring them costs little, and nothing has to guess what their SQL read."""
        return frozenset(dependencies.GENERATIONS)

    async def respond(
        self,
        resources: Resources,
        prepared: Prepared,
        principal: Principal,
        run: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any] | bytes:
        """The cached body of this query (bytes), or its freshly run result, stored when it
        may be shared."""
        reads = resources.reads
        stats = telemetry.current()
        if (
            stats is None
            or stats.cold  # a cold compare call: neither read nor stored
            or not reads.enabled
            or principal.authenticated
            or prepared.operation.kind != "query"
        ):
            return await run()
        parts = [self.fingerprint, prepared.text, prepared.operation.name, prepared.variables]
        key = reads.key("gql", parts)
        try:
            raw, current = await reads.snapshot(key, dependencies.GENERATIONS)
        except CacheUnavailable:
            stats.cache_bypasses += 1
            return await run()
        if raw is not None:
            header, _, body = raw.partition(b"\n")
            stamp: dict[str, str] = orjson.loads(header)
            if all(current.get(name) == value for name, value in stamp.items()):
                stats.cache_hits += 1
                return body
        # A miss is not counted: X-Cache then tells how the reads inside it fared.
        result = await run()
        depends = self.dependencies(stats)
        if "errors" in result or depends is None or not depends <= current.keys():
            return result
        body = orjson.dumps(result)
        if len(body) <= MAX_BODY_BYTES:
            names = sorted(depends | {caching.EPOCH})
            header = orjson.dumps({name: current[name] for name in names})
            await reads.put(key, header + b"\n" + body, TTL)
        return result

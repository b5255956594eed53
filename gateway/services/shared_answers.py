"""Whole answers shared between anonymous callers, for reads the planner leaves to code.

The planner's reads are cached as one statement's answer (`gateway.services.plans`). A
read it does not cover (a GraphQL query with introspection fields, say) runs field by
field; when its answer depends only on what identifies it (the schema, the document, the
operation and its variables) and on the data, the finished body is kept whole:

- the caller says whether the answer may be shared: never a signed-in caller's (it may
  hold what is theirs alone), never anything but a read, and answers with errors are
  never stored;
- the entry is stamped with the generation of every table and the cache's epoch, as they
  were *before* the answer was built: one round trip fetches the entry together with
  every current generation, and an entry whose stamp differs from them is a miss. A write
  that committed while the answer was being built leaves it stamped with the older
  generation, so it is never served. Any write retires these answers; they are the few
  reads nothing has to guess the tables of.

A hit counts as a cache hit with no SQL; after a miss, the reads inside it tell how the
cache fared. Redis down means the answer is simply built (a bypass).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from gateway import telemetry
from gateway.cache import CacheUnavailable
from gateway.reads import dependencies
from gateway.services.resources import Resources

TTL = 60.0
MAX_BODY_BYTES = 512 * 1024
"""Larger answers are not stored: they would crowd out many small ones."""


async def respond(
    resources: Resources,
    parts: Sequence[object],
    run: Callable[[], Awaitable[dict[str, Any]]],
    *,
    shareable: bool,
) -> dict[str, Any] | bytes:
    """The stored body of the answer `parts` identify (bytes), or `run()`'s fresh answer,
    stored when it may be shared (`shareable`, and without errors)."""
    reads = resources.reads
    stats = telemetry.current()
    if (
        stats is None
        or stats.cold  # a cold compare call: neither read nor stored
        or not reads.enabled
        or not shareable
    ):
        return await run()
    key = reads.key("gql", parts)
    try:
        # Every table's generation and the epoch (`current` holds exactly those names).
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
    if "errors" in result:
        return result
    body = orjson.dumps(result)
    if len(body) <= MAX_BODY_BYTES:
        header = orjson.dumps(current, option=orjson.OPT_SORT_KEYS)
        await reads.put(key, header + b"\n" + body, TTL)
    return result

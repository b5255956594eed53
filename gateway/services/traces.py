"""What a compare run's calls ran: each sealed call's SQL statements, kept for minutes.

The record is the server's own (`telemetry.RequestStats.trace`, filled by the data layer
as statements run), written after the answer went out so it costs the measured call
nothing, and kept in the shared cache under the call's request id, so whichever process
the runner asks next finds it. Best effort: with the cache unreachable a record is lost,
and the runner says "not recorded" rather than guess.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

from gateway.cache import CacheUnavailable
from gateway.services.resources import Resources
from gateway.telemetry import RequestStats

TTL = 600.0
"""Seconds a record is kept: longer than any run takes to ask for it."""


def _key(resources: Resources, request_id: str) -> str:
    return f"{resources.settings.cache_prefix}:compare:trace:{request_id}"


async def keep(resources: Resources, stats: RequestStats) -> None:
    """Store the traced statements of the request `stats` counted; never raises."""
    record = {
        "queries": stats.queries,
        "db_ms": round(stats.db_seconds * 1000, 3),
        "statements": [{"name": name, "sql": sql} for name, sql in stats.trace or ()],
        "omitted": stats.traced_omitted,
    }
    with contextlib.suppress(CacheUnavailable):
        await resources.cache.set(_key(resources, stats.request_id), orjson.dumps(record), TTL)


async def find(resources: Resources, request_ids: list[str]) -> dict[str, Any]:
    """The records of these request ids (None for one not, or no longer, kept, and for every
    one when the cache, where they live, cannot answer)."""
    if not request_ids:
        return {}
    try:
        found = await resources.cache.get_many([_key(resources, i) for i in request_ids])
    except CacheUnavailable:
        return dict.fromkeys(request_ids)
    return {
        request_id: None if raw is None else orjson.loads(raw)
        for request_id, raw in zip(request_ids, found, strict=True)
    }

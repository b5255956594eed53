"""Running reads: one statement per read, its answer cached as bytes.

An answer that belongs to no caller in particular is kept in the shared cache under its
plan and its values, stamped with the generations of every table its statement reads
(`gateway.services.caching`); one read by a caller's own rules (orders, the account) never
is. Inside a transaction (a write reading back what it wrote) the cache is not used.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.reads.planner import Plan
from gateway.reads.shape import Query
from gateway.services import caching
from gateway.types import Resources

LABEL = "reads.plan"
"""How planned statements appear in a request's statement record."""


@dataclass(frozen=True, slots=True)
class Single:
    """A REST read's answer: the body (None when the resource is absent) and the next page."""

    body: bytes | None
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A GraphQL read's `data` object, and the roots (by position) that found nothing."""

    data: bytes
    missing: tuple[int, ...] = ()


async def single(
    resources: Resources, query: Query, values: dict[str, Any], *, key: Hashable | None = None
) -> Single:
    """Run a REST read: one statement, or none when the cache has the answer. `key` stands
    for the query's shape when the caller knows one."""
    plan, digest = resources.planner.plan(query, "single", key=key)
    args = plan.args(values)

    async def load() -> bytes | None:
        row = await resources.db.fetch_read(LABEL, plan.sql, args, primary=plan.primary)
        if row is None or row["body"] is None:
            return None
        cursor = row.get("next_cursor")
        body: str = row["body"]
        return (cursor or "").encode() + b"\n" + body.encode()

    if plan.per_user or resources.db.pinned:
        raw = await load()
    else:
        ttl = caching.LIST_TTL if plan.lists else caching.ENTITY_TTL
        raw = await resources.reads.read_bytes(
            "plan", [digest, *_plain(args)], _generations(plan), load, ttl=ttl
        )
    if raw is None:
        return Single(None)
    cursor, _, body = raw.partition(b"\n")
    return Single(body, cursor.decode() or None)


async def answer(
    resources: Resources, query: Query, values: dict[str, Any], *, key: Hashable | None = None
) -> Answer:
    """Run a GraphQL read: one statement, or none when the cache has the answer. `key`
    stands for the query's shape when the caller knows one."""
    plan, digest = resources.planner.plan(query, "object", key=key)
    args = plan.args(values)
    missed: list[Answer] = []

    async def run() -> Answer:
        row = await resources.db.fetch_read(LABEL, plan.sql, args, primary=plan.primary)
        assert row is not None
        missing = tuple(i for i, flag in zip(plan.lookups, list(row)[1:], strict=True) if flag)
        return Answer(row["data"].encode(), missing)

    async def load() -> bytes | None:
        found = await run()
        if found.missing:
            # An answer with errors is never stored.
            missed.append(found)
            return None
        return found.data

    if plan.per_user or resources.db.pinned:
        return await run()
    ttl = caching.LIST_TTL if plan.lists else caching.ENTITY_TTL
    data = await resources.reads.read_bytes(
        "plan", [digest, *_plain(args)], _generations(plan), load, ttl=ttl
    )
    if data is not None:
        return Answer(data)
    # Nothing stored: this request ran it, or waited on one that found an absent root.
    return missed[0] if missed else await run()


def _generations(plan: Plan) -> tuple[str, ...]:
    return tuple(sorted(caching.generations_read(plan.tables)))


def _plain(args: tuple[Any, ...]) -> list[Any]:
    """Values as JSON can hold them, for the cache key."""
    return [str(a) if isinstance(a, Decimal | datetime) else a for a in args]

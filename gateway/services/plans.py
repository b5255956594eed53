"""Running reads: one statement per read, its answer cached as bytes.

An answer that belongs to no caller in particular is kept in the answer cache
(`gateway.cache.answers`) under its plan and its values, tagged with what it was built
from: its statement is the plan's tagged variant, whose entity markers `untag` turns into
tags, plus the plan's list tags. One read by a caller's own rules (orders, the account)
never is. Inside a transaction (a write reading back what it wrote) the cache is not used.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from gateway.reads.planner import Plan, untag
from gateway.reads.shape import Query
from gateway.services import caching
from gateway.services.resources import Resources

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
    plan, digest = resources.planner.plan(query, "single", key=key, tagged=_shareable(resources))
    args = plan.args(values)

    async def load() -> bytes | None:
        row = await resources.db.fetch_read(LABEL, plan.sql, args, primary=plan.primary)
        if row is None or row["body"] is None:
            return None
        cursor = row.get("next_cursor")
        body: str = row["body"]
        return (cursor or "").encode() + b"\n" + body.encode()

    if plan.tagged:
        answers = resources.reads.answers
        ttl = caching.LIST_TTL if plan.lists else caching.ENTITY_TTL
        raw = await answers.read(answers.key(_digest(digest, args)), _tagged(plan, load), ttl=ttl)
    else:
        raw = await load()
    if raw is None:
        return Single(None)
    cursor, _, body = raw.partition(b"\n")
    return Single(body, cursor.decode() or None)


async def answer(
    resources: Resources, query: Query, values: dict[str, Any], *, key: Hashable | None = None
) -> Answer:
    """Run a GraphQL read: one statement, or none when the cache has the answer. `key`
    stands for the query's shape when the caller knows one."""
    plan, digest = resources.planner.plan(query, "object", key=key, tagged=_shareable(resources))
    args = plan.args(values)
    missed: list[Answer] = []

    async def run() -> Answer:
        row = await resources.db.fetch_read(LABEL, plan.sql, args, primary=plan.primary)
        assert row is not None
        missing = tuple(i for i, flag in zip(plan.lookups, list(row)[1:], strict=True) if flag)
        return Answer(row["data"].encode(), missing)

    if not plan.tagged:
        return await run()

    async def load() -> bytes | None:
        found = await run()
        if found.missing:
            # An answer with errors is never stored.
            missed.append(Answer(untag(found.data)[0], found.missing))
            return None
        return found.data

    answers = resources.reads.answers
    ttl = caching.LIST_TTL if plan.lists else caching.ENTITY_TTL
    data = await answers.read(answers.key(_digest(digest, args)), _tagged(plan, load), ttl=ttl)
    if data is not None:
        return Answer(data)
    # Nothing stored: this request ran it, or waited on one that found an absent root.
    if missed:
        return missed[0]
    found = await run()
    return Answer(untag(found.data)[0], found.missing)


def _shareable(resources: Resources) -> bool:
    """Whether this request's answers may come from (and go to) the answer cache: then
    its plans are tagged, unless they read by a caller's own rules (never shared)."""
    return resources.reads.answers.enabled and not resources.db.pinned


def _tagged(
    plan: Plan, load: Callable[[], Awaitable[bytes | None]]
) -> Callable[[], Awaitable[tuple[bytes, frozenset[str]] | None]]:
    """`load` of a tagged plan, as the answer cache takes it: the body without its markers,
    and its tags."""

    async def tagged() -> tuple[bytes, frozenset[str]] | None:
        raw = await load()
        if raw is None:
            return None
        body, tags = untag(raw)
        return body, tags | plan.tags

    return tagged


def _digest(digest: str, args: tuple[Any, ...]) -> str:
    return caching.digest([digest, *_plain(args)])


def _plain(args: tuple[Any, ...]) -> list[Any]:
    """Values as JSON can hold them, for the cache key."""
    return [str(a) if isinstance(a, Decimal | datetime) else a for a in args]

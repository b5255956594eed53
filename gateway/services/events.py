"""Change events: announced after a write commits, heard by subscribers on every replica.

A write announces "product 42 changed" (or "was deleted") on a channel of its own under
the cache prefix, through the cache's publish/subscribe. An event carries ids only:
subscribers read the entity again through the services, so they see what their caller
may see, as it is now, and nothing travels that could go stale or leak on the way.

Delivery is at most once: an announcement that cannot reach Redis is logged and
dropped, and the write it describes stands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from gateway import telemetry
from gateway.cache import CacheUnavailable, Subscription
from gateway.services.caching import invalidate_written
from gateway.services.resources import Resources

log = logging.getLogger("gateway.events")

Topic = Literal["product", "order"]


@dataclass(frozen=True, slots=True)
class Change:
    """One announcement: which entity changed, and whether it is gone."""

    topic: Topic
    id: int
    deleted: bool = False


def channel(resources: Resources, topic: Topic, entity_id: int) -> str:
    """The pub/sub channel of one entity, under this deployment's cache prefix."""
    return f"{resources.settings.cache_prefix}:events:{topic}:{entity_id}"


async def publish(resources: Resources, topic: Topic, *ids: int, deleted: bool = False) -> None:
    """Announce that the entities `ids` of `topic` changed (or were deleted).

    Call it only once the transaction that changed them has committed. Raises nothing:
    when the cache is unreachable the announcement is logged and dropped.
    """
    stats = telemetry.current()
    if stats is not None and stats.written:
        # Retire this write's cached reads before anyone hears of it: a subscriber re-reads
        # the entity at once, sooner than the request middleware would invalidate.
        await invalidate_written(resources, stats)
    for entity_id in dict.fromkeys(ids):
        message = orjson.dumps({"id": entity_id, "deleted": deleted})
        try:
            await resources.cache.publish(channel(resources, topic, entity_id), message)
        except CacheUnavailable as exc:
            # The breaker is open or Redis is slow: the rest would fail the same way.
            log.warning("change event not published: %s", exc, extra={"topic": topic})
            return


class Changes:
    """The changes of one entity from now on, as an async iterator; it ends after a deletion."""

    def __init__(self, topic: Topic, subscription: Subscription) -> None:
        self.topic = topic
        self._subscription = subscription

    def __aiter__(self) -> Changes:
        return self

    async def __anext__(self) -> Change:
        async for raw in self._subscription:
            change = _decode(self.topic, raw)
            if change is None:
                continue
            if change.deleted:
                # Nothing more can happen to it: the iteration ends after this change.
                await self._subscription.aclose()
            return change
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop listening."""
        await self._subscription.aclose()


async def listen(resources: Resources, topic: Topic, entity_id: int) -> Changes:
    """The changes of `topic` `entity_id`; every change committed after this returns is heard
    (while the cache is reachable)."""
    subscription = await resources.cache.subscribe(channel(resources, topic, entity_id))
    return Changes(topic, subscription)


def _decode(topic: Topic, raw: bytes) -> Change | None:
    try:
        data: Any = orjson.loads(raw)
        entity_id, deleted = data["id"], data.get("deleted", False)
    except (orjson.JSONDecodeError, TypeError, KeyError):
        log.warning("ignored a malformed change event on a %s channel", topic)
        return None
    if not isinstance(entity_id, int) or not isinstance(deleted, bool):
        log.warning("ignored a malformed change event on a %s channel", topic)
        return None
    return Change(topic, entity_id, deleted)

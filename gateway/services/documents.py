"""Persisted GraphQL documents: kept by their SHA-256 in Redis for every replica.

Registered documents live under the cache prefix, so a document one replica registered is
known to all of them from then on. Documents are immutable under their hash, so each
process also keeps the ones it has seen in a small LRU, and nothing read back from Redis
is used unless it still hashes to the name it was asked for.

What anonymous callers can make Redis hold is bounded: a document lives `ttl` seconds, and
at most `max_count` live at once; storing past that evicts the ones that expire first,
whose clients simply register them again on their next miss. (Their size is bounded by the
transport before anything is stored: `gateway.graphql.persisted`.)

The protocol around it (Apollo's extension, the allow-list manifest, when a document may
be registered) is the GraphQL transport's; this module only keeps documents.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict

from gateway.cache import CacheUnavailable
from gateway.services.resources import Resources


def sha256(text: str) -> str:
    """The hex SHA-256 of a document's text, as persisted-query clients compute it."""
    return hashlib.sha256(text.encode()).hexdigest()


class DocumentStore:
    """Documents by hash: this process's LRU first, then Redis (best effort)."""

    def __init__(
        self, *, prefix: str, max_count: int = 2000, ttl: float = 86400, near_entries: int = 1000
    ) -> None:
        self.prefix = prefix
        self.max_count = max_count
        self.ttl = ttl
        self._near: OrderedDict[str, str] = OrderedDict()
        self._near_entries = near_entries

    def known(self, digest: str) -> bool:
        """Whether this process already holds the document named `digest`."""
        return digest in self._near

    async def find(self, resources: Resources, digest: str) -> str | None:
        """The document stored under `digest`, or None; a slow or absent Redis is a miss."""
        near = self._near.get(digest)
        if near is not None:
            self._near.move_to_end(digest)
            return near
        try:
            stored = await resources.cache.get(self._key(digest))
        except CacheUnavailable:
            return None
        if stored is None:
            return None
        text = stored.decode()
        if sha256(text) != digest:  # never run what the hash does not name
            return None
        self._remember(digest, text)
        return text

    async def keep(self, resources: Resources, digest: str, text: str) -> None:
        """Store a document under its hash for every replica (best effort), as one of at
        most `max_count`. The caller has checked that `digest` is `text`'s hash."""
        self._remember(digest, text)
        # Without Redis the client simply registers it again on its next miss.
        with contextlib.suppress(CacheUnavailable):
            await resources.cache.set_bounded(
                self._index, self._key(digest), text.encode(), self.ttl, self.max_count
            )

    def _key(self, digest: str) -> str:
        return f"{self.prefix}:apq:{digest}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}:apq-index"

    def _remember(self, digest: str, text: str) -> None:
        self._near[digest] = text
        self._near.move_to_end(digest)
        while len(self._near) > self._near_entries:
            self._near.popitem(last=False)

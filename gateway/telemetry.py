"""Per-request counters (SQL statements, database time, cache outcomes) carried in a contextvar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

TRACE_STATEMENTS = 60
"""At most this many statements of one traced request are kept; the rest are counted."""
TRACE_TEXT = 12_000
"""Characters kept of each traced statement's text."""


@dataclass(slots=True)
class RequestStats:
    """What one request cost; filled by the data layer and the cache, read by the pipeline.

    The object is mutable and shared by reference, so tasks spawned inside the request
    (GraphQL resolves list items concurrently) add to the same counters.
    """

    request_id: str = ""
    operation: str | None = None
    queries: int = 0
    db_seconds: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_bypasses: int = 0
    # Of the hits, those served by this process's own first level (no round trip).
    local_hits: int = 0
    # Once the request writes, or when its caller wrote moments ago, its reads go to the
    # primary, never to a read replica that may lag behind.
    recent_writer: bool = False
    # The aggregates (statement file names) this request wrote to, for cache invalidation.
    written: set[str] = field(default_factory=set)
    # What its writes declared they changed (`caching.touched`): answer tags, and the
    # aggregates that declared them; and what was already retired (`invalidate_written`).
    touched: set[str] = field(default_factory=set)
    declared: set[str] = field(default_factory=set)
    invalidated: set[str] = field(default_factory=set)
    retired: set[str] = field(default_factory=set)
    # The cache generations of the cached reads it made (whether hits or not).
    depends_on: set[str] = field(default_factory=set)
    statements: list[str] = field(default_factory=list)
    # A compare run's call (`gateway.http.pipeline`): `cold` makes the caches
    # (ReadCache, the GraphQL result cache) neither read nor store for this request, so
    # every read runs its SQL; `trace` keeps each statement's name and text, bounded.
    cold: bool = False
    trace: list[tuple[str, str]] | None = None
    traced_omitted: int = 0

    def note(self, name: str, sql: str) -> None:
        """Keep what a statement was, when this request is traced (a few, each cut short)."""
        if self.trace is None:
            return
        if len(self.trace) >= TRACE_STATEMENTS:
            self.traced_omitted += 1
            return
        if len(sql) > TRACE_TEXT:
            sql = sql[:TRACE_TEXT] + f"\n-- … {len(sql) - TRACE_TEXT} more characters"
        self.trace.append((name, sql))

    @property
    def wrote(self) -> bool:
        return bool(self.written)

    @property
    def primary_only(self) -> bool:
        return self.wrote or self.recent_writer

    @property
    def cache_outcome(self) -> str | None:
        """HIT, MISS, BYPASS, MIXED, or None when the request never asked the cache."""
        kinds = [
            name
            for name, n in (
                ("HIT", self.cache_hits),
                ("MISS", self.cache_misses),
                ("BYPASS", self.cache_bypasses),
            )
            if n
        ]
        if not kinds:
            return None
        return kinds[0] if len(kinds) == 1 else "MIXED"


_current: ContextVar[RequestStats | None] = ContextVar("gateway_request_stats", default=None)


def begin(request_id: str) -> RequestStats:
    """Start counting for the current request and return the counters."""
    stats = RequestStats(request_id=request_id)
    _current.set(stats)
    return stats


def current() -> RequestStats | None:
    """The counters of the request being served, or None outside a request."""
    return _current.get()


@contextmanager
def aside() -> Iterator[None]:
    """Run work that is not the request's own without counting it: the session check, at
    most one statement per account per SESSION_CHECK_SECONDS, whichever request meets it,
    would otherwise make X-Query-Count of the same request vary from one call to the next."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)

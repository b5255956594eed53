"""Read-your-writes across requests when reads may go to a replica.

A caller who wrote moments ago reads from the primary for `READ_AFTER_WRITE_SECONDS`, so
its next request, through either style and any process, sees its write even while the
replica lags. The mark lives in Redis, so every process knows it; when the cache cannot
answer, the request reads from the primary, which is never wrong, only busier.
"""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import telemetry
from gateway.cache import CacheUnavailable
from gateway.middleware.authentication import principal_of
from gateway.types import Resources


class ReadYourWritesMiddleware:
    """Pin recent writers' reads to the primary; a no-op without a read replica."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        resources: Resources | None = scope.get("state", {}).get("resources")
        user_id = principal_of(scope).user_id
        stats = telemetry.current()
        if (
            scope["type"] != "http"
            or resources is None
            or not resources.db.has_replica
            or user_id is None
            or stats is None
        ):
            await self.app(scope, receive, send)
            return
        key = f"{resources.settings.cache_prefix}:rw:{user_id}"
        try:
            stats.recent_writer = await resources.cache.get(key) is not None
        except CacheUnavailable:
            stats.recent_writer = True
        try:
            await self.app(scope, receive, send)
        finally:
            ttl = resources.settings.read_after_write_seconds
            if stats.wrote and ttl:
                # Best effort: if Redis is down this request's mark is lost, and the
                # caller may read from the replica within the lag window.
                with contextlib.suppress(CacheUnavailable):
                    await resources.cache.set(key, b"1", ttl=ttl)

"""Health: whether the database and the cache answer, for /readyz."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import ServerError
from gateway.services.resources import Resources

STATEMENTS = ("health.ping",)


@dataclass(frozen=True, slots=True)
class Readiness:
    """What /readyz reports."""

    database: bool
    cache: bool
    cache_kind: str

    @property
    def ready(self) -> bool:
        # A cache outage degrades the service but does not stop it (DESIGN §6).
        return self.database


async def check(resources: Resources) -> Readiness:
    """Ping the database and the cache; never raises."""
    try:
        database = await resources.db.fetch_val("health.ping") == 1
    except ServerError:
        database = False
    cache = await resources.cache.ping()
    return Readiness(database=database, cache=cache, cache_kind=resources.cache.kind)

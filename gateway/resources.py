"""Process resources: what the lifespan opens and every request may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.cache import Cache
from gateway.db import Database
from gateway.lifecycle import Lifecycle
from gateway.metrics import Metrics
from gateway.ratelimit import RateLimiter
from gateway.reads.planner import Planner
from gateway.revocation import AccountStates
from gateway.settings import Settings
from gateway.tokens import TokenIssuer

if TYPE_CHECKING:  # the read cache is built on these resources: no import cycle at run time
    from gateway.services.caching import ReadCache


@dataclass(frozen=True, slots=True)
class Resources:
    """Process resources opened in the lifespan and passed to services; no globals."""

    settings: Settings
    db: Database
    cache: Cache
    tokens: TokenIssuer
    limiter: RateLimiter
    reads: ReadCache
    planner: Planner = field(default_factory=Planner)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    metrics: Metrics = field(default_factory=Metrics)
    accounts: AccountStates = field(default_factory=AccountStates)

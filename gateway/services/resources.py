"""Process resources: what the lifespan opens and every request may use."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.cache import Cache
from gateway.db import Database
from gateway.lifecycle import Lifecycle
from gateway.metrics import Metrics
from gateway.reads.planner import Planner
from gateway.revocation import AccountStates
from gateway.services.caching import ReadCache
from gateway.services.ratelimit import RateLimiter
from gateway.settings import Settings
from gateway.tokens import TokenIssuer


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

"""Shared types: what the lifespan opens and every request may use."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.cache import Cache
from gateway.db import Database
from gateway.ratelimit import RateLimiter
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

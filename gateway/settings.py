"""Settings: the one place that reads the environment, once, into a frozen value object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

Environment = Literal["development", "production"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """An environment variable holds a value the gateway cannot use."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything the gateway can be told; tests build this directly."""

    env: Environment = "development"
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".gateway")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    db_pool_min_size: int = 2
    db_pool_max_size: int = 10
    db_pool_timeout: float = 2.0
    db_statement_timeout: float = 5.0
    redis_timeout: float = 0.15
    cache_prefix: str = "gw"
    log_level: str = "info"
    sql_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "sql")
    schema_path: Path = field(default_factory=lambda: PROJECT_ROOT / "schema.graphql")

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def embedded(self) -> bool:
        """True when no DATABASE_URL was given, so the gateway runs its own servers."""
        return self.database_url is None

    def with_urls(self, database_url: str, redis_url: str | None) -> Settings:
        """A copy pointing at concrete servers (used once the embedded ones are up)."""
        return replace(self, database_url=database_url, redis_url=redis_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every GATEWAY_*/DB_*/REDIS_* variable; raise SettingsError on a bad value."""
        env = os.environ if environ is None else environ
        defaults = cls()
        raw_mode = env.get("GATEWAY_ENV", defaults.env)
        if raw_mode == "production":
            mode: Environment = "production"
        elif raw_mode == "development":
            mode = "development"
        else:
            raise SettingsError(f"GATEWAY_ENV must be development or production, not {raw_mode!r}")
        return cls(
            env=mode,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            data_dir=Path(env["GATEWAY_DATA_DIR"])
            if env.get("GATEWAY_DATA_DIR")
            else defaults.data_dir,
            host=env.get("GATEWAY_HOST", defaults.host),
            port=_int(env, "GATEWAY_PORT", defaults.port, 1, 65535),
            workers=_int(env, "GATEWAY_WORKERS", defaults.workers, 1, 256),
            db_pool_min_size=_int(env, "DB_POOL_MIN_SIZE", defaults.db_pool_min_size, 0, 1000),
            db_pool_max_size=_int(env, "DB_POOL_MAX_SIZE", defaults.db_pool_max_size, 1, 1000),
            db_pool_timeout=_float(env, "DB_POOL_TIMEOUT", defaults.db_pool_timeout),
            db_statement_timeout=_float(env, "DB_STATEMENT_TIMEOUT", defaults.db_statement_timeout),
            redis_timeout=_float(env, "REDIS_TIMEOUT", defaults.redis_timeout),
            cache_prefix=env.get("CACHE_PREFIX", defaults.cache_prefix),
            log_level=env.get("LOG_LEVEL", defaults.log_level).lower(),
        )


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 3600:
        raise SettingsError(f"{name} must be more than 0 and at most 3600 seconds, not {raw}")
    return value

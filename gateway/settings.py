"""Settings: the one place that reads the environment, once, into a frozen value object.

Over 400 lines: one field, variable and check per setting; a list, not logic."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

Environment = Literal["development", "production"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET = 32
# What production accepts as Host when ALLOWED_HOSTS is unset: only the machine itself
# (health checks, a port published on localhost). Anything public must be named.
PRODUCTION_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class SettingsError(ValueError):
    """An environment variable holds a value the gateway cannot use."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything the gateway can be told; tests build this directly."""

    env: Environment = "development"
    database_url: str | None = None
    database_read_url: str | None = None
    # The staleness bound: reads leave the replica while it lags further behind (0: unchecked).
    database_read_max_lag_seconds: int = 0
    read_after_write_seconds: int = 5
    # One server (redis://host:6379/0), a Sentinel-watched master
    # (redis+sentinel://sentinel-a:26379,sentinel-b:26379/<service>/0) or a Redis Cluster
    # (redis+cluster://node-a:6379,node-b:6379): see gateway/cache/engines.py.
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".gateway")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    db_pool_min_size: int = 2
    db_pool_max_size: int = 10
    db_pool_timeout: float = 2.0
    db_statement_timeout: float = 5.0
    db_statement_cache_size: int = 100
    db_plan_cache_mode: str = "force_generic_plan"
    redis_timeout: float = 0.15
    cache_prefix: str = "gw"
    cache_enabled: bool = True
    cache_local_max_bytes: int = 8 * 1024 * 1024
    cache_local_liveness: float = 1.0
    read_planner: bool = True
    log_level: str = "info"
    jwt_secret: str | None = None
    jwt_issuer: str = "gateway"
    jwt_audience: str = "gateway-api"
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 86400
    max_body_bytes: int = 1024 * 1024
    drain_seconds: float = 0.0
    rate_limit_per_minute: int = 600
    rate_limit_lease: int | None = None  # None: RATE_LIMIT_PER_MINUTE // 20, at least 1
    login_failures_per_account: int = 5
    login_account_window: int = 900
    login_failures_per_address: int = 50
    login_address_window: int = 60
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    session_check_seconds: float = 5.0
    refresh_grace_seconds: int = 10
    metrics_token: str | None = None
    metrics_port: int | None = None
    graphql_max_tokens: int = 15_000
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 30
    graphql_max_root_fields: int = 20
    graphql_max_cost: int = 1000
    graphql_max_errors: int = 10
    graphql_persisted_only: bool = False
    graphql_persisted_manifest: Path | None = None
    graphql_persisted_max_bytes: int = 16 * 1024
    graphql_persisted_max_count: int = 2000
    graphql_persisted_ttl: int = 86400
    graphql_ws_max_operations: int = 100
    graphql_federation: bool = False
    """Serve the GraphQL schema as an Apollo Federation 2 subgraph (`_service`, `_entities`)."""
    cors_allow_origins: tuple[str, ...] = ()
    """Origins (`https://app.example.com`) whose pages may call the API; `*` for any."""
    allowed_hosts: tuple[str, ...] = ("*",)
    """Host names requests may be addressed to (`*.example.com` for subdomains; `*`: any)."""
    public_url: str | None = None
    """Where clients reach the gateway (`https://api.example.com`): absolute Link/Location."""
    compression_min_bytes: int = 1024
    admin_console: bool = True
    """Serve the admin console at /admin (a client of the REST API); false: /admin is 404."""
    sql_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "sql")
    schema_path: Path = field(default_factory=lambda: PROJECT_ROOT / "schema.graphql")

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def embedded(self) -> bool:
        """True when no DATABASE_URL was given, so the gateway runs its own servers."""
        return self.database_url is None

    def check_secrets(self) -> None:
        """Refuse to run in production without a strong JWT secret (SettingsError)."""
        if self.production and (self.jwt_secret is None or len(self.jwt_secret) < MIN_SECRET):
            raise SettingsError(
                f"JWT_SECRET must be set to at least {MIN_SECRET} random characters in production"
            )

    def with_urls(self, database_url: str, redis_url: str | None) -> Settings:
        """A copy pointing at concrete servers (used once the embedded ones are up)."""
        return replace(self, database_url=database_url, redis_url=redis_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every GATEWAY_*/DB_*/REDIS_* variable; raise SettingsError on a bad value."""
        env = os.environ if environ is None else environ
        defaults = cls()
        for old, new in _RETIRED.items():
            if env.get(old):
                raise SettingsError(f"{old} is no longer read: {new}")
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
            database_read_url=env.get("DATABASE_READ_URL") or None,
            database_read_max_lag_seconds=_int(
                env,
                "DATABASE_READ_MAX_LAG_SECONDS",
                defaults.database_read_max_lag_seconds,
                0,
                3600,
            ),
            read_after_write_seconds=_int(
                env, "READ_AFTER_WRITE_SECONDS", defaults.read_after_write_seconds, 0, 3600
            ),
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
            db_statement_cache_size=_int(
                env, "DB_STATEMENT_CACHE_SIZE", defaults.db_statement_cache_size, 0, 10_000
            ),
            db_plan_cache_mode=_choice(
                env,
                "DB_PLAN_CACHE_MODE",
                defaults.db_plan_cache_mode,
                ("force_generic_plan", "auto", "force_custom_plan"),
            ),
            redis_timeout=_float(env, "REDIS_TIMEOUT", defaults.redis_timeout),
            cache_prefix=env.get("CACHE_PREFIX", defaults.cache_prefix),
            cache_enabled=_bool(env, "CACHE_ENABLED", defaults.cache_enabled),
            cache_local_max_bytes=_int(
                env, "CACHE_LOCAL_MAX_BYTES", defaults.cache_local_max_bytes, 0, 1 << 34
            ),
            cache_local_liveness=_float(env, "CACHE_LOCAL_LIVENESS", defaults.cache_local_liveness),
            read_planner=_bool(env, "READ_PLANNER", defaults.read_planner),
            log_level=_choice(
                env, "LOG_LEVEL", defaults.log_level, ("debug", "info", "warning", "error")
            ),
            sql_dir=Path(env["GATEWAY_SQL_DIR"])
            if env.get("GATEWAY_SQL_DIR")
            else defaults.sql_dir,
            schema_path=(
                Path(env["GATEWAY_SCHEMA_PATH"])
                if env.get("GATEWAY_SCHEMA_PATH")
                else defaults.schema_path
            ),
            jwt_secret=env.get("JWT_SECRET") or None,
            jwt_issuer=env.get("JWT_ISSUER", defaults.jwt_issuer),
            jwt_audience=env.get("JWT_AUDIENCE", defaults.jwt_audience),
            access_token_ttl=_int(env, "ACCESS_TOKEN_TTL", defaults.access_token_ttl, 30, 86400),
            refresh_token_ttl=_int(
                env, "REFRESH_TOKEN_TTL", defaults.refresh_token_ttl, 60, 365 * 86400
            ),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", defaults.max_body_bytes, 1024, 1 << 30),
            drain_seconds=_int(env, "GATEWAY_DRAIN_SECONDS", 0, 0, 300),
            rate_limit_per_minute=_int(
                env, "RATE_LIMIT_PER_MINUTE", defaults.rate_limit_per_minute, 1, 1_000_000
            ),
            rate_limit_lease=_int(env, "RATE_LIMIT_LEASE", 0, 0, 1_000_000) or None,
            login_failures_per_account=_int(
                env, "LOGIN_FAILURES_PER_ACCOUNT", defaults.login_failures_per_account, 1, 10_000
            ),
            login_account_window=_int(
                env, "LOGIN_ACCOUNT_WINDOW_SECONDS", defaults.login_account_window, 1, 86_400
            ),
            login_failures_per_address=_int(
                env, "LOGIN_FAILURES_PER_ADDRESS", defaults.login_failures_per_address, 1, 1_000_000
            ),
            login_address_window=_int(
                env, "LOGIN_ADDRESS_WINDOW_SECONDS", defaults.login_address_window, 1, 86_400
            ),
            forwarded_allow_ips=_networks(env, "FORWARDED_ALLOW_IPS", defaults.forwarded_allow_ips),
            session_check_seconds=_float(
                env, "SESSION_CHECK_SECONDS", defaults.session_check_seconds
            ),
            refresh_grace_seconds=_int(
                env, "REFRESH_GRACE_SECONDS", defaults.refresh_grace_seconds, 0, 300
            ),
            metrics_token=_metrics_token(env),
            metrics_port=_int(env, "METRICS_PORT", 0, 1, 65535) or None,
            graphql_max_tokens=_int(
                env, "GRAPHQL_MAX_TOKENS", defaults.graphql_max_tokens, 100, 1_000_000
            ),
            graphql_max_depth=_int(env, "GRAPHQL_MAX_DEPTH", defaults.graphql_max_depth, 2, 100),
            graphql_max_aliases=_int(
                env, "GRAPHQL_MAX_ALIASES", defaults.graphql_max_aliases, 0, 10_000
            ),
            graphql_max_root_fields=_int(
                env, "GRAPHQL_MAX_ROOT_FIELDS", defaults.graphql_max_root_fields, 1, 1000
            ),
            graphql_max_cost=_int(
                env, "GRAPHQL_MAX_COST", defaults.graphql_max_cost, 1, 10_000_000
            ),
            graphql_max_errors=_int(
                env, "GRAPHQL_MAX_ERRORS", defaults.graphql_max_errors, 2, 1000
            ),
            graphql_persisted_only=_bool(env, "GRAPHQL_PERSISTED_ONLY", False),
            graphql_persisted_manifest=Path(env["GRAPHQL_PERSISTED_MANIFEST"])
            if env.get("GRAPHQL_PERSISTED_MANIFEST")
            else None,
            graphql_persisted_max_bytes=_int(
                env,
                "GRAPHQL_PERSISTED_MAX_BYTES",
                defaults.graphql_persisted_max_bytes,
                256,
                1 << 20,
            ),
            graphql_persisted_max_count=_int(
                env,
                "GRAPHQL_PERSISTED_MAX_COUNT",
                defaults.graphql_persisted_max_count,
                1,
                1_000_000,
            ),
            graphql_persisted_ttl=_int(
                env, "GRAPHQL_PERSISTED_TTL", defaults.graphql_persisted_ttl, 60, 365 * 86400
            ),
            graphql_ws_max_operations=_int(
                env, "GRAPHQL_WS_MAX_OPERATIONS", defaults.graphql_ws_max_operations, 1, 10_000
            ),
            graphql_federation=_bool(env, "GRAPHQL_FEDERATION", defaults.graphql_federation),
            cors_allow_origins=_origins(env, "CORS_ALLOW_ORIGINS"),
            allowed_hosts=_hosts(
                env, "ALLOWED_HOSTS", PRODUCTION_HOSTS if mode == "production" else ("*",)
            ),
            public_url=_public_url(env, "PUBLIC_URL"),
            compression_min_bytes=_int(
                env, "COMPRESSION_MIN_BYTES", defaults.compression_min_bytes, 0, 1 << 30
            ),
            admin_console=_bool(env, "ADMIN_CONSOLE", defaults.admin_console),
        )


# Settings that were replaced: a value set for them would silently stop doing anything.
_RETIRED = {
    "LOGIN_RATE_LIMIT_PER_MINUTE": "sign-ins are limited by failures, with "
    "LOGIN_FAILURES_PER_ACCOUNT and LOGIN_FAILURES_PER_ADDRESS (see the README)",
}


def _networks(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated addresses or networks (CIDR); `*` is refused: trust must be named."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    entries = tuple(part.strip() for part in raw.split(",") if part.strip())
    for entry in entries:
        if entry == "*":
            raise SettingsError(
                f"{name} must list the proxies' addresses or networks, not '*': with '*' "
                "every client could pick its own address (use 0.0.0.0/0 if you really mean it)"
            )
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                f"{name} must be comma-separated IP addresses or networks, not {entry!r}"
            ) from None
    return entries


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = env.get("METRICS_TOKEN") or None
    if token is not None and len(token) < 16:
        raise SettingsError("METRICS_TOKEN must be at least 16 characters")
    return token


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


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


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _items(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Browser origins, as browsers send them: `scheme://host[:port]`, no path, or `*`."""
    origins = []
    for item in _items(env, name):
        if item == "*":
            origins.append(item)
            continue
        parts = urlsplit(item)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
        ):
            raise SettingsError(
                f"{name} takes origins such as https://app.example.com (scheme, host and "
                f"optional port; no path, not even a trailing slash), not {item!r}"
            )
        origins.append(item.lower())
    return tuple(origins)


def _hosts(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Host names, `*.example.com` for any subdomain, or `*` for any host."""
    hosts = _items(env, name)
    for host in hosts:
        wildcard = host == "*" or (host.startswith("*.") and "*" not in host[2:])
        literal = host.startswith("[") and host.endswith("]")  # an IPv6 address
        if "/" in host or ("*" in host and not wildcard) or (":" in host and not literal):
            raise SettingsError(
                f"{name} takes host names (api.example.com, *.example.com, 127.0.0.1, [::1]) "
                f"or *, without scheme or port, not {host!r}"
            )
    return tuple(host.lower() for host in hosts) or default


def _public_url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            f"{name} must be the absolute http(s) URL clients use, such as "
            f"https://api.example.com, not {raw!r}"
        )
    return raw.rstrip("/")

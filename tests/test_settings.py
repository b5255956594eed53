"""gateway/settings.py: how each kind of variable is read, its bounds, and the checks.

The settings of one feature (CORS, hosts, proxies, GraphQL limits, metrics) are held by
that feature's tests; here are the readers they share and the settings of the process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import PRODUCTION_HOSTS, Settings, SettingsError


def test_an_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    # An empty value is no value.
    empty = {"GATEWAY_PORT": "", "CACHE_ENABLED": "", "DB_POOL_TIMEOUT": "", "DATABASE_URL": ""}
    assert Settings.from_env(empty) == Settings()


@pytest.mark.parametrize(
    ("name", "low", "high", "field"),
    [
        ("GATEWAY_PORT", 1, 65535, "port"),
        ("GATEWAY_WORKERS", 1, 256, "workers"),
        ("DB_POOL_MAX_SIZE", 1, 1000, "db_pool_max_size"),
        ("ACCESS_TOKEN_TTL", 30, 86400, "access_token_ttl"),
        ("MAX_BODY_BYTES", 1024, 1 << 30, "max_body_bytes"),
        ("GATEWAY_DRAIN_SECONDS", 0, 300, "drain_seconds"),
    ],
)
def test_whole_numbers_hold_at_their_bounds_and_fail_just_past(
    name: str, low: int, high: int, field: str
) -> None:
    assert getattr(Settings.from_env({name: str(low)}), field) == low
    assert getattr(Settings.from_env({name: str(high)}), field) == high
    for past in (low - 1, high + 1):
        with pytest.raises(
            SettingsError, match=f"^{name} must be between {low} and {high}, not {past}$"
        ):
            Settings.from_env({name: str(past)})
    with pytest.raises(SettingsError, match=f"^{name} must be a whole number, not '1.5'$"):
        Settings.from_env({name: "1.5"})


def test_seconds_are_positive_and_at_most_an_hour() -> None:
    assert Settings.from_env({"REDIS_TIMEOUT": "0.05"}).redis_timeout == 0.05
    assert Settings.from_env({"DB_STATEMENT_TIMEOUT": "3600"}).db_statement_timeout == 3600.0
    for bad in ("0", "-1", "3600.5", "inf"):
        with pytest.raises(
            SettingsError, match="REDIS_TIMEOUT must be more than 0 and at most 3600"
        ):
            Settings.from_env({"REDIS_TIMEOUT": bad})
    with pytest.raises(
        SettingsError, match="^REDIS_TIMEOUT must be a number of seconds, not 'soon'$"
    ):
        Settings.from_env({"REDIS_TIMEOUT": "soon"})


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("Yes", True), (" on ", True), ("0", False), ("FALSE", False), ("off", False)],
)
def test_booleans(raw: str, value: bool) -> None:
    assert Settings.from_env({"CACHE_ENABLED": raw}).cache_enabled is value


def test_choices_are_case_insensitive_and_closed() -> None:
    assert Settings.from_env({"LOG_LEVEL": "WARNING"}).log_level == "warning"
    assert Settings.from_env({"DB_PLAN_CACHE_MODE": "auto"}).db_plan_cache_mode == "auto"
    with pytest.raises(
        SettingsError, match="^LOG_LEVEL must be one of debug, info, warning, error, not 'trace'$"
    ):
        Settings.from_env({"LOG_LEVEL": "trace"})
    with pytest.raises(SettingsError, match="CACHE_ENABLED must be true or false, not 'maybe'"):
        Settings.from_env({"CACHE_ENABLED": "maybe"})


def test_environment_mode_and_its_consequences() -> None:
    with pytest.raises(
        SettingsError, match="GATEWAY_ENV must be development or production, not 'prod'"
    ):
        Settings.from_env({"GATEWAY_ENV": "prod"})
    production = Settings.from_env({"GATEWAY_ENV": "production"})
    assert production.production and production.allowed_hosts == PRODUCTION_HOSTS
    assert not Settings.from_env({}).production


@pytest.mark.parametrize(
    ("env", "secret", "refused"),
    [
        ("production", None, True),
        ("production", "s" * 31, True),
        ("production", "s" * 32, False),
        ("development", None, False),
    ],
)
def test_production_needs_a_strong_jwt_secret(env: str, secret: str | None, refused: bool) -> None:
    settings = Settings(env=env, jwt_secret=secret)  # type: ignore[arg-type]
    if refused:
        with pytest.raises(SettingsError, match="JWT_SECRET must be set to at least 32"):
            settings.check_secrets()
    else:
        settings.check_secrets()


def test_urls_paths_and_the_embedded_servers() -> None:
    assert Settings().embedded
    loaded = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://db/x",
            "REDIS_URL": "redis://cache:6379/0",
            "GATEWAY_DATA_DIR": "/srv/gateway",
            "PUBLIC_URL": "https://api.example.com/",
            "RATE_LIMIT_LEASE": "0",
        }
    )
    assert not loaded.embedded
    assert (loaded.database_url, loaded.redis_url) == ("postgresql://db/x", "redis://cache:6379/0")
    assert loaded.data_dir == Path("/srv/gateway")
    assert loaded.public_url == "https://api.example.com"  # no trailing slash
    assert loaded.rate_limit_lease is None  # 0: the default share
    moved = Settings().with_urls("postgresql://elsewhere/y", None)
    assert (moved.database_url, moved.redis_url, moved.embedded) == (
        "postgresql://elsewhere/y",
        None,
        False,
    )
    for bad in ("api.example.com", "ftp://api.example.com", "https://api.example.com/?x=1"):
        with pytest.raises(SettingsError, match="PUBLIC_URL must be the absolute http"):
            Settings.from_env({"PUBLIC_URL": bad})


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().port = 1  # type: ignore[misc]

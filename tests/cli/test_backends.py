"""What gateway/cli/backends.py does with servers given by URL: starts nothing and prepares
nothing, keeps one development JWT secret in the data folder, and runs `migrate`, `seed` and
`user create` on the database, answering with exit codes and messages."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncpg
import pytest

from gateway.cli.backends import Servers
from gateway.db.seed import Scale
from gateway.settings import Settings

pytestmark = pytest.mark.anyio

PASSWORD = "a long enough passphrase 42"


async def fetch_val(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def servers_on(url: str, redis_url: str, data_dir: Path) -> Servers:
    return Servers(Settings(database_url=url, redis_url=redis_url, data_dir=data_dir))


async def test_given_servers_are_used_as_they_are_and_not_prepared(
    empty_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    with servers_on(empty_database_url, redis_url, tmp_path) as servers:
        assert servers.settings.database_url == empty_database_url
        assert servers.settings.redis_url == redis_url
        assert not servers.embedded_database
        await servers.prepare(seed_demo=True)
    # Nothing was migrated, nothing started in the data folder.
    assert await fetch_val(empty_database_url, "SELECT to_regclass('products')") is None
    assert list(tmp_path.iterdir()) == []


def test_the_development_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    servers = Servers(Settings(data_dir=tmp_path / "data"))
    secret = servers.development_secret()
    assert len(secret) >= 64
    path = tmp_path / "data" / "jwt-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Servers(Settings(data_dir=tmp_path / "data")).development_secret() == secret
    path.write_text("  kept-secret\n")
    assert servers.development_secret() == "kept-secret"


async def test_migrate_checks_then_applies(
    empty_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    with servers_on(empty_database_url, redis_url, tmp_path) as servers:
        assert await servers.migrate(check_only=True) == 1
        assert await fetch_val(empty_database_url, "SELECT to_regclass('products')") is None
        assert await servers.migrate(check_only=False) == 0
        assert await servers.migrate(check_only=True) == 0
        assert await servers.migrate(check_only=False) == 0
    assert await fetch_val(empty_database_url, "SELECT to_regclass('products')") is not None


async def test_seed_loads_the_scale_asked_for_and_reset_replaces_it(
    empty_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    scale = Scale(categories=3, products=4, users=2, tags=1, reviews=3, orders=2)
    with servers_on(empty_database_url, redis_url, tmp_path) as servers:
        assert await servers.seed(scale, reset=False, rng_seed=7) == 0
        assert await fetch_val(empty_database_url, "SELECT count(*) FROM products") == 4
        names = await fetch_val(empty_database_url, "SELECT string_agg(name, ',') FROM products")
        assert await servers.seed(scale, reset=True, rng_seed=7) == 0
    assert await fetch_val(empty_database_url, "SELECT count(*) FROM products") == 4
    again = await fetch_val(empty_database_url, "SELECT string_agg(name, ',') FROM products")
    assert again == names


async def test_user_create_answers_with_exit_codes_and_messages(
    empty_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    with servers_on(empty_database_url, redis_url, tmp_path) as servers:
        code, message = await servers.create_user(
            "ops@example.com", PASSWORD, display_name="Ops", role="admin"
        )
        assert code == 0
        user_id = await fetch_val(empty_database_url, "SELECT id FROM users WHERE role = 'admin'")
        assert message == f"created admin account {user_id} <ops@example.com>"
        duplicate = await servers.create_user(
            "ops@example.com", PASSWORD, display_name="Ops", role="customer"
        )
        assert duplicate == (1, "an account with the email ops@example.com already exists")
        weak = await servers.create_user(
            "w@example.com", "short", display_name="W", role="customer"
        )
        assert weak[0] == 2 and weak[1].startswith("password must be at least")
        invalid = await servers.create_user(
            "not-an-email", PASSWORD, display_name="X", role="customer"
        )
        assert invalid == (2, "email must be an email address")
    assert await fetch_val(empty_database_url, "SELECT count(*) FROM users") == 1

"""The command line as a user runs it: serve on the embedded default, migrate, seed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.settings import PROJECT_ROOT, Settings
from tests.processes import Served, base_env, free_port, port_open


def run_cli(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not tmp_path: the unprivileged PostgreSQL must be able to enter it when we are root.
    folder = Path(tempfile.mkdtemp(prefix="gateway-cli-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_serve_runs_on_the_embedded_default_and_reuses_its_data(data_dir: Path) -> None:
    env = base_env(GATEWAY_DATA_DIR=str(data_dir))
    served = Served(env, free_port())
    try:
        ready = httpx.get(served.url + "/readyz").json()
        assert ready["status"] == "ok" and ready["cache"]["kind"] == "redis"
        listing = httpx.get(served.url + "/api/v1/products?limit=5")
        assert listing.status_code == 200
        first = listing.json()["data"]
        assert len(first) == 5 and first[0]["id"] == 1
        graph = httpx.post(
            served.url + "/graphql",
            json={"query": "{ products(first: 2) { totalCount edges { node { name } } } }"},
        )
        assert graph.status_code == 200
        assert graph.json()["data"]["products"]["totalCount"] == 200
        output = served.output()
        assert "embedded PostgreSQL" in output and "loaded demo data" in output
        # The README's development accounts sign in, with their roles.
        admin = httpx.post(
            served.url + "/api/v1/auth/login",
            json={"email": "admin@example.com", "password": "admin-dev-password"},
        )
        assert admin.status_code == 200
        assert admin.json()["data"]["account"]["role"] == "admin"
        customer = httpx.post(
            served.url + "/api/v1/auth/login",
            json={"email": "user2@example.com", "password": "customer-dev-password"},
        )
        assert customer.json()["data"]["account"]["role"] == "customer"
    finally:
        assert served.stop() == 0
    pg_port = int((data_dir / "postgres" / "port").read_text())
    assert not port_open(pg_port), "embedded PostgreSQL still running after the gateway stopped"
    assert not port_open(served.port)

    again = Served(env, free_port())
    try:
        # Same data, not seeded a second time.
        assert httpx.get(again.url + "/api/v1/products?limit=5").json()["data"] == first
        assert "loaded demo data" not in again.output()
    finally:
        assert again.stop() == 0


def test_migrate_check_then_migrate(empty_database_url: str) -> None:
    env = base_env(DATABASE_URL=empty_database_url, REDIS_URL="redis://127.0.0.1:1/0")
    pending = run_cli("migrate", "--check", env=env)
    assert pending.returncode == 1
    assert "pending migration 0001_schema" in pending.stderr
    assert run_cli("migrate", env=env).returncode == 0
    assert run_cli("migrate", "--check", env=env).returncode == 0


def test_seed_refuses_a_non_empty_database_unless_reset(fresh_database_url: str) -> None:
    env = base_env(DATABASE_URL=fresh_database_url, REDIS_URL="redis://127.0.0.1:1/0")
    assert run_cli("seed", env=env).returncode == 0
    again = run_cli("seed", env=env)
    assert again.returncode == 1
    assert "--reset" in again.stderr
    assert run_cli("seed", "--reset", "--scale", "300", env=env).returncode == 0


def test_bad_arguments_and_settings_are_clear(fresh_database_url: str) -> None:
    env = base_env(DATABASE_URL=fresh_database_url)
    scale = run_cli("seed", "--scale", "huge", env=env)
    assert scale.returncode == 2 and "huge" in scale.stderr
    bad = run_cli("migrate", env={**env, "DB_POOL_TIMEOUT": "soon"})
    assert bad.returncode == 2
    assert "DB_POOL_TIMEOUT must be a number of seconds" in bad.stderr
    production = run_cli("serve", env={**env, "GATEWAY_ENV": "production"})
    assert production.returncode == 2
    assert "JWT_SECRET must be set" in production.stderr
    unknown = run_cli("frobnicate", env=env)
    assert unknown.returncode == 2


def test_user_create_reads_the_password_from_stdin(fresh_database_url: str) -> None:
    env = base_env(DATABASE_URL=fresh_database_url, REDIS_URL="redis://127.0.0.1:1/0")
    args = ("user", "create", "--email", "Ops@Example.com", "--role", "admin", "--password-stdin")
    created = run_cli(*args, env=env, stdin="a long operator password\n")
    assert created.returncode == 0, created.stderr
    assert "created admin account" in created.stdout
    duplicate = run_cli(*args, env=env, stdin="a long operator password\n")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    weak = run_cli(
        "user", "create", "--email", "w@example.com", "--password-stdin", env=env, stdin="short\n"
    )
    assert weak.returncode == 2
    assert "at least 10 characters" in weak.stderr
    no_stdin_flag = run_cli("user", "create", "--email", "n@example.com", env=env)
    assert no_stdin_flag.returncode == 2
    escape = run_cli(
        *("user", "create", "--email", "e@example.com", "--password-stdin"),
        *("--display-name", "\x1b[31mred"),
        env=env,
        stdin="a long operator password\n",
    )
    assert escape.returncode == 2
    assert "display name must not contain control" in escape.stderr


async def _login(database_url: str, email: str, password: str) -> int:
    from dataclasses import replace

    from tests.conftest import app_client

    settings = Settings(
        database_url=database_url, redis_url=None, jwt_secret="s" * 64, db_pool_min_size=0
    )
    async with app_client(replace(settings)) as http:
        response = await http.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        return response.status_code


def test_a_created_operator_can_sign_in(fresh_database_url: str) -> None:
    import asyncio

    env = base_env(DATABASE_URL=fresh_database_url, REDIS_URL="redis://127.0.0.1:1/0")
    run_cli(
        "user",
        "create",
        "--email",
        "op2@example.com",
        "--password-stdin",
        env=env,
        stdin="another long password\n",
    )
    assert (
        asyncio.run(_login(fresh_database_url, "OP2@example.com", "another long password")) == 200
    )
    assert asyncio.run(_login(fresh_database_url, "op2@example.com", "wrong password!!")) == 401

"""Embedded PostgreSQL/Redis: real server processes started from the wheel-shipped binaries."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis

from gateway.cli.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    postgres_bin_dir,
    redis_binary,
)

pytestmark = pytest.mark.slow

# durability is irrelevant for throw-away test clusters; these make initdb and writes much faster
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
IS_ROOT = os.geteuid() == 0
NOBODY = 65534


@pytest.fixture
def base_dir() -> Iterator[Path]:
    # pytest's tmp_path sits under a 0700 directory, which uid 65534 (root runs) cannot traverse
    path = Path(tempfile.mkdtemp(prefix="gw-embedded-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def pg(base_dir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(base_dir / "pg", options=FAST)
    yield server
    server.stop()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Run `sql` (several statements allowed when it returns nothing) on a fresh connection."""

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url)
        try:
            if ";" in sql:
                await conn.execute(sql)
                return []
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def test_postgres_persists_prefers_its_port_and_creates_databases(pg: EmbeddedPostgres) -> None:
    url = pg.start()
    assert url.startswith("postgresql://postgres@127.0.0.1:")
    assert url.endswith("/postgres")
    assert pg.start() == url == pg.url  # idempotent
    assert query(url, "SELECT version()")[0][0].startswith("PostgreSQL 16.")
    query(url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42); CHECKPOINT")

    pg.stop()
    pg.stop()  # second stop is a no-op
    with pytest.raises(ConnectionRefusedError):
        query(url, "SELECT 1")

    assert pg.start() == url  # same port: it was free again
    assert query(url, "SELECT v FROM kept") == [(42,)]

    pg.stop()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT
        squatter.bind(("127.0.0.1", port_of(url)))
        squatter.listen()
        moved = pg.start()
        assert port_of(moved) != port_of(url)
        assert query(moved, "SELECT v FROM kept") == [(42,)]

    app_url = pg.create_database("my app/1")
    assert pg.create_database("my app/1") == app_url  # already there: no error
    assert query(app_url, "SELECT current_database()") == [("my app/1",)]


def test_leftover_server_is_restarted_and_kill_recovers(
    base_dir: Path, pg: EmbeddedPostgres
) -> None:
    url = pg.start()
    query(url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (1); CHECKPOINT")
    first_boot = query(url, "SELECT pg_postmaster_start_time()")

    # a new handle on the same directory is what a CLI restarted after SIGKILL would see
    successor = EmbeddedPostgres(base_dir / "pg", options=FAST)
    try:
        url2 = successor.start()
        assert query(url2, "SELECT pg_postmaster_start_time()") != first_boot
        assert query(url2, "SELECT v FROM kept") == [(1,)]

        successor.kill()
        with pytest.raises(ConnectionRefusedError):
            query(url2, "SELECT 1")
        assert query(successor.start(), "SELECT v FROM kept") == [(1,)]
    finally:
        successor.stop()
    pg.stop()  # the server it started is long gone: still no error


@pytest.mark.skipif(not IS_ROOT, reason="privilege drop only happens as root")
def test_root_hands_only_the_data_dir_to_nobody(base_dir: Path, pg: EmbeddedPostgres) -> None:
    bin_dir = postgres_bin_dir()
    watched = [base_dir, bin_dir, bin_dir / "postgres", bin_dir.parent.parent]
    before = [(p.stat().st_uid, p.stat().st_gid, stat.S_IMODE(p.stat().st_mode)) for p in watched]

    pg.start()

    assert pg.home == (base_dir / "pg").resolve()
    pgdata = pg.home / "pgdata"
    assert (pgdata.stat().st_uid, pgdata.stat().st_gid) == (NOBODY, NOBODY)
    assert stat.S_IMODE(pgdata.stat().st_mode) == 0o700
    assert (pgdata / "PG_VERSION").stat().st_uid == NOBODY
    after = [(p.stat().st_uid, p.stat().st_gid, stat.S_IMODE(p.stat().st_mode)) for p in watched]
    assert after == before


@pytest.mark.skipif(not IS_ROOT, reason="privilege drop only happens as root")
@pytest.mark.skipif("pgserver" in sys.modules, reason="needs to relocate an unimported pgserver")
def test_root_falls_back_when_nobody_cannot_reach(
    base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = base_dir / "locked"  # like a project under /root: mode 0700
    locked.mkdir(mode=0o700)
    site = locked / "site"
    real_bin = postgres_bin_dir()
    shutil.copytree(real_bin.parent.parent, site / "pgserver", symlinks=True)
    shutil.copytree(real_bin.parents[2] / "pgserver.libs", site / "pgserver.libs", symlinks=True)
    monkeypatch.syspath_prepend(str(site))
    assert postgres_bin_dir() == site / "pgserver" / "pginstall" / "bin"

    server = EmbeddedPostgres(locked / "pg", options=FAST)
    try:
        url = server.start()
        assert server.home.parent == Path("/var/tmp")
        assert server.home.name.startswith("gateway-")
        assert (server.home / "dist" / "pgserver" / "pginstall" / "bin" / "postgres").exists()
        assert query(url, "SELECT 1") == [(1,)]
        server.stop()
        assert EmbeddedPostgres(locked / "pg").home == server.home  # stable across runs
    finally:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)
    assert stat.S_IMODE(locked.stat().st_mode) == 0o700
    assert locked.stat().st_uid == 0


def test_redis_ping_kill_restart(base_dir: Path) -> None:
    binary = redis_binary()
    assert binary is not None
    assert os.access(binary, os.X_OK)

    server = EmbeddedRedis(base_dir)
    try:
        url = server.start()
        assert url.startswith("redis://127.0.0.1:")
        assert url.endswith("/0")
        assert server.start() == url
        with redis.Redis.from_url(url) as client:
            assert client.ping()

        server.kill()
        with redis.Redis.from_url(url) as client, pytest.raises(redis.ConnectionError):
            client.ping()

        url = server.start()
        with redis.Redis.from_url(url) as client:
            assert client.ping()
    finally:
        server.stop()
    server.stop()


def test_redis_leftover_from_earlier_run_is_stopped(base_dir: Path) -> None:
    first, second = EmbeddedRedis(base_dir), EmbeddedRedis(base_dir)
    try:
        old_url = first.start()
        new_url = second.start()
        with redis.Redis.from_url(new_url) as client:
            assert client.ping()
        if new_url != old_url:
            with redis.Redis.from_url(old_url) as client, pytest.raises(redis.ConnectionError):
                client.ping()
    finally:
        second.stop()
        first.stop()

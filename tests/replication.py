"""A real streaming replica for tests: a primary and a hot standby made with pg_basebackup -R,
from the binaries the embedded mode ships (started by bench/topology.py, which the
benchmarks share), each on a free loopback port, each logging every statement so a test
can tell which server answered a read."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from bench.topology import start_replication
from gateway.cli.embedded import EmbeddedError, EmbeddedPostgres, postgres_bin_dir

DATABASE = "shop"
# Every statement logged, each entry prefixed with the client's application name.
_LOGGED = {"log_statement": "all", "log_line_prefix": "%a|", "fsync": "off"}
_ENTRY = re.compile(r"^[^|\n]*\|(LOG|ERROR|STATEMENT|FATAL|WARNING|DETAIL|HINT|CONTEXT):", re.M)


def binaries_missing() -> str | None:
    """Why no replica can be started here, or None when it can."""
    try:
        bin_dir = postgres_bin_dir()
    except EmbeddedError as exc:
        return str(exc)
    if not (bin_dir / "pg_basebackup").exists():
        return f"no pg_basebackup in {bin_dir}"
    return None


def run(url: str, sql: str, *args: object) -> object:
    """The first value `sql` returns on the server at `url` (outside any app)."""

    async def go() -> object:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


async def arun(url: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """Wait until `check()` holds, polling; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.1)


class Node:
    """One server of the pair, with its statement log."""

    def __init__(self, server: EmbeddedPostgres) -> None:
        self.server = server

    @property
    def admin_url(self) -> str:
        return self.server.url

    @property
    def url(self) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{DATABASE}"

    @property
    def port(self) -> int:
        return int(self.admin_url.rsplit(":", 1)[1].split("/")[0])

    def statements(self, *needles: str, application: str = "gateway") -> int:
        """How many statements `application` ran here whose text holds every needle."""
        text = (self.server.home / "postgres.log").read_text(errors="replace")
        starts = [m.start() for m in _ENTRY.finditer(text)] + [len(text)]
        count = 0
        for start, end in itertools.pairwise(starts):
            entry = text[start:end]
            prefix, _, rest = entry.partition("|")
            if prefix != application or not rest.startswith("LOG:"):
                continue
            if ("execute" in rest or "statement:" in rest) and all(n in rest for n in needles):
                count += 1
        return count


class Replication:
    """A primary and its hot standby; `stop()` stops both."""

    def __init__(self, primary: Node, standby: Node, folder: Path) -> None:
        self.primary = primary
        self.standby = standby
        self.folder = folder

    @classmethod
    def start(cls) -> Replication:
        folder = Path(tempfile.mkdtemp(prefix="gateway-test-replica-"))
        folder.chmod(0o755)  # the servers run as uid 65534 when the tests run as root
        try:
            primary, standby = start_replication(folder, DATABASE, _LOGGED)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cls(Node(primary), Node(standby), folder)

    def stop(self) -> None:
        for node in (self.standby, self.primary):
            with contextlib.suppress(EmbeddedError):
                node.server.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
        for node in (self.standby, self.primary):
            shutil.rmtree(node.server.home, ignore_errors=True)

    async def delay(self, seconds: float) -> None:
        """Make the standby apply each transaction `seconds` after its commit
        (recovery_min_apply_delay), the replication lag the tests reason about."""
        conn = await asyncpg.connect(self.standby.admin_url)
        try:
            await conn.execute(
                f"ALTER SYSTEM SET recovery_min_apply_delay = '{int(seconds * 1000)}ms'"
            )
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    async def sync(self) -> None:
        """Wait until the standby has replayed what the primary wrote so far."""
        lsn = await arun(self.primary.admin_url, "SELECT pg_current_wal_lsn()::text")

        async def replayed() -> bool:
            done = await arun(
                self.standby.admin_url, "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn
            )
            return bool(done)

        await eventually(replayed, 30, "the standby replays the primary's writes")

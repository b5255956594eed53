"""The gateway through a real PgBouncer in transaction pooling mode, in front of a real primary
and its hot standby (tests/replication.py). Debian's pgbouncer is installed by .ci/run; where it
is missing the test skips and says so."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.settings import Settings
from tests.conftest import Actors, app_client
from tests.processes import free_port, port_open
from tests.replication import DATABASE, Replication, arun, binaries_missing

pytestmark = pytest.mark.anyio

NOBODY = 65534
# What the gateway sends at connection start that PgBouncer 1.18 does not pass on: it must be
# told to ignore them, and the database gets them as its own defaults instead (see README).
IGNORED = "statement_timeout,idle_in_transaction_session_timeout,plan_cache_mode,jit"
SERVER_CONNECTIONS = 2


def _pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
    )


@pytest.fixture(scope="module")
def bouncer() -> Iterator[tuple[Replication, int]]:
    binary = _pgbouncer()
    if binary is None:
        pytest.skip("Debian's pgbouncer is not installed (.ci/run installs it where it may)")
    missing = binaries_missing()
    if missing is not None:
        pytest.skip(f"no PostgreSQL binaries to start a primary and a standby: {missing}")
    pair = Replication.start()
    folder = Path(tempfile.mkdtemp(prefix="gateway-test-pgbouncer-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        for setting in (
            "statement_timeout = '5s'",
            "plan_cache_mode = force_generic_plan",
            "jit = off",
        ):
            asyncio.run(arun(pair.primary.admin_url, f"ALTER DATABASE {DATABASE} SET {setting}"))
        asyncio.run(
            arun(
                pair.primary.url,
                "WITH c AS (INSERT INTO categories (slug, name) VALUES ('c', 'C') RETURNING id) "
                "INSERT INTO products (sku, name, price, stock, category_id) "
                "SELECT 'P' || n, 'Product ' || n, 10, 1000, id FROM c, generate_series(1, 5) n",
            )
        )
        asyncio.run(pair.sync())
        port = free_port()
        (folder / "users.txt").write_text('"postgres" ""\n')
        (folder / "pgbouncer.ini").write_text(
            f"""[databases]
{DATABASE} = host=127.0.0.1 port={pair.primary.port} dbname={DATABASE}
{DATABASE}_ro = host=127.0.0.1 port={pair.standby.port} dbname={DATABASE}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
ignore_startup_parameters = {IGNORED}
logfile = {folder / "pgbouncer.log"}
"""
        )
        command = [binary, str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            folder.chmod(0o755)
            for path in folder.iterdir():
                os.chown(path, NOBODY, NOBODY)
            os.chown(folder, NOBODY, NOBODY)
            command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
            command += [binary, str(folder / "pgbouncer.ini")]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = folder / "pgbouncer.log"
                raise RuntimeError(
                    f"pgbouncer did not start: {log.read_text() if log.exists() else ''}"
                )
            time.sleep(0.05)
        yield pair, port
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        pair.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def test_the_gateway_through_pgbouncer_in_transaction_mode(
    bouncer: tuple[Replication, int], settings: Settings
) -> None:
    pair, port = bouncer
    through = f"postgresql://postgres@127.0.0.1:{port}"
    config = replace(
        settings,
        database_url=f"{through}/{DATABASE}",
        database_read_url=f"{through}/{DATABASE}_ro",
        # PgBouncer 1.18 keeps no prepared statements across transactions: asyncpg must not
        # cache named ones (DB_STATEMENT_CACHE_SIZE=0).
        db_statement_cache_size=0,
        db_pool_max_size=10,
        cache_enabled=False,
    )
    admin = await Actors(pair.primary.url, settings).admin()
    customer = await Actors(pair.primary.url, settings).customer()
    await pair.sync()
    # Twice: the second gateway meets the server connections the first one used.
    for run in range(2):
        async with app_client(config) as http:
            reads = [http.get(f"/api/v1/products/{n}") for n in range(1, 6)] * 4
            reads += [
                http.post("/graphql", json={"query": f'{{ product(id: "{n}") {{ name }} }}'})
                for n in range(1, 6)
            ] * 4
            answers = await asyncio.gather(*reads)
            assert [a.status_code for a in answers] == [200] * len(reads), answers[0].text

            name = f"Renamed {run}"
            renamed = await http.patch(
                "/api/v1/products/1", json={"name": name}, headers=admin.headers
            )
            assert renamed.status_code == 200, renamed.text
            mine = await http.get("/api/v1/products/1", headers=admin.headers)
            assert mine.json()["data"]["name"] == name

            # A transaction of several statements: the order and its lines, stock taken.
            order = await http.post(
                "/api/v1/orders",
                json={"items": [{"product_id": 2, "quantity": 3}]},
                headers=customer.headers,
            )
            assert order.status_code == 201, order.text
            stock = await arun(pair.primary.url, "SELECT stock FROM products WHERE id = 2")
            assert stock == 1000 - 3 * (run + 1)

    # All that ran on no more server connections than PgBouncer's pool per database.
    used = await arun(
        pair.primary.admin_url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = "
        "'client backend' AND pid <> pg_backend_pid()",
        DATABASE,
    )
    assert isinstance(used, int) and 0 < used <= SERVER_CONNECTIONS

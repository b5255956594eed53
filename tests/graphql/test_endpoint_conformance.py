"""Conformance, judged by real clients and the specs' own tools against a real server
process: graphql-http's GraphQL-over-HTTP audit, graphql-ws's client, and the Python
`websockets` client for the close codes of graphql-transport-ws.

The JavaScript packages are pinned in tests/node/package-lock.json and installed with
`npm ci` into tests/node/node_modules (git-ignored), once per lock file. The tests skip,
saying why, only when Node.js is missing or the npm registry cannot be reached.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.settings import PROJECT_ROOT, Settings
from gateway.tokens import TokenIssuer
from tests.conftest import TEST_JWT_SECRET, run_sql
from tests.processes import Served, base_env, npm_installed

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

NODE_DIR = PROJECT_ROOT / "tests" / "node"

# SHOULDs of the audit this gateway does not follow, each on purpose (see the README):
# under plain application/json a request refused before execution keeps its 4xx (400)
# rather than the 200 the spec's legacy section suggests, so an HTTP cache, a proxy or a
# log can tell a refusal from an answer. The 2026 draft of the spec recommends the same.
KNOWN_SHOULD_FAILURES = {
    "572B",  # SHOULD use 200 status code on document parsing failure when accepting application/json
    "FDE2",  # SHOULD use 200 status code on document validation failure when accepting application/json
    "7B9B",  # SHOULD use a status code of 200 on variable coercion failure when accepting application/json
}


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/node with its pinned packages installed."""
    return npm_installed(NODE_DIR)


@pytest.fixture(scope="module")
def served(database_url: str, redis_url: str) -> Iterator[Served]:
    """`gateway serve` on a free port, on this module's database, in development (the
    audit's own documents use introspection, which production refuses)."""
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        VALUES ('L-1', 'Lamp', 10, 5, 1);
        INSERT INTO users (email, display_name, password_hash, role)
        VALUES ('admin@example.com', 'Admin', '!', 'admin');
        """,
    )
    env = base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:{uuid.uuid4().hex[:8]}",
        DB_POOL_MIN_SIZE="0",
        RATE_LIMIT_PER_MINUTE="1000000",
        MAX_BODY_BYTES="65536",
    )
    server = Served(env)
    try:
        yield server
    finally:
        assert server.stop() == 0, server.output()


def token(user_id: int, role: str, ttl: int = 900) -> str:
    defaults = Settings()
    issuer = TokenIssuer(
        TEST_JWT_SECRET, issuer=defaults.jwt_issuer, audience=defaults.jwt_audience, ttl=ttl
    )
    return issuer.issue(user_id, role)  # type: ignore[arg-type]


def test_graphql_http_audit(node_clients: Path, served: Served) -> None:
    result = subprocess.run(
        ["node", "audit.mjs", served.url + "/graphql"],
        cwd=node_clients,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    audits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(audits) > 40
    failed = {a["id"]: a for a in audits if a["status"] != "ok"}
    musts = [f"{a['name']}: {a['reason']}" for a in failed.values() if a["name"].startswith("MUST")]
    assert musts == []
    shoulds = {i for i, a in failed.items() if a["name"].startswith("SHOULD")}
    report = "\n".join(f"{a['id']} {a['name']}: {a['reason']}" for a in failed.values())
    assert shoulds == KNOWN_SHOULD_FAILURES, report
    # The MAYs this gateway does not take up are none.
    assert set(failed) == KNOWN_SHOULD_FAILURES, report


async def node_client(node_clients: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "node",
        "subscribe.mjs",
        *args,
        cwd=node_clients,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_line(process: asyncio.subprocess.Process, timeout: float = 10) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout)
    assert line, "the client ended without a word"
    parsed: dict[str, Any] = json.loads(line)
    return parsed


async def test_graphql_ws_client_hears_a_write(node_clients: Path, served: Served) -> None:
    ws_url = served.url.replace("http://", "ws://") + "/graphql"
    query = 'subscription { productChanged(id: "1") { id name } }'
    admin = {"Authorization": f"Bearer {token(1, 'admin')}"}
    process = await node_client(node_clients, ws_url, query, token(1, "admin"))
    try:
        assert await read_line(process) == {"connected": True}
        # Write until the subscriber hears one: it may not be listening yet at the first.
        event = None
        async with httpx.AsyncClient(base_url=served.url) as http:
            for attempt in range(30):
                renamed = await http.patch(
                    "/api/v1/products/1", json={"name": f"Lamp {attempt}"}, headers=admin
                )
                assert renamed.status_code == 200, renamed.text
                try:
                    event = await read_line(process, timeout=0.5)
                    break
                except TimeoutError:
                    continue
        assert event is not None
        assert event["next"]["data"]["productChanged"]["id"] == "1"
        assert event["next"]["data"]["productChanged"]["name"].startswith("Lamp ")
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_graphql_ws_client_is_refused_with_the_protocols_codes(
    node_clients: Path, served: Served
) -> None:
    ws_url = served.url.replace("http://", "ws://") + "/graphql"
    query = 'subscription { productChanged(id: "1") { id } }'
    process = await node_client(node_clients, ws_url, query, "not-a-token")
    try:
        lines = [await read_line(process), await read_line(process)]
        assert {"closed": 4403, "reason": "Forbidden"} in lines
        await asyncio.wait_for(process.wait(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # A token that expires while the subscription runs: the socket closes with 4403.
    process = await node_client(node_clients, ws_url, query, token(1, "admin", ttl=2), "5")
    try:
        assert await read_line(process) == {"connected": True}
        started = time.monotonic()
        closed = await read_line(process, timeout=8)
        assert closed == {"closed": 4403, "reason": "Forbidden: the access token expired"}
        assert time.monotonic() - started < 5
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_close_codes_over_a_real_socket(served: Served) -> None:
    ws_url = served.url.replace("http://", "ws://") + "/graphql"
    # No subprotocol: accepted, then closed with 4406 and the protocol's reason.
    async with websockets.connect(ws_url) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        4406,
        "Subprotocol not acceptable",
    )

    async with websockets.connect(
        ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as socket:
        assert socket.subprotocol == "graphql-transport-ws"
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
        await socket.send(json.dumps({"type": "subscribe", "payload": {"query": "{ __typename }"}}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    assert "id" in closed.value.rcvd.reason

    # Past the body cap (MAX_BODY_BYTES=65536 here): refused at the protocol layer, 1009.
    async with websockets.connect(
        ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"x": "y" * 70_000}}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009

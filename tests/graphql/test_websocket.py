"""graphql-transport-ws as its protocol says: malformed messages close with 4400 and a
reason, a second connection_init with 4429, a missing subprotocol with 4406, a message
over the body cap with 1009, an expired token with 4403; and a cap on the operations one
connection runs. (Subscriptions themselves: tests/graphql/test_subscriptions.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from gateway.settings import Settings
from gateway.tokens import TokenIssuer
from tests.conftest import TEST_JWT_SECRET, run_sql
from tests.graphql.test_subscriptions import PRODUCT, Closed, Replica, Socket, replica

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'L-' || n, 'Lamp ' || n, 10, 50, 1 FROM generate_series(1, 3) n;
        INSERT INTO users (email, display_name, password_hash, role)
        VALUES ('ws@example.com', 'WS', '!', 'customer');
        """,
    )
    return database_url


@pytest.fixture
async def gateway(catalogue: str, settings: Settings) -> AsyncIterator[Replica]:
    async with replica(replace(settings, max_body_bytes=4096, graphql_ws_max_operations=3)) as it:
        yield it


async def closed_by(socket: Socket, message: Any = None, *, text: str | None = None) -> Closed:
    """Send `message` (or raw `text`) and return how the server closed the socket."""
    if text is not None:
        await socket.send_text(text)
    else:
        await socket.send(message)
    with pytest.raises(Closed) as closed:
        while True:  # anything sent before the close (an ack) is skipped
            await socket.receive()
    await socket.close()
    return closed.value


async def initialised(gateway: Replica) -> Socket:
    socket = Socket(gateway.app)
    await socket.connect()
    await socket.init()
    return socket


QUERY = "{ __typename }"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"type": "subscribe", "payload": {"query": QUERY}}, "id"),
        ({"type": "subscribe", "id": 7, "payload": {"query": QUERY}}, "id"),
        ({"type": "subscribe", "id": "", "payload": {"query": QUERY}}, "id"),
        ({"type": "subscribe", "id": "a"}, "payload"),
        ({"type": "subscribe", "id": "a", "payload": "{ __typename }"}, "payload"),
        ({"type": "subscribe", "id": "a", "payload": {"query": 42}}, "query"),
        ({"type": "subscribe", "id": "a", "payload": {"variables": {}}}, "query"),
        (
            {"type": "subscribe", "id": "a", "payload": {"query": QUERY, "variables": [1]}},
            "variables",
        ),
        (
            {"type": "subscribe", "id": "a", "payload": {"query": QUERY, "operationName": 1}},
            "operationName",
        ),
        (
            {"type": "subscribe", "id": "a", "payload": {"query": QUERY, "extensions": 1}},
            "extensions",
        ),
        ({"type": "complete"}, "id"),
        ({"type": "complete", "id": None}, "id"),
        ({"type": "ping", "payload": "x"}, "payload"),
        ({"type": "next", "id": "a", "payload": {}}, "unknown type"),
        ({"type": "nonsense"}, "unknown type"),
        ({"id": "a"}, "unknown type"),
        ([{"type": "ping"}], "object"),
        ("ping", "object"),
    ],
)
async def test_malformed_messages_close_with_4400_and_a_reason(
    gateway: Replica, message: Any, reason: str
) -> None:
    closed = await closed_by(await initialised(gateway), message)
    assert closed.code == 4400
    assert closed.reason.startswith("Invalid message")
    assert reason in closed.reason


async def test_invalid_json_closes_with_4400(gateway: Replica) -> None:
    closed = await closed_by(await initialised(gateway), text='{"type": "ping"')
    assert (closed.code, closed.reason) == (4400, "Invalid message: not JSON")


@pytest.mark.parametrize("payload", ["token", 42, ["Authorization"]])
async def test_connection_init_with_a_non_object_payload_closes_with_4400(
    gateway: Replica, payload: Any
) -> None:
    socket = Socket(gateway.app)
    await socket.connect()
    closed = await closed_by(socket, {"type": "connection_init", "payload": payload})
    assert closed.code == 4400
    assert "connection_init payload" in closed.reason


async def test_a_second_connection_init_closes_with_4429(gateway: Replica) -> None:
    closed = await closed_by(await initialised(gateway), {"type": "connection_init"})
    assert (closed.code, closed.reason) == (4429, "Too many initialisation requests")


async def test_a_socket_without_the_subprotocol_gets_4406(gateway: Replica) -> None:
    for offered in (("graphql-ws",), ()):
        socket = Socket(gateway.app)
        await socket.connect(protocols=offered)
        assert socket.subprotocol is None
        with pytest.raises(Closed) as closed:
            await socket.receive()
        assert (closed.value.code, closed.value.reason) == (4406, "Subprotocol not acceptable")
        await socket.close()


async def test_a_message_over_the_body_cap_closes_with_1009(gateway: Replica) -> None:
    padding = " " * 4096  # the fixture's MAX_BODY_BYTES is 4096
    socket = await initialised(gateway)
    await socket.send_text('{"type": "ping"}' + padding[: 4096 - 16])  # exactly at the cap
    assert await socket.receive() == {"type": "pong"}
    closed = await closed_by(socket, text='{"type": "ping"}' + padding)
    assert closed.code == 1009
    assert "4096" in closed.reason
    # Bytes, not characters: 2,000 two-byte characters are 4,000 bytes and more.
    socket = await initialised(gateway)
    closed = await closed_by(socket, {"type": "ping", "payload": {"x": "é" * 2100}})
    assert closed.code == 1009


async def test_a_subscription_ends_with_4403_when_its_token_expires(
    gateway: Replica, settings: Settings
) -> None:
    issuer = TokenIssuer(
        TEST_JWT_SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=2
    )
    token = issuer.issue(1, "customer")
    socket = Socket(gateway.app)
    await socket.connect()
    await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert await socket.receive() == {"type": "connection_ack"}
    await socket.subscribe("p", PRODUCT % 1)
    started = asyncio.get_running_loop().time()
    with pytest.raises(Closed) as closed:
        await socket.receive(timeout=6)
    assert (closed.value.code, closed.value.reason) == (4403, "Forbidden: the access token expired")
    assert 0.5 < asyncio.get_running_loop().time() - started < 4
    await socket.close()


async def test_an_anonymous_connection_does_not_expire(gateway: Replica) -> None:
    socket = await initialised(gateway)
    await socket.subscribe("p", PRODUCT % 1)
    await asyncio.sleep(0.5)
    await socket.send({"type": "ping"})
    assert await socket.receive() == {"type": "pong"}
    await socket.close()


async def test_operations_per_connection_are_capped(gateway: Replica) -> None:
    socket = await initialised(gateway)
    for number in range(3):  # the fixture allows 3
        await socket.subscribe(f"s{number}", PRODUCT % 1)
    await socket.send({"id": "s3", "type": "subscribe", "payload": {"query": PRODUCT % 2}})
    refusal = await socket.receive()
    assert refusal["type"] == "error"
    assert refusal["id"] == "s3"
    assert refusal["payload"][0]["extensions"]["code"] == "TOO_MANY_OPERATIONS"
    # The others carry on; completing one makes room.
    await socket.send({"id": "s0", "type": "complete"})
    await socket.subscribe("s4", PRODUCT % 2)
    await socket.send({"id": "s5", "type": "subscribe", "payload": {"query": PRODUCT % 3}})
    assert (await socket.receive())["payload"][0]["extensions"]["code"] == "TOO_MANY_OPERATIONS"
    await socket.close()


async def test_a_long_operation_id_still_gets_a_valid_close_frame(gateway: Replica) -> None:
    socket = await initialised(gateway)
    operation_id = "x" * 500
    await socket.subscribe(operation_id, PRODUCT % 1)
    closed = await closed_by(
        socket, {"id": operation_id, "type": "subscribe", "payload": {"query": PRODUCT % 1}}
    )
    assert closed.code == 4409
    assert len(closed.reason.encode()) <= 123

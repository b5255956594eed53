"""Subscriptions over graphql-transport-ws, fed by committed writes through Redis pub/sub:
across replicas, own orders only, and in-process without Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp, Message

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import Actor, Actors, run_sql

pytestmark = pytest.mark.anyio

PRODUCT = 'subscription { productChanged(id: "%s") { id name stock } }'
ORDER = 'subscription { orderStatusChanged(id: "%s") { id status customer { id } } }'


class Closed(Exception):
    """The server closed the socket."""

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(code, reason)


class Socket:
    """A graphql-transport-ws client talking ASGI to the app in-process, with timeouts."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.subprotocol: str | None = None

    async def connect(self, protocols: tuple[str, ...] = ("graphql-transport-ws",)) -> None:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "subprotocols": list(protocols),
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self._task = asyncio.ensure_future(self._app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "websocket.connect"})
        message = await self._raw()
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000), message.get("reason", ""))
        assert message["type"] == "websocket.accept"
        self.subprotocol = message.get("subprotocol")

    async def init(self, actor: Actor | None = None) -> None:
        payload = {"Authorization": f"Bearer {actor.token}"} if actor else {}
        await self.send({"type": "connection_init", "payload": payload})
        assert await self.receive() == {"type": "connection_ack"}

    async def subscribe(self, operation_id: str, query: str) -> None:
        """Subscribe, then ping: the pong proves the subscription is listening."""
        await self.send({"id": operation_id, "type": "subscribe", "payload": {"query": query}})
        await self.send({"type": "ping"})
        assert await self.receive() == {"type": "pong"}

    async def send(self, data: Any) -> None:
        await self.send_text(json.dumps(data))

    async def send_text(self, text: str) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        message = await self._raw(timeout)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000), message.get("reason", ""))
        result: dict[str, Any] = json.loads(message["text"])
        return result

    async def close(self) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        if self._task is not None:
            await asyncio.wait_for(self._task, 5)

    async def _raw(self, timeout: float = 5.0) -> Message:
        return await asyncio.wait_for(self._from_app.get(), timeout)


class Replica:
    """One running app: an HTTP client and sockets on the same ASGI app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    @asynccontextmanager
    async def socket(self, actor: Actor | None = None) -> AsyncIterator[Socket]:
        socket = Socket(self.app)
        await socket.connect()
        assert socket.subprotocol == "graphql-transport-ws"
        try:
            await socket.init(actor)
            yield socket
        finally:
            await socket.close()


@asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[Replica]:
    async with LifespanManager(create_app(settings)) as manager:
        running = Replica(manager.app)
        try:
            yield running
        finally:
            await running.http.aclose()


@pytest.fixture(scope="module")
def catalogue(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, price, stock, category_id)
        SELECT 'L-' || n, 'Lamp ' || n, 10, 50, 1 FROM generate_series(1, 5) n;
        """,
    )
    return database_url


@pytest.fixture
async def gateway(catalogue: str, settings: Settings) -> AsyncIterator[Replica]:
    async with replica(settings) as running:
        yield running


async def place_order(http: httpx.AsyncClient, customer: Actor) -> int:
    response = await http.post(
        "/api/v1/orders",
        json={"items": [{"product_id": 1, "quantity": 1}]},
        headers=customer.headers,
    )
    assert response.status_code == 201, response.text
    order_id: int = response.json()["data"]["id"]
    return order_id


async def test_a_rest_write_on_one_replica_reaches_a_subscriber_on_another(
    gateway: Replica, settings: Settings, actors: Actors
) -> None:
    admin = await actors.admin()
    async with replica(settings) as other, gateway.socket() as socket:
        await socket.subscribe("p", PRODUCT % 2)
        renamed = await other.http.patch(
            "/api/v1/products/2", json={"name": "Desk lamp"}, headers=admin.headers
        )
        assert renamed.status_code == 200
        event = await socket.receive()
        assert event == {
            "id": "p",
            "type": "next",
            "payload": {"data": {"productChanged": {"id": "2", "name": "Desk lamp", "stock": 50}}},
        }


async def test_an_order_takes_stock_and_the_product_subscriber_hears_it(
    gateway: Replica, actors: Actors
) -> None:
    customer = await actors.customer()
    async with gateway.socket() as socket:
        await socket.subscribe("p", PRODUCT % 1)
        await place_order(gateway.http, customer)
        event = await socket.receive()
        assert event["payload"]["data"]["productChanged"]["stock"] < 50


async def test_order_status_for_its_owner_and_admins_only(gateway: Replica, actors: Actors) -> None:
    owner, stranger, admin = await actors.customer(), await actors.customer(), await actors.admin()
    order_id = await place_order(gateway.http, owner)
    async with gateway.socket(owner) as mine, gateway.socket(admin) as watcher:
        await mine.subscribe("o", ORDER % order_id)
        await watcher.subscribe("o", ORDER % order_id)
        paid = await gateway.http.patch(
            f"/api/v1/orders/{order_id}", json={"status": "paid"}, headers=admin.headers
        )
        assert paid.status_code == 200, paid.text
        for socket in (mine, watcher):
            event = await socket.receive()
            assert event["payload"]["data"]["orderStatusChanged"] == {
                "id": str(order_id),
                "status": "PAID",
                "customer": {"id": str(owner.user_id)},
            }

    refusals = []
    async with gateway.socket(stranger) as socket:
        for operation_id, target in (("theirs", order_id), ("missing", 999_999)):
            await socket.send(
                {"id": operation_id, "type": "subscribe", "payload": {"query": ORDER % target}}
            )
            refusals.append(await socket.receive())
    for refusal, operation_id in zip(refusals, ("theirs", "missing"), strict=True):
        assert refusal["type"] == "error"
        assert refusal["id"] == operation_id
        (error,) = refusal["payload"]
        assert error["extensions"]["code"] == "NOT_FOUND"
    # Another customer's order answers exactly like a missing one, ids aside.
    messages = [r["payload"][0]["message"] for r in refusals]
    assert messages == [f"Order {order_id} does not exist.", "Order 999999 does not exist."]


async def test_anonymous_order_subscription_is_unauthenticated(gateway: Replica) -> None:
    async with gateway.socket() as socket:
        await socket.send({"id": "o", "type": "subscribe", "payload": {"query": ORDER % 1}})
        refusal = await socket.receive()
        assert refusal["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_bad_token_closes_the_socket(gateway: Replica) -> None:
    socket = Socket(gateway.app)
    await socket.connect()
    await socket.send({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
    with pytest.raises(Closed) as closed:
        await socket.receive()
    assert closed.value.code == 4403
    await socket.close()


async def test_a_deleted_product_ends_its_subscription(gateway: Replica, actors: Actors) -> None:
    admin = await actors.admin()
    async with gateway.socket() as socket:
        await socket.subscribe("p", PRODUCT % 5)
        deleted = await gateway.http.delete("/api/v1/products/5", headers=admin.headers)
        assert deleted.status_code == 204
        event = await socket.receive()
        assert event["payload"]["data"] is None
        assert event["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert await socket.receive() == {"id": "p", "type": "complete"}
    async with gateway.socket() as socket:
        await socket.send({"id": "q", "type": "subscribe", "payload": {"query": PRODUCT % 5}})
        assert (await socket.receive())["payload"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_completing_a_subscription_unsubscribes_from_redis(
    gateway: Replica, settings: Settings
) -> None:
    channel = f"{settings.cache_prefix}:events:product:3"
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        async with gateway.socket() as socket:
            await socket.subscribe("p", PRODUCT % 3)
            assert await client.pubsub_numsub(channel) == [(channel.encode(), 1)]
            await socket.send({"id": "p", "type": "complete"})
            await socket.send({"type": "ping"})
            assert await socket.receive() == {"type": "pong"}
        for _ in range(50):
            if await client.pubsub_numsub(channel) == [(channel.encode(), 0)]:
                break
            await asyncio.sleep(0.02)
        assert await client.pubsub_numsub(channel) == [(channel.encode(), 0)]
    finally:
        await client.aclose()


async def test_events_work_in_process_without_redis(
    catalogue: str, settings: Settings, actors: Actors
) -> None:
    admin = await actors.admin()
    async with replica(replace(settings, redis_url=None)) as alone, alone.socket() as socket:
        await socket.subscribe("p", PRODUCT % 4)
        renamed = await alone.http.patch(
            "/api/v1/products/4", json={"stock": 7}, headers=admin.headers
        )
        assert renamed.status_code == 200
        event = await socket.receive()
        assert event["payload"]["data"]["productChanged"]["stock"] == 7


async def test_queries_over_the_socket_meet_the_same_limits(gateway: Replica) -> None:
    async with gateway.socket() as socket:
        await socket.send(
            {"id": "q", "type": "subscribe", "payload": {"query": '{ product(id: "1") { name } }'}}
        )
        assert (await socket.receive())["payload"] == {"data": {"product": {"name": "Lamp 1"}}}
        assert await socket.receive() == {"id": "q", "type": "complete"}
        deep = "{ products { edges { node { category { parent { parent { parent { parent { parent { parent { parent { name } } } } } } } } } } } }"
        await socket.send({"id": "d", "type": "subscribe", "payload": {"query": deep}})
        refusal = await socket.receive()
        assert refusal["type"] == "error"
        assert refusal["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"

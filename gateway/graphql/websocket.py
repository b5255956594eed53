"""GraphQL over WebSocket at /graphql: the graphql-transport-ws protocol.

Ariadne's handler speaks the protocol (ack, ping/pong, complete, the init timeout, one
task per operation). This subclass adds what the protocol (enisdenjo/graphql-ws's
PROTOCOL.md) and a public endpoint need:

- a socket that did not offer `graphql-transport-ws` is accepted and closed at once with
  4406 "Subprotocol not acceptable", as graphql-ws servers do (a refused handshake would
  carry no reason);
- every message is checked before it is acted on, as graphql-ws's `validateMessage`
  checks: invalid JSON, an unknown type, a subscribe without a string id, a payload or a
  string query (a persisted query's hash may stand in for it), a complete without an id,
  a connection_init whose payload is not an object: each closes with 4400 and a reason;
- a message longer than the HTTP body cap closes with 1009 (RFC 6455's "message too
  big", which graphql-ws clients treat as fatal rather than reconnecting to resend it);
- `connection_init` authenticates its payload (`{"Authorization": "Bearer <token>"}`; a
  bad token closes with 4403), and when that token expires the socket closes with 4403,
  so a subscription never outlives its credentials (graphql-ws clients then reconnect
  with fresh connection params);
- at most `max_operations` run at once per connection; one more is refused with an
  `error` message for its id (TOO_MANY_OPERATIONS) and the others carry on;
- every `subscribe` goes through the same engine as HTTP: persisted queries, cached
  validation, every limit and the rate limit. Each operation gets its own context,
  closed when the operation ends, which stops its event listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta
from typing import Any, cast

import orjson
from ariadne.asgi.handlers import GraphQLTransportWSHandler
from ariadne.asgi.handlers.graphql_transport_ws import ClientContext
from ariadne.types import Operation
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway import telemetry, tokens
from gateway.errors import GatewayError, RateLimited, Unauthenticated
from gateway.graphql.context import Context
from gateway.graphql.errors import TooManyOperations, format_error
from gateway.graphql.execution import Engine, Rejected
from gateway.http.identity import identity_of
from gateway.principal import ANONYMOUS, Principal
from gateway.services import caching, sessions
from gateway.services.resources import Resources

PROTOCOL = "graphql-transport-ws"
_CONTEXTS = "gateway.graphql.contexts"  # scope key: this connection's operation contexts
_MAX_REASON = 123  # bytes a close frame's reason may hold (RFC 6455 §5.5)

# Errors are formatted (and unexpected ones logged with the request id) by format_error;
# Ariadne's own logging of every error, expected ones included, stays quiet.
_ENGINE_LOG = logging.getLogger("gateway.graphql.engine")
_ENGINE_LOG.setLevel(logging.CRITICAL)


class _Client(ClientContext):
    """Ariadne's per-connection state, plus the timer that ends it when its token expires."""

    expiry: asyncio.Task[None] | None = None


class TransportWSHandler(GraphQLTransportWSHandler):
    """graphql-transport-ws for the gateway's engine."""

    def __init__(
        self,
        engine: Engine,
        *,
        init_timeout: float = 10.0,
        max_message_bytes: int = 1024 * 1024,
        max_operations: int = 100,
    ) -> None:
        super().__init__(connection_init_wait_timeout=timedelta(seconds=init_timeout))
        self.engine = engine
        self.max_message_bytes = max_message_bytes
        self.max_operations = max_operations
        self.error_formatter = format_error
        self.logger = _ENGINE_LOG

    async def endpoint(self, websocket: WebSocket) -> None:
        """The Starlette WebSocketRoute endpoint."""
        await self.handle_websocket(websocket)

    async def handle_websocket(self, websocket: WebSocket) -> None:
        if PROTOCOL not in websocket.scope.get("subprotocols", ()):
            await websocket.accept()
            await _close(websocket, 4406, "Subprotocol not acceptable")
            return
        # One request id per connection: error extensions and logs carry it.
        telemetry.begin(uuid.uuid4().hex)
        websocket.scope[_CONTEXTS] = {}
        await websocket.accept(PROTOCOL)
        client = _Client()
        client.connection_init_timeout_task = asyncio.create_task(
            self.handle_connection_init_timeout(websocket, client)
        )
        try:
            while _open(websocket):
                message, problem = await self._read(websocket)
                if problem is not None:
                    await _close(websocket, *problem)
                    break
                await self.handle_websocket_message(websocket, message, client)
        except WebSocketDisconnect:
            pass
        finally:
            client.connection_init_timeout_task.cancel()
            if client.expiry is not None:
                client.expiry.cancel()
            for operation_id in list(client.operations):
                await self.stop_websocket_operation(websocket, operation_id, client)

    async def _read(self, websocket: WebSocket) -> tuple[dict[str, Any], tuple[int, str] | None]:
        """The next message, or the close code and reason it earns."""
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(received.get("code", 1000))
        raw: str | bytes = received.get("text") or received.get("bytes") or b""
        limit = self.max_message_bytes
        # A character is at least one byte: the cheap test first, then the exact one.
        if len(raw) > limit or (isinstance(raw, str) and len(raw.encode()) > limit):
            return {}, (1009, f"Message too big: at most {limit} bytes")
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}, (4400, "Invalid message: not JSON")
        problem = _malformed(message)
        return (message, None) if problem is None else ({}, (4400, problem))

    async def handle_websocket_connection_init_message(
        self, websocket: WebSocket, message: dict[str, Any], client_context: ClientContext
    ) -> None:
        if client_context.connection_init_received:
            await _close(websocket, 4429, "Too many initialisation requests")
            return
        client_context.connection_init_received = True
        resources: Resources = websocket.state.resources
        try:
            principal, token = await _authenticate(resources, message.get("payload"))
        except Unauthenticated:
            await _close(websocket, 4403, "Forbidden")
            return
        except GatewayError:
            # The session check could not reach the database: not the client's fault.
            await websocket.close(code=1011, reason="Try again later")
            return
        websocket.scope["principal"] = principal
        if token is not None:
            assert isinstance(client_context, _Client)
            client_context.expiry = asyncio.create_task(
                _close_at(websocket, tokens.expires_at(token))
            )
        await websocket.send_json({"type": self.GQL_CONNECTION_ACK})
        client_context.connection_acknowledged = True

    async def handle_websocket_subscribe(
        self, websocket: WebSocket, data: Any, operation_id: str, client_context: ClientContext
    ) -> None:
        if not client_context.connection_acknowledged:
            await _close(websocket, 4401, "Unauthorized")
            return
        if operation_id in client_context.operations:
            await _close(websocket, 4409, f"Subscriber for {operation_id} already exists")
            return
        if len(client_context.operations) >= self.max_operations:
            refused = TooManyOperations(
                f"This connection already runs {self.max_operations} operations, the most "
                "it may: complete one first."
            )
            await self._error(websocket, operation_id, [_formatted(refused)])
            return
        context = Context(websocket.state.resources, _principal(websocket))
        started = await self._start(websocket, context, data)
        if isinstance(started, list):
            await context.close()
            await self._error(websocket, operation_id, started)
            return
        websocket.scope[_CONTEXTS][operation_id] = context
        generator = cast(AsyncGenerator[Any, None], started)
        client_context.operations[operation_id] = Operation(
            id=operation_id, name=data.get("operationName"), generator=generator
        )
        client_context.operation_tasks[operation_id] = asyncio.ensure_future(
            self.observe_async_results(websocket, generator, operation_id, client_context)
        )

    async def stop_websocket_operation(
        self, websocket: WebSocket, operation_id: str, client_context: ClientContext
    ) -> None:
        # Ariadne runs the completion hook before cancelling the operation's task; closing
        # the context there would let the task end on its own and trip over the removal.
        if operation_id not in client_context.operations:
            return
        operation = client_context.operations.pop(operation_id)
        task = client_context.operation_tasks.pop(operation_id)
        task.cancel()
        # A task that was sending when the socket closed under it has nothing left to say.
        with contextlib.suppress(asyncio.CancelledError, RuntimeError, OSError):
            await task
        await operation.generator.aclose()
        await self.handle_on_complete(websocket, operation)

    async def handle_on_complete(self, websocket: WebSocket, operation: Operation) -> None:
        context: Context | None = websocket.scope[_CONTEXTS].pop(operation.id, None)
        if context is not None:
            await context.close()

    async def _error(
        self, websocket: WebSocket, operation_id: str, errors: list[dict[str, Any]]
    ) -> None:
        await websocket.send_json({"type": self.GQL_ERROR, "id": operation_id, "payload": errors})

    async def _start(
        self, websocket: WebSocket, context: Context, data: Any
    ) -> AsyncIterator[Any] | list[dict[str, Any]]:
        """The operation's results, or the formatted errors that refused it."""
        resources = context.resources
        try:
            prepared = await self.engine.prepare(resources, data)
            decision = await resources.limiter.charge(
                identity_of(websocket.scope),
                cost=max(1, len(prepared.operation.root_fields)),
                read_only=prepared.operation.kind != "mutation",
            )
            if not decision.allowed:
                raise RateLimited(decision.reset)
        except Rejected as rejected:
            return list(self.engine.errors_body(rejected.errors)["errors"])
        except GatewayError as error:
            return [_formatted(error)]
        errors = self.engine.check(prepared).errors
        if errors:
            return list(self.engine.errors_body(errors)["errors"])
        if prepared.operation.kind == "subscription":
            stream = await self.engine.subscribe(prepared, context)
            if isinstance(stream, dict):
                return list(stream.get("errors") or [])
            stats = telemetry.current()
            return _counted_per_event(stream, stats.request_id if stats else "")
        result = await self.engine.execute(prepared, context)
        stats = telemetry.current()
        if stats is not None and stats.written:
            # A mutation over the socket: retire what it touched before its answer goes
            # out, as the HTTP pipeline does for a request.
            await caching.invalidate_written(resources, stats)
        return _once(result)


def _malformed(message: Any) -> str | None:
    """Why a client message breaks the protocol, or None when it is well-formed."""
    if not isinstance(message, dict):
        return "Invalid message: expected a JSON object"
    kind = message.get("type")
    if kind in ("connection_init", "ping", "pong"):
        if not isinstance(message.get("payload"), dict | None):
            return f"Invalid message: the {kind} payload must be an object"
        return None
    if kind not in ("subscribe", "complete"):
        return "Invalid message: unknown type"
    operation_id = message.get("id")
    if not isinstance(operation_id, str) or not operation_id:
        return f"Invalid message: {kind} needs a non-empty string id"
    if kind == "complete":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "Invalid message: subscribe needs a payload object"
    query, extensions = payload.get("query"), payload.get("extensions")
    hashed = isinstance(extensions, dict) and isinstance(extensions.get("persistedQuery"), dict)
    if not isinstance(query, str) and not (query is None and hashed):
        return "Invalid message: subscribe needs a string query"
    if not isinstance(payload.get("operationName"), str | None):
        return "Invalid message: operationName must be a string"
    for name in ("variables", "extensions"):
        if not isinstance(payload.get(name), dict | None):
            return f"Invalid message: {name} must be an object"
    return None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if _open(websocket):
        encoded = reason.encode()[:_MAX_REASON].decode(errors="ignore")
        await websocket.close(code=code, reason=encoded)


async def _close_at(websocket: WebSocket, expires: float) -> None:
    """Close the socket with 4403 when the token that authenticated it expires."""
    await asyncio.sleep(max(0.0, expires - time.time()))
    await _close(websocket, 4403, "Forbidden: the access token expired")


async def _once(result: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    yield result


async def _counted_per_event(
    stream: AsyncIterator[dict[str, Any]], request_id: str
) -> AsyncIterator[dict[str, Any]]:
    """Each event gets fresh counters, so a long subscription never piles them up."""
    try:
        while True:
            telemetry.begin(request_id)
            try:
                result = await anext(stream)
            except StopAsyncIteration:
                return
            yield result
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _formatted(error: GatewayError) -> dict[str, Any]:
    stats = telemetry.current()
    extensions = {"code": error.code, "request_id": stats.request_id if stats else None}
    return {"message": error.detail, "extensions": extensions}


def _open(websocket: WebSocket) -> bool:
    return WebSocketState.DISCONNECTED not in (websocket.client_state, websocket.application_state)


def _principal(websocket: WebSocket) -> Principal:
    found = websocket.scope.get("principal", ANONYMOUS)
    assert isinstance(found, Principal)
    return found


async def _authenticate(resources: Resources, payload: Any) -> tuple[Principal, str | None]:
    """The principal a connection_init payload names (anonymous without Authorization), and
    the token that named it; the session is checked as for any request."""
    if payload is None:
        return ANONYMOUS, None
    if not isinstance(payload, dict):
        raise Unauthenticated(tokens.INVALID)
    header = payload.get("Authorization", payload.get("authorization"))
    if header is None:
        return ANONYMOUS, None
    if not isinstance(header, str):
        raise Unauthenticated(tokens.INVALID)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(tokens.INVALID)
    return await sessions.authenticate(resources, token.strip()), token.strip()

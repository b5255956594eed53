"""GraphQL over WebSocket at /graphql: the graphql-transport-ws protocol.

Ariadne's handler speaks the protocol (ack, ping/pong, complete, the init timeout, one
task per operation). This subclass authenticates the `connection_init` payload
(`{"Authorization": "Bearer <token>"}`; a bad token closes with 4403), refuses malformed
frames with 4400, and sends every `subscribe` through the same engine as HTTP: persisted
queries, cached validation, every limit and the rate limit. Each operation gets its own
context, closed when the operation ends, which stops its event listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta
from typing import Any, cast

from ariadne.asgi.handlers import GraphQLTransportWSHandler
from ariadne.asgi.handlers.graphql_transport_ws import ClientContext
from ariadne.types import Operation
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway import telemetry
from gateway.errors import GatewayError, RateLimited, Unauthenticated
from gateway.graphql.context import Context
from gateway.graphql.errors import format_error
from gateway.graphql.execution import Engine, Rejected, errors_body
from gateway.middleware.authentication import identity_of
from gateway.principal import ANONYMOUS, Principal
from gateway.services import sessions
from gateway.tokens import INVALID
from gateway.types import Resources

PROTOCOL = "graphql-transport-ws"
_CONTEXTS = "gateway.graphql.contexts"  # scope key: this connection's operation contexts

# Errors are formatted (and unexpected ones logged with the request id) by format_error;
# Ariadne's own logging of every error, expected ones included, stays quiet.
_ENGINE_LOG = logging.getLogger("gateway.graphql.engine")
_ENGINE_LOG.setLevel(logging.CRITICAL)


class TransportWSHandler(GraphQLTransportWSHandler):
    """graphql-transport-ws for the gateway's engine."""

    def __init__(self, engine: Engine, *, init_timeout: float = 10.0) -> None:
        super().__init__(connection_init_wait_timeout=timedelta(seconds=init_timeout))
        self.engine = engine
        self.error_formatter = format_error
        self.logger = _ENGINE_LOG

    async def endpoint(self, websocket: WebSocket) -> None:
        """The Starlette WebSocketRoute endpoint."""
        await self.handle_websocket(websocket)

    async def handle_websocket(self, websocket: WebSocket) -> None:
        if PROTOCOL not in websocket.scope.get("subprotocols", ()):
            await websocket.close(code=4406, reason=f"Subprotocol {PROTOCOL} required")
            return
        # One request id per connection: error extensions and logs carry it.
        telemetry.begin(uuid.uuid4().hex)
        websocket.scope[_CONTEXTS] = {}
        await websocket.accept(PROTOCOL)
        client = ClientContext()
        client.connection_init_timeout_task = asyncio.create_task(
            self.handle_connection_init_timeout(websocket, client)
        )
        try:
            while _open(websocket):
                try:
                    message = await websocket.receive_json()
                except (ValueError, KeyError, TypeError):
                    message = None
                if not isinstance(message, dict):
                    await websocket.close(code=4400, reason="Invalid message")
                    break
                await self.handle_websocket_message(websocket, message, client)
        except WebSocketDisconnect:
            pass
        finally:
            client.connection_init_timeout_task.cancel()
            for operation_id in list(client.operations):
                await self.stop_websocket_operation(websocket, operation_id, client)

    async def handle_websocket_connection_init_message(
        self, websocket: WebSocket, message: dict[str, Any], client_context: ClientContext
    ) -> None:
        if client_context.connection_init_received:
            await websocket.close(code=4429, reason="Too many initialisation requests")
            return
        client_context.connection_init_received = True
        resources: Resources = websocket.state.resources
        try:
            websocket.scope["principal"] = await _authenticate(resources, message.get("payload"))
        except Unauthenticated:
            await websocket.close(code=4403, reason="Forbidden")
            return
        except GatewayError:
            # The session check could not reach the database: not the client's fault.
            await websocket.close(code=1011, reason="Try again later")
            return
        await websocket.send_json({"type": self.GQL_CONNECTION_ACK})
        client_context.connection_acknowledged = True

    async def handle_websocket_subscribe(
        self, websocket: WebSocket, data: Any, operation_id: str, client_context: ClientContext
    ) -> None:
        if not client_context.connection_acknowledged:
            await websocket.close(code=4401, reason="Unauthorized")
            return
        if not isinstance(operation_id, str) or operation_id in client_context.operations:
            await websocket.close(code=4409, reason=f"Subscriber for {operation_id} already exists")
            return
        context = Context(websocket.state.resources, _principal(websocket))
        started = await self._start(websocket, context, data)
        if isinstance(started, list):
            await context.close()
            await websocket.send_json(
                {"type": self.GQL_ERROR, "id": operation_id, "payload": started}
            )
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
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await operation.generator.aclose()
        await self.handle_on_complete(websocket, operation)

    async def handle_on_complete(self, websocket: WebSocket, operation: Operation) -> None:
        context: Context | None = websocket.scope[_CONTEXTS].pop(operation.id, None)
        if context is not None:
            await context.close()

    async def _start(
        self, websocket: WebSocket, context: Context, data: Any
    ) -> AsyncIterator[Any] | list[dict[str, Any]]:
        """The operation's results, or the formatted errors that refused it."""
        resources = context.resources
        try:
            prepared = await self.engine.prepare(resources.cache, data)
            decision = await resources.limiter.charge(
                identity_of(websocket.scope),
                cost=max(1, len(prepared.operation.root_fields)),
                read_only=prepared.operation.kind != "mutation",
            )
            if not decision.allowed:
                raise RateLimited(decision.reset)
        except Rejected as rejected:
            return list(errors_body(rejected.errors)["errors"])
        except GatewayError as error:
            stats = telemetry.current()
            extensions = {"code": error.code, "request_id": stats.request_id if stats else None}
            return [{"message": error.detail, "extensions": extensions}]
        errors = self.engine.check(prepared)
        if errors:
            return list(errors_body(errors)["errors"])
        if prepared.operation.kind == "subscription":
            stream = await self.engine.subscribe(prepared, context)
            if isinstance(stream, dict):
                return list(stream.get("errors") or [])
            stats = telemetry.current()
            return _counted_per_event(stream, stats.request_id if stats else "")
        return _once(await self.engine.execute(prepared, context))


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


def _open(websocket: WebSocket) -> bool:
    return WebSocketState.DISCONNECTED not in (websocket.client_state, websocket.application_state)


def _principal(websocket: WebSocket) -> Principal:
    found = websocket.scope.get("principal", ANONYMOUS)
    assert isinstance(found, Principal)
    return found


async def _authenticate(resources: Resources, payload: Any) -> Principal:
    """The principal a connection_init payload names: anonymous without Authorization."""
    if payload is None:
        return ANONYMOUS
    if not isinstance(payload, dict):
        raise Unauthenticated(INVALID)
    header = payload.get("Authorization", payload.get("authorization"))
    if header is None:
        return ANONYMOUS
    if not isinstance(header, str):
        raise Unauthenticated(INVALID)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(INVALID)
    return await sessions.authenticate(resources, token.strip())

"""The floor: a bare ASGI app answering every request with one constant JSON body.

Served by the same uvicorn stack as the gateway (uvloop, httptools, same workers), it
shows what the server and the load generator cost on their own, so the gateway's
figures can be read as a share of it. The body is as long as the REST product detail's
(FLOOR_BODY_BYTES), so both move the same bytes. With FLOOR_FRAMEWORK=starlette the same
body comes from one Starlette route instead (`floor.starlette`): the framework's own
share, before any middleware or backend.

    FLOOR_BODY_BYTES=520 uvicorn bench.floor:app_from_env --factory --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_BYTES = 512


def constant_body(size: int) -> bytes:
    """A JSON object of exactly `size` bytes (at least the 24 the wrapper needs)."""
    wrapper = orjson.dumps({"data": {"padding": ""}})
    padding = "x" * max(0, size - len(wrapper))
    return orjson.dumps({"data": {"padding": padding}})


def make_app(size: int) -> ASGIApp:
    """The floor app for a body of `size` bytes."""
    body = constant_body(size)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    payload = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await send(start)
        await send(payload)

    return app


def make_starlette_app(size: int) -> ASGIApp:
    """The same constant body from a Starlette route (any path), with no middleware."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = constant_body(size)

    async def constant(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", constant)])


def app_from_env() -> ASGIApp:
    """The uvicorn factory: the body size comes from FLOOR_BODY_BYTES, the framework from
    FLOOR_FRAMEWORK (`asgi`, the default, or `starlette`)."""
    size = int(os.environ.get("FLOOR_BODY_BYTES", DEFAULT_BYTES))
    if os.environ.get("FLOOR_FRAMEWORK", "asgi") == "starlette":
        return make_starlette_app(size)
    return make_app(size)

"""The request pipeline: everything between uvicorn and the router, in one pass.

Over 400 lines: every stage in one pass, so their order reads in one place.

One pure-ASGI layer runs every stage of a request in order, and wraps `send` once:

    request  ─► request id and counters ─► host allow-list ─► CORS preflight
             ─► body limit ─► compare seal ─► authentication ─► rate limit
             ─► read-your-writes ─► idempotency ─► (router, handler)
    response ◄─ conditional request (ETag, 304/412, Cache-Control) ◄─ compression
             ◄─ rate-limit, CORS, nosniff and cost headers ◄─ (handler's answer)
    after    ─► access log and metrics, compare traces, read-your-writes mark

A stage that has nothing to do for a request costs a test or two: no Authorization
header, no authentication; a GET, no body limit; no origins configured, no CORS. Every
answer, refusals and masked 500s included, carries the request id, the SQL statements
it ran and what the cache did. The stages' own rules live in their modules (this
package's, `gateway.etags`, `gateway.idempotency`, `gateway.ratelimit`); this module
only orders them.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import telemetry
from gateway.errors import (
    GatewayError,
    InternalError,
    InvalidParameter,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    Unauthenticated,
)
from gateway.http import compression, etags
from gateway.http.cors import ALLOW_HEADERS, EXPOSE_HEADERS, MAX_AGE, allowed_methods
from gateway.http.hosts import HostList
from gateway.http.identity import CHARGE_HEADER, COMPARE_HEADER, identity_of
from gateway.http.observability import record
from gateway.http.responses import problem_response, refusal
from gateway.principal import ANONYMOUS
from gateway.services import caching, sessions, traces
from gateway.services.idempotency import HEADER as IDEMPOTENCY_HEADER
from gateway.services.idempotency import IdempotencyStore, Stored, client_key, fingerprint, run_once
from gateway.services.ratelimit import Decision
from gateway.services.resources import Resources
from gateway.settings import Settings
from gateway.tokens import INVALID

access_log = logging.getLogger("gateway.access")
error_log = logging.getLogger("gateway.errors")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PRIVATE = "private, no-store"
API = "/api/"
CONDITIONAL = ("/api/", "/openapi.json")
"""Paths whose GET answers get an ETag, Cache-Control and conditional requests."""


class _TooLarge(Exception):
    pass


class _RequestIds:
    """Request ids as uuid4().hex looks (32 hex digits), for a fraction of its cost: 64
    random bits per process, then a counter. Unique across processes and restarts (the
    random half), never reused within one (the counter); not secret, and not meant to be."""

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._count = itertools.count()

    def __call__(self) -> str:
        if self._pid != os.getpid():  # a forked worker must not repeat its parent's ids
            self._pid = os.getpid()
            self._prefix = secrets.token_hex(8)
            self._count = itertools.count()
        return f"{self._prefix}{next(self._count) & 0xFFFFFFFFFFFFFFFF:016x}"


_new_request_id = _RequestIds()


class Pipeline:
    """The gateway's one middleware: every stage of a request, in order."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        routes: Sequence[BaseRoute],
        exempt: Sequence[str] = ("/metrics",),
    ) -> None:
        self.app = app
        self.routes = routes
        self.exempt = frozenset(exempt)
        self.max_bytes = settings.max_body_bytes
        self.min_compressed = settings.compression_min_bytes
        self.hosts = HostList(settings.allowed_hosts)
        origins = settings.cors_allow_origins
        self.any_origin = "*" in origins
        self.origins = frozenset(origin.lower() for origin in origins)
        self.exposed = ", ".join(EXPOSE_HEADERS)
        self.public = "public, max-age=30"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
            return
        if kind == "websocket" and not self.hosts.allows_scope(scope):
            # Closing before accepting refuses the handshake (the server answers 403).
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        incoming = headers.get("x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else _new_request_id()
        stats = telemetry.begin(request_id)
        exchange = _Exchange(self, scope, headers, stats, send)
        resources: Resources | None = scope.get("state", {}).get("resources")
        try:
            early = await self._before(exchange, resources)
            if early is not None:
                await early(scope, receive, exchange.respond)
            else:
                await self._route(exchange, resources, receive)
        except ClientDisconnect:
            # The client left before its request had arrived: there is no one to answer,
            # and nothing failed here. Logged and counted as 499, as nginx does.
            exchange.status = 499
        except Exception:
            error_log.exception("unhandled error", extra={"request_id": request_id})
            if exchange.started:
                raise
            await problem_response(InternalError())(scope, receive, exchange.respond)
        finally:
            await self._after(exchange, resources)

    # -- request stages ------------------------------------------------------------------

    async def _before(self, x: _Exchange, resources: Resources | None) -> Any:
        """The stages before the router; an answer (an ASGI app) when one refuses."""
        scope, headers = x.scope, x.headers
        origin = headers.get("origin")
        if self.origins and origin is not None:
            x.origin_allowed = self.any_origin or origin.lower() in self.origins
            x.origin = origin
        if not self.hosts.any and not self.hosts.allows(headers.get("host")):
            return problem_response(
                InvalidParameter("Host", "this server does not serve that host name")
            )
        if (
            x.origin_allowed
            and origin is not None
            and scope["method"] == "OPTIONS"
            and "access-control-request-method" in headers
        ):
            methods = allowed_methods(self.routes, scope)
            if methods is not None:
                return self._preflight(origin, methods)
        if scope["method"] in _WITH_BODY:
            declared = headers.get("content-length")
            if declared is not None:
                try:
                    length = int(declared)
                except ValueError:
                    length = self.max_bytes + 1
                if length > self.max_bytes:
                    return refusal(scope, self._too_large())
            x.counting = True
        if resources is None:
            scope["principal"] = ANONYMOUS
            return None
        seal = headers.get(COMPARE_HEADER.decode())
        if seal is not None:
            mode = resources.tokens.compare_mode(seal)
            if mode is not None:
                x.stats.cold = mode == "cold"
                x.stats.trace = []
        charge = headers.get(CHARGE_HEADER.decode())
        if charge is not None:
            identity = resources.tokens.charge_identity(charge)
            if identity is not None:
                scope["charge_to"] = identity
        authorization = headers.get("authorization")
        if authorization is None or scope["path"] in self.exempt:
            scope["principal"] = ANONYMOUS
        else:
            scheme, _, token = authorization.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise Unauthenticated(INVALID)
                scope["principal"] = await sessions.authenticate(resources, token.strip())
            except GatewayError as error:
                return refusal(scope, error)
        path = scope["path"]
        if path.startswith(API):
            decision = await resources.limiter.charge(
                identity_of(scope), read_only=scope["method"] in _READS
            )
            if not decision.allowed:
                refused = problem_response(RateLimited(decision.reset))
                refused.headers.update(decision.headers())
                return refused
            x.decision = decision
        user_id = scope["principal"].user_id
        # A caller who wrote a moment ago reads from the primary (not a lagging replica) and
        # not from the answer cache (an entry there may predate the write on a replica).
        if user_id is not None and (resources.db.has_replica or resources.reads.answers.local):
            x.mark = f"{resources.settings.cache_prefix}:rw:{user_id}"
            x.stats.recent_writer = await caching.wrote_recently(resources.cache, x.mark)
        return None

    async def _route(self, x: _Exchange, resources: Resources | None, receive: Receive) -> None:
        scope = x.scope
        if x.counting:
            receive = x.counted(receive)
        if (
            resources is not None
            and scope["method"] == "POST"
            and scope["path"].startswith(API)
            and IDEMPOTENCY_HEADER in x.headers
        ):
            await self._once(x, resources, receive)
            return
        if scope["method"] in ("GET", "HEAD") and scope["path"].startswith(CONDITIONAL):
            x.conditional = True
            x.policy = PRIVATE if "authorization" in x.headers else self.public
        try:
            await self.app(scope, receive, x.respond)
        except _TooLarge:
            if x.started:
                raise
            await refusal(scope, self._too_large())(scope, receive, x.respond)

    async def _once(self, x: _Exchange, resources: Resources, receive: Receive) -> None:
        """A POST with an Idempotency-Key: run once, replay to retries (gateway.idempotency)."""
        scope = x.scope
        try:
            given = client_key(x.keys(IDEMPOTENCY_HEADER))
        except GatewayError as error:
            await problem_response(error)(scope, receive, x.respond)
            return
        try:
            body = await _read_body(receive)
        except _TooLarge:
            await refusal(scope, self._too_large())(scope, receive, x.respond)
            return
        content_type = x.headers.get("content-type", "").encode("latin-1")
        store = IdempotencyStore(resources.cache, resources.settings.cache_prefix)
        key = store.key(identity_of(scope), "POST", scope["path"], given)
        digest = fingerprint("POST", scope["path"], scope["query_string"], content_type, body)

        async def run() -> tuple[Stored, bool]:
            stored = await _capture(self.app, scope, _replaying(body, receive), digest)
            return stored, stored.status < 500

        try:
            outcome = await run_once(store, key, digest, run)
        except GatewayError as error:
            await problem_response(error)(scope, receive, x.respond)
            return
        extra = [(b"idempotent-replayed", b"true")] if outcome.replayed else []
        if outcome.bypassed:
            extra.append((b"x-idempotency", b"BYPASS"))
        stored = outcome.response
        start = {
            "type": "http.response.start",
            "status": stored.status,
            "headers": [*stored.headers, *extra],
        }
        await x.respond(start)
        await x.respond({"type": "http.response.body", "body": stored.body})

    async def _after(self, x: _Exchange, resources: Resources | None) -> None:
        """Once the answer is out: the access log and metrics, compare traces."""
        scope, stats = x.scope, x.stats
        duration = time.perf_counter() - x.began
        if resources is not None:
            record(scope, stats, x.status, duration)
            if stats.trace is not None:
                await traces.keep(resources, stats)
        if access_log.isEnabledFor(logging.INFO):
            route = scope.get("route")
            access_log.info(
                "request",
                extra={
                    "request_id": stats.request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    # The peer, or the client a trusted proxy named (FORWARDED_ALLOW_IPS).
                    "client": (scope.get("client") or (None,))[0],
                    "route": getattr(route, "path", None),
                    "operation": stats.operation,
                    "status": x.status,
                    "duration_ms": round(duration * 1000, 2),
                    "queries": stats.queries,
                    "cache": stats.cache_outcome,
                },
            )

    def _preflight(self, origin: str, methods: set[str]) -> Response:
        headers = {
            "Access-Control-Allow-Origin": "*" if self.any_origin else origin,
            "Access-Control-Allow-Methods": ", ".join(sorted(methods)),
            "Access-Control-Allow-Headers": ", ".join(ALLOW_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE),
        }
        if not self.any_origin:
            headers["Vary"] = "Origin"
        return Response(status_code=204, headers=headers)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body may be at most {self.max_bytes} bytes.")


class _Exchange:
    """One request on its way through the pipeline, and its answer on the way back."""

    __slots__ = (
        "began",
        "buffer",
        "coding",
        "compressor",
        "conditional",
        "counting",
        "decision",
        "headers",
        "held",
        "mark",
        "negotiated",
        "origin",
        "origin_allowed",
        "pipeline",
        "policy",
        "scope",
        "send",
        "size",
        "started",
        "stats",
        "status",
    )

    def __init__(
        self,
        pipeline: Pipeline,
        scope: Scope,
        headers: dict[str, str],
        stats: telemetry.RequestStats,
        send: Send,
    ) -> None:
        self.pipeline = pipeline
        self.scope = scope
        self.headers = headers
        self.stats = stats
        self.send = send
        self.began = time.perf_counter()
        self.status = 500
        self.started = False
        self.counting = False
        self.conditional = False
        self.policy = PRIVATE
        self.decision: Decision | None = None
        self.origin: str | None = None
        self.origin_allowed = False
        self.mark: str | None = None
        self.held: Message | None = None
        self.buffer: list[bytes] = []
        self.size = 0
        self.coding: str | None = None
        self.negotiated = False
        self.compressor: compression.Compressor | None = None

    def keys(self, name: str) -> list[str]:
        raw = name.encode("latin-1")
        return [bytes(v).decode("latin-1") for k, v in self.scope["headers"] if k == raw]

    def counted(self, receive: Receive) -> Receive:
        """`receive`, refusing bodies that pass the limit while they arrive (chunked)."""
        received = 0
        limit = self.pipeline.max_bytes

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        return counting

    # -- response ------------------------------------------------------------------------

    async def respond(self, message: Message) -> None:
        """The app's `send`: the response stages, then uvicorn's."""
        kind = message["type"]
        if kind == "http.response.start":
            await self._start(message)
        elif kind == "http.response.body" and self.held is not None:
            await self._hold(message)
        elif kind == "http.response.body" and self.compressor is not None:
            more = message.get("more_body", False)
            data = self.compressor.process(message.get("body", b""))
            if not more:
                data += self.compressor.finish()
            if data or not more:
                await self.send({"type": kind, "body": data, "more_body": more})
        else:
            await self.send(message)

    async def _mark(self, resources: Resources) -> None:
        """Before the write's answer goes out: mark its caller as a recent writer, so that
        its next reads, on any replica, see the write (`_before`)."""
        ttl = resources.settings.read_after_write_seconds
        if self.mark is not None and ttl:
            await caching.mark_writer(resources.cache, self.mark, ttl)

    async def _start(self, message: Message) -> None:
        stats = self.stats
        if stats.written:
            resources = self.scope.get("state", {}).get("resources")
            if resources is not None:
                await caching.invalidate_written(resources, stats)
                await self._mark(resources)
        self.status = message["status"]
        if self.conditional and self.status == 200:
            # The ETag is the hash of the whole body: hold the answer until it is complete.
            self.held = message
            return
        headers = MutableHeaders(scope=message)
        self.coding = self._negotiate(headers)
        self.negotiated = True
        if self.coding is not None:
            # Worth compressing only if it reaches the threshold: hold it until we know.
            self.held = message
            return
        self._finish_headers(headers)
        self.started = True
        await self.send(message)

    def _negotiate(self, headers: MutableHeaders) -> str | None:
        """`Vary: Accept-Encoding` on answers that could be compressed, the client's tag
        on a 304, and the coding this answer may be compressed in (gateway.http.compression)."""
        status = self.status
        if status == 304:
            headers.add_vary_header("Accept-Encoding")
            compression.echo_tag(headers, self.headers.get("if-none-match"))
            return None
        if status < 200 or status in (204, 206) or not compression.compressible(headers):
            return None
        headers.add_vary_header("Accept-Encoding")
        return compression.choose(self.headers.get("accept-encoding"))

    async def _hold(self, message: Message) -> None:
        body = message.get("body", b"")
        self.buffer.append(body)
        self.size += len(body)
        if message.get("more_body", False):
            if self.conditional or self.size < self.pipeline.min_compressed:
                return
            # A streamed body already worth compressing: compress it as it comes.
            await self._stream()
            return
        start, self.held = self.held, None
        assert start is not None
        whole = b"".join(self.buffer)
        self.buffer.clear()
        if self.conditional and not self.negotiated:
            # A read's 200, held before anything was negotiated: its preconditions may
            # replace it (304, 412), then it is negotiated like any answer.
            start, whole = self._preconditions(start, whole) or (start, whole)
            self.status = start["status"]
            self.coding = self._negotiate(MutableHeaders(scope=start))
        await self._send_whole(start, whole)

    def _preconditions(self, start: Message, body: bytes) -> tuple[Message, bytes] | None:
        """ETag and Cache-Control on a read's 200, and its preconditions (RFC 9110 §13.2.2):
        an answer that replaces it (304, 412 or 400) or None."""
        headers = MutableHeaders(scope=start)
        etag = headers.get("etag") or etags.of(body)
        headers["ETag"] = etag
        if "cache-control" not in headers:
            headers["Cache-Control"] = self.policy
        if_match = self.headers.get("if-match")
        if if_match is not None:
            if etags.parse(if_match) is None:
                return _problem(
                    InvalidParameter("If-Match", 'must be "*" or ETags as GET sent them, quoted')
                )
            if not etags.match(if_match, etag):
                return _problem(
                    PreconditionFailed(
                        "If-Match names no current ETag of this resource: it has changed, or "
                        "the tag belongs to another representation."
                    )
                )
        if_none_match = self.headers.get("if-none-match")
        if if_none_match is not None and etags.none_match(if_none_match, etag):
            # 304 keeps the validators and caching headers, and no body (RFC 9110 §15.4.5).
            kept = [
                (name, value)
                for name, value in start["headers"]
                if name.lower() in (b"etag", b"cache-control", b"vary")
            ]
            return {"type": "http.response.start", "status": 304, "headers": kept}, b""
        return None

    async def _send_whole(self, start: Message, body: bytes) -> None:
        headers = MutableHeaders(scope=start)
        if self.coding is not None and len(body) >= self.pipeline.min_compressed:
            compressor = compression.compressor(self.coding)
            body = compressor.process(body) + compressor.finish()
            _encoded(headers, self.coding)
            headers["Content-Length"] = str(len(body))
        self._finish_headers(headers)
        self.started = True
        await self.send(start)
        await self.send({"type": "http.response.body", "body": body})

    async def _stream(self) -> None:
        start, self.held = self.held, None
        assert start is not None
        headers = MutableHeaders(scope=start)
        assert self.coding is not None
        _encoded(headers, self.coding)
        self._finish_headers(headers)
        self.compressor = compression.compressor(self.coding)
        data = self.compressor.process(b"".join(self.buffer))
        self.buffer.clear()
        self.started = True
        await self.send(start)
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    def _finish_headers(self, headers: MutableHeaders) -> None:
        """The headers every answer carries: cost figures, rate limits, CORS, nosniff."""
        stats, pipeline = self.stats, self.pipeline
        headers["X-Request-ID"] = stats.request_id
        headers["X-Query-Count"] = str(stats.queries)
        app_ms = (time.perf_counter() - self.began) * 1000
        outcome = stats.cache_outcome
        if outcome is not None:
            headers["X-Cache"] = outcome
            if outcome == "HIT":
                # Which level answered: this process's own (no round trip), or Redis.
                headers["X-Cache-Level"] = "local" if stats.local_hits else "shared"
            headers["Server-Timing"] = (
                f"db;dur={stats.db_seconds * 1000:.2f}, cache;desc={outcome.lower()}, "
                f"app;dur={app_ms:.2f}"
            )
        else:
            headers["Server-Timing"] = f"db;dur={stats.db_seconds * 1000:.2f}, app;dur={app_ms:.2f}"
        decision = self.decision
        # A refusal by another allowance (sign-in failures) reports that one.
        if decision is not None and decision.enforced and "ratelimit-limit" not in headers:
            headers.update(decision.headers())
        if pipeline.origins:
            if pipeline.any_origin:
                headers["Access-Control-Allow-Origin"] = "*"
                headers["Access-Control-Expose-Headers"] = pipeline.exposed
            else:
                headers.add_vary_header("Origin")
                if self.origin_allowed and self.origin is not None:
                    headers["Access-Control-Allow-Origin"] = self.origin
                    headers["Access-Control-Expose-Headers"] = pipeline.exposed
                    # Lets the page's Resource Timing see Server-Timing too.
                    headers["Timing-Allow-Origin"] = self.origin
        headers["X-Content-Type-Options"] = "nosniff"


def _encoded(headers: MutableHeaders, coding: str) -> None:
    headers["Content-Encoding"] = coding
    if "etag" in headers:
        headers["ETag"] = etags.encoded(headers["etag"], coding)
    # Byte ranges would be ranges of the identity body, which this is not.
    for name in ("content-length", "accept-ranges"):
        if name in headers:
            del headers[name]


def _problem(error: GatewayError) -> tuple[Message, bytes]:
    response = problem_response(error)
    start = {
        "type": "http.response.start",
        "status": response.status_code,
        "headers": response.raw_headers,
    }
    return start, bytes(response.body)


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (the last of a repeated one)."""
    return {bytes(k).decode("latin-1"): bytes(v).decode("latin-1") for k, v in scope["headers"]}


async def _capture(app: ASGIApp, scope: Scope, receive: Receive, digest: str) -> Stored:
    """Run the app and keep what it answered instead of sending it."""
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return Stored(digest, start["status"], list(start["headers"]), b"".join(chunks))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the app, then defers to the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

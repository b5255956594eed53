"""What each stage of the request pipeline costs per request, measured in-process.

`gateway.http.pipeline` runs every stage of a request in one pass. This drives ASGI
calls straight into it (no sockets, no HTTP parsing) on uvloop, with the resources the
lifespan of `create_app` opens on a real PostgreSQL and a real Redis, in front of a
trivial endpoint that answers a constant JSON body of the size of a REST product detail.

A stage's cost is a difference between two requests that differ only in that stage doing
its work: a Bearer token or none (authentication: the token checked, the session state
looked up), `/api/...` or `/openapi.json` (both conditional; only the first is charged
against the rate limit in Redis), a configured allow-list or `*`, and so on (the table in
`STAGES` says which pair measures what). Every variant is run once and checked first (its
status and the headers that prove its stage ran, e.g. `ratelimit-limit`, `etag`,
`content-encoding`), so a stage that silently did nothing cannot be reported. Then each
round times every variant over `n` calls (perf_counter_ns around the whole loop) in a
shuffled order, and a stage's figure is the median over rounds of its per-round
difference, so drift of the machine between rounds cancels out.

    python -m bench.pipeline_stages            # ~1 minute: 15 rounds of 2,000 calls
    python -m bench.pipeline_stages --smoke    # seconds: checks every variant, tiny rounds
    make bench-stages

Runs on DATABASE_URL / REDIS_URL when set (a database of its own, dropped afterwards;
keys under a prefix of its own), else embedded servers, as `python -m bench` does.
A benchmark never fails on a timing: it measures and prints.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import uvloop
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bench.servers import Backends
from gateway import logs
from gateway.app import create_app
from gateway.db import Database, statements
from gateway.db.migrations import migrate
from gateway.http.pipeline import Pipeline
from gateway.services.resources import Resources
from gateway.settings import PROJECT_ROOT, Settings
from gateway.tokens import TokenIssuer

SECRET = "bench-stages-" + "x" * 52
ORIGIN = "https://shop.example"
HOST = "bench.example"
BODY = orjson.dumps(
    {
        "data": {
            "id": 41,
            "sku": "SKU-000041",
            "name": "Ergonomic Granite Lamp 41",
            "description": "A product of the bench scale. " * 28,
            "price": "129.90",
            "stock": 17,
            "category_id": 7,
            "review_count": 12,
            "rating_avg": "4.25",
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
            "version": 3,
        }
    }
)
"""What the trivial endpoint answers: about a REST product detail's size (1.1 KB), so
above the compression threshold."""
POSTED = b'{"product_id": 41, "quantity": 1}' * 6


class Trivial:
    """The endpoint behind every variant: reads the request body, answers BODY."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BODY})


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    path: str = "/bench"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    unique: str | None = None
    """A header whose value must differ per request (an Idempotency-Key)."""


@dataclass
class Variant:
    """One way of sending a request through one app; `expect` checks one answer."""

    app: ASGIApp
    request: Request
    state: dict[str, Any] = field(default_factory=dict)
    access_log: bool = False
    expect: Callable[[int, dict[str, str]], str | None] = lambda status, headers: None


@dataclass(frozen=True)
class Stage:
    name: str
    measured_by: str
    with_stage: str
    without: str


STAGES = (
    Stage(
        "client address (ProxyHeadersMiddleware)",
        "the pipeline behind uvicorn's proxy-headers layer vs the pipeline alone",
        "proxied",
        "plain",
    ),
    Stage(
        "request id, request stats, send wrapper, common headers",
        "the pipeline without lifespan resources vs the bare endpoint",
        "no_resources",
        "bare",
    ),
    Stage(
        "metrics (Prometheus histogram and counters)",
        "the pipeline with resources vs without (nothing else differs for this request)",
        "plain",
        "no_resources",
    ),
    Stage(
        "access log (one JSON line)",
        "the gateway.access logger at INFO (to /dev/null) vs at WARNING",
        "logged",
        "plain",
    ),
    Stage(
        "host allow-list",
        f"ALLOWED_HOSTS={HOST} vs * (the Host header checked against the list)",
        "hosts",
        "plain",
    ),
    Stage(
        "CORS (an allowed origin, simple request)",
        "CORS_ALLOW_ORIGINS set vs unset, both with an Origin header",
        "cors",
        "origin",
    ),
    Stage(
        "CORS preflight (answered in place of the route)",
        "OPTIONS /api/v1/products with Access-Control-Request-Method vs a routed GET",
        "preflight",
        "plain",
    ),
    Stage(
        "body limit (Content-Length checked, body counted)",
        "POST with a 200-byte body vs GET",
        "posted",
        "plain",
    ),
    Stage(
        "compare seal (statements traced, kept in Redis)",
        "a valid X-Gateway-Compare seal vs none",
        "sealed",
        "plain",
    ),
    Stage(
        "authentication (Bearer token)",
        "a real access token vs none (session state from the per-process cache)",
        "authenticated",
        "plain",
    ),
    Stage(
        "rate limit (charge in Redis)",
        "GET /api/... vs GET /openapi.json (both conditional, only /api/ is charged)",
        "charged",
        "conditional",
    ),
    Stage(
        "read-your-writes (writer mark looked up in Redis)",
        "a signed-in request with a read replica configured vs without",
        "replica",
        "authenticated",
    ),
    Stage(
        "idempotency (key claimed, answer stored in Redis)",
        "POST /api/... with a fresh Idempotency-Key vs without",
        "idempotent",
        "api_post",
    ),
    Stage(
        "conditional GET (ETag of the body, Cache-Control)",
        "GET /openapi.json (conditional) vs GET /bench (not)",
        "conditional",
        "plain",
    ),
    Stage(
        "compression (1.1 KB JSON)",
        "Accept-Encoding: gzip, deflate, br, zstd vs none",
        "compressed",
        "plain",
    ),
    Stage(
        "Starlette routing (the gateway's routes, then the endpoint)",
        "ExceptionMiddleware and a Router of every gateway route before the endpoint vs "
        "the endpoint alone",
        "routed",
        "plain",
    ),
)


def _has(*names: str, status: int = 200) -> Callable[[int, dict[str, str]], str | None]:
    def check(got: int, headers: dict[str, str]) -> str | None:
        if got != status:
            return f"status {got}, expected {status}"
        missing = [name for name in names if name not in headers]
        return f"missing {', '.join(missing)}" if missing else None

    return check


def _lacks(*names: str) -> Callable[[int, dict[str, str]], str | None]:
    def check(got: int, headers: dict[str, str]) -> str | None:
        if got != 200:
            return f"status {got}, expected 200"
        present = [name for name in names if name in headers]
        return f"unexpected {', '.join(present)}" if present else None

    return check


def variants(
    base: Settings, resources: Resources, token: str, routes: list[Any]
) -> dict[str, Variant]:
    """Every app and request the stages compare, by name."""
    trivial = Trivial()

    def pipeline(inner: ASGIApp = trivial, **changes: Any) -> Pipeline:
        return Pipeline(inner, settings=replace(base, **changes), routes=routes)

    plain = pipeline()
    state = {"resources": resources}
    # Never connected: the pipeline only asks whether a replica is configured.
    registry = statements.load(base.sql_dir / "queries")
    replica_db = Database(base.database_url or "", registry, read_url=base.database_url)
    replica = {"resources": replace(resources, db=replica_db)}
    bearer = (("authorization", f"Bearer {token}"),)
    router = Router(routes=[*routes, Route("/bench", trivial)])
    routed = pipeline(ExceptionMiddleware(router))
    cors = pipeline(cors_allow_origins=(ORIGIN,))
    seal = resources.tokens.compare_seal("warm", ttl=3600)
    ordinary = _lacks("ratelimit-limit", "etag", "content-encoding", "access-control-allow-origin")
    return {
        "bare": Variant(trivial, Request(), expect=_has("content-length")),
        "no_resources": Variant(plain, Request(), expect=_has("x-request-id")),
        "plain": Variant(plain, Request(), state, expect=ordinary),
        "proxied": Variant(
            ProxyHeadersMiddleware(plain, trusted_hosts=["127.0.0.1"]),  # type: ignore[arg-type]
            Request(),
            state,
            expect=ordinary,
        ),
        "logged": Variant(plain, Request(), state, access_log=True, expect=ordinary),
        "hosts": Variant(pipeline(allowed_hosts=(HOST,)), Request(), state, expect=ordinary),
        "origin": Variant(plain, Request(headers=(("origin", ORIGIN),)), state, expect=ordinary),
        "cors": Variant(
            cors,
            Request(headers=(("origin", ORIGIN),)),
            state,
            expect=_has("access-control-allow-origin"),
        ),
        "preflight": Variant(
            cors,
            Request(
                "OPTIONS",
                "/api/v1/products",
                (("origin", ORIGIN), ("access-control-request-method", "GET")),
            ),
            state,
            expect=_has("access-control-allow-methods", status=204),
        ),
        "posted": Variant(
            plain,
            Request("POST", headers=(("content-length", str(len(POSTED))),), body=POSTED),
            state,
            expect=ordinary,
        ),
        "sealed": Variant(
            plain, Request(headers=(("x-gateway-compare", seal),)), state, expect=ordinary
        ),
        "authenticated": Variant(plain, Request(headers=bearer), state, expect=ordinary),
        "replica": Variant(plain, Request(headers=bearer), replica, expect=ordinary),
        "conditional": Variant(
            plain, Request(path="/openapi.json"), state, expect=_has("etag", "cache-control")
        ),
        "charged": Variant(
            plain, Request(path="/api/bench"), state, expect=_has("etag", "ratelimit-limit")
        ),
        "api_post": Variant(
            plain,
            Request(
                "POST",
                "/api/bench",
                (("content-length", str(len(POSTED))),),
                POSTED,
                unique="x-bench-sequence",
            ),
            state,
            expect=_has("ratelimit-limit"),
        ),
        "idempotent": Variant(
            plain,
            Request(
                "POST",
                "/api/bench",
                (("content-length", str(len(POSTED))),),
                POSTED,
                unique="idempotency-key",
            ),
            state,
            expect=_has("ratelimit-limit"),
        ),
        "compressed": Variant(
            plain,
            Request(headers=(("accept-encoding", "gzip, deflate, br, zstd"),)),
            state,
            expect=_has("content-encoding"),
        ),
        "routed": Variant(routed, Request(), state, expect=ordinary),
    }


_sequence = 0


def _scope(request: Request, state: dict[str, Any]) -> Scope:
    global _sequence
    headers = [(b"host", HOST.encode())]
    headers += [(k.encode(), v.encode()) for k, v in request.headers]
    if request.unique is not None:
        _sequence += 1
        headers.append((request.unique.encode(), b"bench-%d-%d" % (os.getpid(), _sequence)))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        # A shallow copy per request, as uvicorn hands the lifespan's state on.
        "state": dict(state),
    }


async def _once(variant: Variant) -> tuple[int, dict[str, str]]:
    body = variant.request.body
    started: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.append(message)

    await variant.app(_scope(variant.request, variant.state), receive, send)
    start = started[0]
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}


async def _timed(variant: Variant, n: int) -> tuple[float, float]:
    """(wall, CPU) nanoseconds per request over n requests."""
    app, request, state = variant.app, variant.request, variant.state
    body = request.body
    received = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> Message:
        return received

    async def send(message: Message) -> None:
        return None

    logging.getLogger().setLevel(logging.INFO if variant.access_log else logging.WARNING)
    began, cpu = time.perf_counter_ns(), time.process_time_ns()
    for _ in range(n):
        await app(_scope(request, state), receive, send)
    cpu = time.process_time_ns() - cpu
    return (time.perf_counter_ns() - began) / n, cpu / n


async def measure(
    settings: Settings, token: str, *, n: int, rounds: int, echo: bool = True
) -> dict[str, Any]:
    """Per stage: the median over rounds of (with - without) µs per request."""
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        assert state is not None
        resources: Resources = state["resources"]
        found = variants(settings, resources, token, list(app.routes))
        for name, variant in found.items():
            problem = variant.expect(*await _once(variant))
            if problem is not None:
                raise RuntimeError(f"variant {name!r} did not do its stage: {problem}")
        for variant in found.values():  # warm-up: plan caches, session cache, connections
            await _timed(variant, max(50, n // 10))
        gc.collect()
        wall: dict[str, list[float]] = {name: [] for name in found}
        cpu: dict[str, list[float]] = {name: [] for name in found}
        order = list(found)
        shuffler = random.Random(14)
        for _ in range(rounds):
            shuffler.shuffle(order)
            for name in order:
                spent, used = await _timed(found[name], n)
                wall[name].append(spent / 1000)
                cpu[name].append(used / 1000)
        logging.getLogger().setLevel(logging.WARNING)
    rows = []
    for stage in STAGES:
        row: dict[str, Any] = {"stage": stage.name, "measured_by": stage.measured_by}
        for kind, times in (("wall", wall), ("cpu", cpu)):
            pairs = zip(times[stage.with_stage], times[stage.without], strict=True)
            deltas = [a - b for a, b in pairs]
            row[f"{kind}_us"] = statistics.median(deltas)
            row[f"{kind}_spread_us"] = _spread(deltas)
        rows.append(row)
    result = {
        "calls_per_round": n,
        "rounds": rounds,
        "stages": rows,
        "requests_wall_us": {name: statistics.median(times) for name, times in wall.items()},
        "requests_cpu_us": {name: statistics.median(times) for name, times in cpu.items()},
        "costliest_wall": max(rows, key=lambda row: row["wall_us"])["stage"],
        "costliest_cpu": max(rows, key=lambda row: row["cpu_us"])["stage"],
    }
    if echo:
        _print(result)
    return result


def _spread(values: list[float]) -> float:
    """Half the interquartile range: how far a round's figure typically strays."""
    if len(values) < 4:
        return 0.0
    quartiles = statistics.quantiles(values, n=4)
    return (quartiles[2] - quartiles[0]) / 2


def _print(result: dict[str, Any]) -> None:
    print(
        f"µs per request, median of {result['rounds']} rounds x {result['calls_per_round']} "
        "calls (± half the interquartile range)"
    )
    print("| stage | wall µs | CPU µs | measured as |")
    print("|---|---:|---:|---|")
    for row in result["stages"]:
        print(
            f"| {row['stage']} | {row['wall_us']:.1f} ± {row['wall_spread_us']:.1f} "
            f"| {row['cpu_us']:.1f} ± {row['cpu_spread_us']:.1f} | {row['measured_by']} |"
        )
    wall, cpu = result["requests_wall_us"], result["requests_cpu_us"]
    print(
        f"bare endpoint {wall['bare']:.1f} µs wall / {cpu['bare']:.1f} µs CPU; the pipeline "
        f"on a plain GET {wall['plain']:.1f} / {cpu['plain']:.1f} µs"
    )
    print(f"costliest stage by wall time: {result['costliest_wall']}")
    print(f"costliest stage by CPU time:  {result['costliest_cpu']}")


async def _prepare(database_url: str) -> int:
    """Migrate the benchmark's database and create the account the token names."""
    sql_dir = Settings().sql_dir
    db = Database(database_url, statements.load(sql_dir / "queries"))
    await db.connect()
    try:
        await migrate(db, sql_dir / "migrations")
    finally:
        await db.disconnect()
    conn = await asyncpg.connect(database_url)
    try:
        user_id: int = await conn.fetchval(
            "INSERT INTO users (email, display_name, password_hash, role) "
            "VALUES ('bench-stages@example.com', 'Bench', '!', 'customer') RETURNING id"
        )
    finally:
        await conn.close()
    return user_id


async def _run(database_url: str, redis_url: str, prefix: str, n: int, rounds: int) -> Any:
    user_id = await _prepare(database_url)
    settings = Settings(
        env="production",
        database_url=database_url,
        redis_url=redis_url,
        cache_prefix=prefix,
        jwt_secret=SECRET,
        # The limiter charges Redis on every request, but never refuses the benchmark.
        rate_limit_per_minute=1_000_000,
        db_pool_min_size=1,
    )
    issuer = TokenIssuer(
        SECRET,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl,
    )
    return await measure(settings, issuer.issue(user_id, "customer"), n=n, rounds=rounds)


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=2000, help="calls per variant per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="tiny rounds: checks, not figures")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    n, rounds = (20, 3) if args.smoke else (args.n, args.rounds)
    # Production's log set-up (JSON lines), written to /dev/null so the terminal is not
    # what is measured.
    logs.configure("warning")
    sink = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
    logging.getLogger().handlers[0].setStream(sink)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as folder, Backends(Path(folder) / "seed.log") as backends:
        result = uvloop.run(
            _run(backends.database_url, backends.redis_url, backends.prefix, n, rounds)
        )
    result["commit"] = _commit()
    result["python"] = sys.version.split()[0]
    result["cpus"] = os.cpu_count()
    print(f"commit {result['commit']}, Python {result['python']}, {result['cpus']} CPUs")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

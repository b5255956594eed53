"""The ASGI application, built as data by `create_app(settings)`."""

from __future__ import annotations

import gc
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import admin, cache, logs, rest, services
from gateway.compare import page as compare_page
from gateway.db import Database, migrations, statements
from gateway.errors import DBUnavailable, GatewayError, MethodNotAllowed, NotFound
from gateway.graphql.endpoint import GraphQLEndpoint
from gateway.graphql.execution import Engine
from gateway.graphql.planned import PlannedQueries
from gateway.graphql.results import ResultCache
from gateway.graphql.schema import build_schema
from gateway.graphql.websocket import TransportWSHandler
from gateway.http import monitoring
from gateway.http.monitoring import MetricsServer
from gateway.http.monitoring import endpoint as metrics_endpoint
from gateway.http.pipeline import Pipeline
from gateway.http.responses import problem_response, refusal
from gateway.lifecycle import Lifecycle
from gateway.metrics import Metrics
from gateway.reads.planner import Planner
from gateway.rest import docs
from gateway.revocation import AccountStates
from gateway.services.caching import ReadCache
from gateway.services.ratelimit import RateLimiter, SignInLimits
from gateway.services.resources import Resources
from gateway.settings import Settings
from gateway.tokens import TokenIssuer

log = logging.getLogger("gateway.app")


def create_app(settings: Settings) -> Starlette:
    """The whole gateway for `settings`; opens nothing until the lifespan starts."""
    settings.check_secrets()
    tokens = TokenIssuer(
        _jwt_secret(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_token_ttl,
    )
    metrics = Metrics()
    registry = statements.load(settings.sql_dir / "queries")
    statements.require(registry, (*services.STATEMENTS, *migrations.STATEMENTS))
    schema = build_schema(settings.schema_path, federation=settings.graphql_federation)
    engine = Engine(schema, settings)
    graphql = GraphQLEndpoint(
        engine,
        explorer=not settings.production,
        results=ResultCache(schema),
        planned=PlannedQueries(schema, max_errors=engine.limits.max_errors),
    )
    subscriptions = TransportWSHandler(
        engine,
        max_message_bytes=settings.max_body_bytes,
        max_operations=settings.graphql_ws_max_operations,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        if settings.database_url is None:
            raise RuntimeError(
                "DATABASE_URL is not set: run `gateway serve`, which starts the embedded "
                "PostgreSQL, or point DATABASE_URL at a server"
            )
        db = Database(
            settings.database_url,
            registry,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            pool_timeout=settings.db_pool_timeout,
            statement_timeout=settings.db_statement_timeout,
            read_url=settings.database_read_url,
            read_max_lag=settings.database_read_max_lag_seconds,
            statement_cache_size=settings.db_statement_cache_size,
            plan_cache_mode=settings.db_plan_cache_mode,
        )
        await db.connect()
        store = cache.connect(settings.redis_url, timeout=settings.redis_timeout)
        limiter = RateLimiter(
            store,
            prefix=settings.cache_prefix,
            general=settings.rate_limit_per_minute,
            lease=settings.rate_limit_lease,
            sign_in=SignInLimits(
                per_account=settings.login_failures_per_account,
                account_window=settings.login_account_window,
                per_address=settings.login_failures_per_address,
                address_window=settings.login_address_window,
            ),
            metrics=metrics,
        )
        reads = ReadCache(
            store,
            settings.cache_prefix,
            enabled=settings.cache_enabled,
            local_bytes=settings.cache_local_max_bytes,
            liveness=settings.cache_local_liveness,
        )
        lifecycle = Lifecycle()
        side = MetricsServer(metrics, settings) if settings.metrics_port else None
        try:
            await _check_schema(db, settings)
            if side is not None:
                await side.start()
            lifecycle.install(settings.drain_seconds)
            metrics.observe_pool(lambda: db.pool_in_use, settings.db_pool_max_size)
            planner = Planner()
            metrics.observe_plans(lambda: len(planner), lambda: planner.compiled)
            _settle_heap()
            log.info("gateway ready", extra={"env": settings.env, "cache": store.kind})
            yield {
                "resources": Resources(
                    settings=settings,
                    planner=planner,
                    db=db,
                    cache=store,
                    tokens=tokens,
                    limiter=limiter,
                    reads=reads,
                    lifecycle=lifecycle,
                    metrics=metrics,
                    accounts=AccountStates(ttl=settings.session_check_seconds),
                )
            }
        finally:
            if side is not None:
                await side.stop()
            # What start-up built may be garbage now (an app made and closed again within
            # one process, as in tests): let the collector see it again.
            gc.unfreeze()
            lifecycle.uninstall()
            await reads.close()
            await limiter.close()
            await store.close()
            await db.disconnect()

    # With METRICS_PORT, /metrics is served on that port only (see gateway.metrics).
    metrics_routes: list[BaseRoute] = []
    if not settings.metrics_port:
        metrics_routes.append(
            Route("/metrics", metrics_endpoint(metrics, settings.metrics_token), methods=["GET"])
        )
    routes = [
        Mount("/api/v1", routes=rest.ROUTES),
        # Another method gets 405 in the GraphQL shape (_http_error).
        Route("/graphql", graphql.handle, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", subscriptions.endpoint),
        Route("/livez", monitoring.livez, methods=["GET"]),
        Route("/readyz", monitoring.readyz, methods=["GET"]),
        *metrics_routes,
        *docs.routes(public_url=settings.public_url),
        *compare_page.ROUTES,
        *admin.routes(settings),
    ]
    if settings.production and "*" in settings.allowed_hosts:
        log.warning("ALLOWED_HOSTS is *: requests addressed to any host name are served")
    return Gateway(
        routes=routes,
        # The client's address first (from X-Forwarded-For only when the peer is one of the
        # FORWARDED_ALLOW_IPS proxies, the same under `gateway serve`, which turns uvicorn's
        # own handling off, and under the uvicorn command, whose own handling reads the same
        # variable); then every other stage of a request in one pass (gateway.http.pipeline).
        middleware=[
            Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips)),
            Middleware(Pipeline, settings=settings, routes=routes),
        ],
        exception_handlers={GatewayError: _gateway_error, HTTPException: _http_error},
        lifespan=lifespan,
    )


class Gateway(Starlette):
    """Starlette, without its outermost ServerErrorMiddleware: the pipeline masks what
    escapes the app itself (a problem+json 500 with the request id), one layer fewer on
    every request."""

    def build_middleware_stack(self) -> ASGIApp:
        handlers = {k: v for k, v in self.exception_handlers.items() if k not in (500, Exception)}
        app: ASGIApp = ExceptionMiddleware(self.router, handlers=handlers, debug=self.debug)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app


_collected = False
"""Whether this process has collected once before freezing (the collector is the process's)."""


def _settle_heap() -> None:
    """Take what start-up built (modules, the schema, statements, clients) out of the
    garbage collector's sight. They live as long as the process, yet every full collection
    walked them all: a fifth of a worker's CPU under load went to the collector.

    The first app of a process collects first, so no start-up garbage is frozen. An app
    made again in the same process (tests, compare's own server) only freezes: a full
    collection of a large heap costs more than starting the app, and what it freezes is
    unfrozen when that app closes."""
    global _collected
    if not _collected:
        gc.collect()
        _collected = True
    gc.freeze()


def _jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret is not None:
        return settings.jwt_secret
    # Development only (check_secrets refused production): tokens die with this process.
    log.warning("JWT_SECRET is not set: using a random secret for this process (development)")
    return secrets.token_urlsafe(48)


def app_from_env() -> Starlette:
    """The uvicorn factory: `uvicorn --factory gateway.app:app_from_env`.

    It sets logging up exactly as `gateway serve` does (JSON lines at LOG_LEVEL, the
    gateway's own access log), replacing what the uvicorn command configured before it.
    """
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    return create_app(settings)


async def _check_schema(db: Database, settings: Settings) -> None:
    """Refuse to serve a database whose migrations lag the code; check every statement."""
    try:
        pending = await migrations.pending(db, settings.sql_dir / "migrations")
    except DBUnavailable:
        log.warning("database unreachable at start-up; serving 503 until it is back")
        return
    if pending:
        names = ", ".join(m.name for m in pending)
        raise RuntimeError(f"the database lacks migrations {names}: run `gateway migrate`")
    await db.check_statements()


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return problem_response(exc)


_METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        methods = {m.strip() for m in allowed.split(",") if m.strip()}
        return refusal(request.scope, MethodNotAllowed(sorted(methods, key=_METHOD_ORDER.index)))
    if exc.status_code == 404:
        return problem_response(NotFound(f"Nothing lives at {request.url.path}."))
    error = GatewayError(exc.detail)
    error.status = exc.status_code
    return problem_response(error)

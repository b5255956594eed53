"""The data layer: the only module that imports the database driver.

Over 400 lines: pool, replica routing and error translation wrap the same driver calls.

`databases` (with asyncpg) owns the pool's lifecycle and hands out connections; every
statement then runs on the raw asyncpg connection with SQL compiled once at load time
(`gateway.statements`), which keeps SQLAlchemy's per-call compile step off the hot path.
Driver exceptions become the gateway's own errors here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import asyncpg
import databases

from gateway import telemetry
from gateway.db.statements import Statement, StatementError
from gateway.errors import DBUnavailable, PoolExhausted, QueryTimeout

log = logging.getLogger("gateway.db")

Row = Mapping[str, Any]

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    # A connection whose server went away mid-operation can be left in a state where its
    # next use fails this way; it is a dead connection, not a bug in the request.
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)

# What a replica that cannot answer raises while the watcher asks it.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    DBUnavailable,
    TimeoutError,
    *_CONNECTION_ERRORS,
)

# The connection pinned to this task by `session()` or `transaction()`; statements run on it.
_pinned: ContextVar[Any | None] = ContextVar("gateway_db_pinned", default=None)
_in_transaction: ContextVar[bool] = ContextVar("gateway_db_in_tx", default=False)


class ConstraintViolation(Exception):
    """A write broke a constraint; services turn this into a user-facing error.

    `kind` is unique / foreign_key / check / not_null / exclusion; `constraint` is the
    constraint's name, for the service to recognise, never to show to a client.
    """

    def __init__(self, kind: str, constraint: str | None) -> None:
        self.kind = kind
        self.constraint = constraint
        super().__init__(f"{kind} violation on {constraint}")


_VIOLATIONS: dict[type[BaseException], str] = {
    asyncpg.exceptions.UniqueViolationError: "unique",
    asyncpg.exceptions.ForeignKeyViolationError: "foreign_key",
    asyncpg.exceptions.CheckViolationError: "check",
    asyncpg.exceptions.NotNullViolationError: "not_null",
    asyncpg.exceptions.ExclusionViolationError: "exclusion",
}


class Database:
    """A pool plus the named statements; execute / fetch by statement name only."""

    def __init__(
        self,
        url: str,
        statements: Mapping[str, Statement],
        *,
        min_size: int = 2,
        max_size: int = 10,
        pool_timeout: float = 2.0,
        statement_timeout: float = 5.0,
        application_name: str = "gateway",
        read_url: str | None = None,
        read_max_lag: float = 0.0,
        replica_check_interval: float = 1.0,
        statement_cache_size: int = 100,
        plan_cache_mode: str = "force_generic_plan",
    ) -> None:
        self.url = url
        self.read_url = read_url
        self.read_max_lag = read_max_lag
        self._check_interval = replica_check_interval
        self.statements = statements
        self._pool_timeout = pool_timeout
        self._min_size = min(min_size, max_size)
        self._max_size = max_size
        self._options: dict[str, Any] = {
            "server_settings": {
                "statement_timeout": str(int(statement_timeout * 1000)),
                "idle_in_transaction_session_timeout": str(int(statement_timeout * 2000)),
                "application_name": application_name,
                # Each prepared statement is planned once per connection, not at every call:
                # PostgreSQL's default kept re-planning the read planner's statements (their
                # LIMIT is a parameter, so a generic plan looks dear), which cost more than
                # running them. The statements are written so a generic plan is a good one
                # (an index per sort; full-text search through its GIN index, see
                # gateway/reads/model.py).
                "plan_cache_mode": plan_cache_mode,
                # No JIT compilation: a generic plan's costs (its LIMIT unknown) cross the
                # JIT thresholds, and compiling took 200-300 ms for a statement that runs in
                # half a millisecond (the feed of 20 products with their reviews).
                "jit": "off",
            },
            # A client-side backstop in case the server never answers the cancel.
            "command_timeout": statement_timeout + 1.0,
            # Connecting to an unreachable host gives up a little before the pool wait
            # does (not after asyncpg's default minute), so it reports DB_UNAVAILABLE.
            "timeout": max(0.1, pool_timeout * 0.75),
            # 0 behind PgBouncer in transaction mode, where a prepared statement may not
            # exist on the next transaction's server connection.
            "statement_cache_size": statement_cache_size,
            # Give connections back without asyncpg's reset query (advisory unlock, CLOSE
            # ALL, UNLISTEN, RESET ALL): a second round trip for every statement, and the
            # statements here leave none of that behind (no SET outside a transaction, no
            # LISTEN, no cursors). asyncpg still rolls back an open transaction first;
            # session() and run_script(), the only places that may leave session state,
            # reset their connection themselves.
            "reset": _keep_session,
        }
        self._db: databases.Database | None = None
        self._replica: databases.Database | None = None
        self._gates: dict[int, asyncio.Semaphore] = {}
        # Whether reads may go to the replica now: the watcher (`_watch_replica`) sets it
        # from what the standby reports, and a failed read clears it at once.
        self._replica_usable = False
        self._watcher: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Open the pool(s); when PostgreSQL is down, open them empty so the app still starts."""
        self._db = await self._open(self.url)
        if self.read_url is not None:
            self._replica = await self._open(self.read_url)
            self._replica_usable = await self._replica_fit()
            self._watcher = asyncio.create_task(self._watch_replica(), name="replica-watch")

    async def _open(self, url: str) -> databases.Database:
        target, options = _target(url)
        db = databases.Database(
            target, min_size=self._min_size, max_size=self._max_size, **self._options, **options
        )
        try:
            await db.connect()
        except _CONNECTION_ERRORS as exc:
            log.warning("database unreachable at start-up (%s); will connect on demand", exc)
            db = databases.Database(
                target, min_size=0, max_size=self._max_size, **self._options, **options
            )
            await db.connect()
        return db

    async def disconnect(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        for db in (self._db, self._replica):
            if db is not None:
                await db.disconnect()
        self._db = self._replica = None
        self._replica_usable = False
        self._gates.clear()

    @property
    def pinned(self) -> bool:
        """Whether this task holds a connection (inside `transaction()` or `session()`)."""
        return _pinned.get() is not None

    @property
    def has_replica(self) -> bool:
        return self.read_url is not None

    async def _watch_replica(self) -> None:
        """Every `replica_check_interval` seconds, ask the standby whether it answers and how
        far it lags; reads leave it while it is down or beyond the bound, and come back by
        themselves, with no restart."""
        while True:
            await asyncio.sleep(self._check_interval)
            usable = await self._replica_fit()
            if usable and not self._replica_usable:
                log.info("read replica in use again")
            self._replica_usable = usable

    async def _replica_fit(self) -> bool:
        try:
            # Longer than the pool's own wait, so a busy pool reports PoolExhausted; a replica
            # that accepted the connection but does not answer gives up here.
            async with asyncio.timeout(self._pool_timeout + self._check_interval):
                async with self._connection(self._replica) as conn:
                    lag = await conn.fetchval(_REPLICA_LAG)
        except PoolExhausted:
            return self._replica_usable  # busy serving reads: no news, keep what we knew
        except _UNREACHABLE as exc:
            if self._replica_usable:
                log.warning("read replica unavailable (%s); reading from the primary", exc)
            return False
        except asyncpg.exceptions.PostgresError as exc:
            log.warning("read replica check failed (%s); reading from the primary", exc)
            return False
        if self.read_max_lag and lag > self.read_max_lag:
            if self._replica_usable:
                log.warning(
                    "read replica %.1f s behind, beyond %.1f s; reading from the primary",
                    lag,
                    self.read_max_lag,
                )
            return False
        return True

    @property
    def pool_in_use(self) -> int:
        """Connections currently checked out of the pool."""
        pool = _asyncpg_pool(self._db)
        if pool is None:
            return 0
        return int(pool.get_size() - pool.get_idle_size())

    def statement(self, name: str) -> Statement:
        try:
            return self.statements[name]
        except KeyError:
            raise StatementError(f"unknown statement {name!r}") from None

    async def check_statements(self) -> None:
        """Prepare every statement against the live schema; StatementError names a bad one."""
        async with self._connection() as conn:
            for statement in self.statements.values():
                try:
                    await conn.prepare(statement.sql)
                except asyncpg.exceptions.PostgresError as exc:
                    raise StatementError(f"{statement.name}: {exc}") from None

    # `primary=True` keeps a read off the replica (sign-in data must never be stale).
    async def fetch_all(
        self, name: str, params: Mapping[str, Any] | None = None, *, primary: bool = False
    ) -> list[Row]:
        """All rows of the named statement."""
        return cast(list[Row], await self._run(name, params, "fetch", primary))

    async def fetch_one(
        self, name: str, params: Mapping[str, Any] | None = None, *, primary: bool = False
    ) -> Row | None:
        """The first row of the named statement, or None."""
        return cast(Row | None, await self._run(name, params, "fetchrow", primary))

    async def fetch_val(
        self, name: str, params: Mapping[str, Any] | None = None, *, primary: bool = False
    ) -> Any:
        """The first column of the first row, or None."""
        return await self._run(name, params, "fetchval", primary)

    async def fetch_read(
        self, label: str, sql: str, args: Sequence[Any], *, primary: bool = False
    ) -> Row | None:
        """The first row of a read the planner composed (gateway/reads/); `label` names it in
        the request's statement record. Read-only, so it may go to the replica."""
        statement = Statement(label, "", sql, sql, (), read_only=True)
        return cast(Row | None, await self._route(statement, tuple(args), "fetchrow", primary))

    async def fetch_read_all(
        self, label: str, sql: str, args: Sequence[Any], *, primary: bool = False
    ) -> list[Row]:
        """All rows of a read composed from the read model's fragments (gateway/reads/)."""
        statement = Statement(label, "", sql, sql, (), read_only=True)
        return cast(list[Row], await self._route(statement, tuple(args), "fetch", primary))

    async def execute(self, name: str, params: Mapping[str, Any] | None = None) -> str:
        """Run the named statement for its effect; returns the command tag."""
        return cast(str, await self._run(name, params, "execute"))

    async def copy_records(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> int:
        """Bulk-load rows with COPY (seed and imports); returns the number of rows."""
        rows = list(records)
        async with self._connection() as conn:
            started = time.perf_counter()
            try:
                await conn.copy_records_to_table(table, records=rows, columns=list(columns))
            except Exception as exc:
                raise _translate(exc) from exc
            finally:
                _count(f"COPY {table}", time.perf_counter() - started)
        return len(rows)

    async def run_script(self, sql: str) -> None:
        """Run a multi-statement script (migrations); inside the open transaction if any."""
        async with self._connection() as conn:
            started = time.perf_counter()
            try:
                await conn.execute(sql)
                if _pinned.get() is None:
                    await conn.reset()  # a script may SET things for the session
            except Exception as exc:
                raise _translate(exc) from exc
            finally:
                _count("script", time.perf_counter() - started)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the statements of this block in one transaction on one connection.

        Do not spawn tasks inside the block: they would share the connection.
        """
        if _in_transaction.get():
            raise RuntimeError("nested transactions are not supported")
        async with self._connection() as conn:
            tx = conn.transaction()
            try:
                await tx.start()
            except Exception as exc:
                raise _translate(exc) from exc
            pinned, flagged = _pinned.set(conn), _in_transaction.set(True)
            try:
                yield
            except BaseException:
                try:
                    await tx.rollback()
                except _CONNECTION_ERRORS:
                    log.warning("rollback failed: connection lost")
                raise
            else:
                try:
                    await tx.commit()
                except Exception as exc:
                    raise _translate(exc) from exc
            finally:
                _in_transaction.reset(flagged)
                _pinned.reset(pinned)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Pin one connection to this block (advisory locks span its transactions)."""
        async with self._connection() as conn:
            token = _pinned.set(conn)
            try:
                yield
            finally:
                _pinned.reset(token)
                # Release session-level advisory locks and settings before the pool
                # hands this connection to anyone else.
                try:
                    await conn.reset()
                except Exception:
                    conn.terminate()
                    raise

    async def _run(
        self, name: str, params: Mapping[str, Any] | None, method: str, primary: bool = False
    ) -> Any:
        statement = self.statement(name)
        return await self._route(statement, statement.args(params), method, primary)

    async def _route(
        self, statement: Statement, args: tuple[Any, ...], method: str, primary: bool
    ) -> Any:
        stats = telemetry.current()
        if not statement.read_only and stats is not None:
            stats.written.add(statement.name.partition(".")[0])
        if (
            self._replica is not None
            and self._replica_usable
            and statement.read_only
            and not primary
            and _pinned.get() is None
            and not (stats is not None and stats.primary_only)
        ):
            try:
                return await self._execute(self._replica, statement, args, method)
            except DBUnavailable:
                # Until the watcher sees it answer again, reads go to the primary rather
                # than each waiting out a connection attempt first.
                self._replica_usable = False
                log.warning("read replica unavailable; reading from the primary")
            except asyncpg.exceptions.SerializationError:
                # "canceling statement due to conflict with recovery": the standby replayed
                # a change that removed rows this read still needed; the primary has them.
                log.info("read cancelled by the replica's recovery; reading from the primary")
        return await self._execute(None, statement, args, method)

    async def _execute(
        self,
        pool: databases.Database | None,
        statement: Statement,
        args: tuple[Any, ...],
        method: str,
    ) -> Any:
        name = statement.name
        async with self._connection(pool) as conn:
            started = time.perf_counter()
            try:
                return await getattr(conn, method)(statement.sql, *args)
            except Exception as exc:
                if isinstance(exc, _CONNECTION_ERRORS) and _pinned.get() is None:
                    # Never hand a broken connection out again: the pool replaces it. (When
                    # the server closed it, asyncpg's pool has let go of it already, and
                    # says so with InterfaceError: nothing is left to terminate.)
                    with contextlib.suppress(asyncpg.InterfaceError):
                        conn.terminate()
                raise _translate(exc) from exc
            finally:
                _count(name, time.perf_counter() - started, statement.sql)

    @asynccontextmanager
    async def _connection(self, pool: databases.Database | None = None) -> AsyncIterator[Any]:
        pinned = _pinned.get()
        if pinned is not None:
            yield pinned
            return
        db = pool or self._db
        if db is None:
            raise DBUnavailable("The database pool is not open.")
        # Straight from the asyncpg pool databases opened: its own Connection wrapper (a
        # per-task registry, a lock, a counter) cost a quarter of a statement's CPU, and
        # every statement here already knows which connection it wants.
        raw_pool = _asyncpg_pool(db)
        if raw_pool is None:
            raise DBUnavailable("The database pool is not open.")
        # Callers queue first-come first-served at our gate (asyncio.Semaphore is fair),
        # never inside asyncpg's pool: its queue lets a newcomer take a connection just
        # released for a waiter, which goes back to the end of the line, and under load
        # some waited out the whole pool timeout (503s and second-long p99s).
        gate = self._gates.get(id(raw_pool))
        if gate is None:
            gate = self._gates[id(raw_pool)] = asyncio.Semaphore(self._max_size)
        if gate.locked():
            try:
                async with asyncio.timeout(self._pool_timeout):
                    await gate.acquire()
            except TimeoutError:
                raise PoolExhausted() from None
        else:
            await gate.acquire()  # free: returns at once, no timer armed
        try:
            try:
                conn = await raw_pool.acquire()  # never waits: the gate admits max_size
            except TimeoutError:
                # Connecting gives up at 3/4 of the pool wait (see `timeout` above).
                log.warning("connecting to the database timed out")
                raise DBUnavailable() from None
            except _CONNECTION_ERRORS as exc:
                log.warning("cannot connect to the database: %s", exc)
                raise DBUnavailable() from exc
            try:
                yield conn
            finally:
                await raw_pool.release(conn)
        finally:
            gate.release()


# How far the standby's data is behind its primary, in seconds; 0 when it has replayed all it
# received (or is not a standby at all, e.g. once promoted). While WAL waits to be replayed,
# the time since the last replayed commit: after an idle spell this overstates the lag,
# which errs toward reading from the primary. A standby cut off from its primary cannot
# tell what it has not received, and reports what it has.
_REPLICA_LAG = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
    ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
END::float8
"""


def _target(url: str) -> tuple[str, dict[str, Any]]:
    """The URL for `databases` and the connection options it cannot read from it itself.

    `databases` parses one host and a port, and ignores `target_session_attrs`. For a
    multi-host URL (postgresql://h1:5432,h2:5432/db?target_session_attrs=read-write), the
    whole URL goes to asyncpg, which tries the hosts in order and keeps the first that
    matches; `databases` is left a one-host stand-in it only uses to choose its backend.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "," not in parts.netloc and "target_session_attrs" not in query:
        return url, {}
    scheme = parts.scheme.partition("+")[0]
    dsn = urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    stand_in = urlunsplit((parts.scheme, "localhost", parts.path, "", ""))
    # Explicit None: asyncpg then takes each of these from the DSN.
    overrides = {"host": None, "port": None, "user": None, "password": None, "database": None}
    return stand_in, {"dsn": dsn, **overrides}


def _asyncpg_pool(db: databases.Database | None) -> Any:
    """The asyncpg pool behind a connected databases.Database, or None. A private attribute
    of databases: should a release rename it, every statement fails and so does every test."""
    return getattr(getattr(db, "_backend", None), "_pool", None)


async def _keep_session(connection: Any) -> None:
    """The pool's reset hook: nothing beyond asyncpg's own rollback (see Database)."""


def _count(name: str, seconds: float, sql: str = "") -> None:
    stats = telemetry.current()
    if stats is not None:
        stats.queries += 1
        stats.db_seconds += seconds
        stats.statements.append(name)
        if stats.trace is not None:
            stats.note(name, sql or name)


def _translate(exc: BaseException) -> BaseException:
    """Map a driver exception to the gateway's vocabulary; unknown ones pass through."""
    for kind_cls, kind in _VIOLATIONS.items():
        if isinstance(exc, kind_cls):
            return ConstraintViolation(kind, getattr(exc, "constraint_name", None))
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError | TimeoutError):
        return QueryTimeout()
    if isinstance(exc, _CONNECTION_ERRORS):
        log.warning("database connection failed: %s", exc)
        return DBUnavailable()
    return exc

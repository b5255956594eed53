"""Schema migrations: plain SQL files applied in order, each in a transaction, under a lock.

Files are `sql/migrations/NNNN_name.sql`. Each applied file is recorded in
`schema_migrations` with the sha256 of its contents; a file edited after it was applied
is refused, because the database no longer matches what the file says.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from gateway.db.database import Database, Row

log = logging.getLogger("gateway.migrations")

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
STATEMENTS = (
    "migrations.lock",
    "migrations.unlock",
    "migrations.create_table",
    "migrations.applied",
    "migrations.record",
)


class MigrationError(RuntimeError):
    """The migration files or the recorded history are not in a state we can apply."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str


def discover(directory: Path) -> list[Migration]:
    """Read and validate the migration files, ordered by version."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group("version"))
        if version in migrations:
            other = migrations[version].path.name
            raise MigrationError(f"{path.name}: version {version:04d} is also used by {other}")
        data = path.read_bytes()
        migrations[version] = Migration(
            version=version,
            name=path.stem,
            path=path,
            sql=data.decode("utf-8"),
            checksum=hashlib.sha256(data).hexdigest(),
        )
    return [migrations[v] for v in sorted(migrations)]


async def migrate(db: Database, directory: Path) -> list[Migration]:
    """Apply every pending migration; return those applied (empty when up to date).

    Raises MigrationError when an applied migration's file was edited or removed.
    """
    migrations = discover(directory)
    async with db.session():
        await db.fetch_val("migrations.lock")
        try:
            await db.execute("migrations.create_table")
            applied = {r["version"]: r for r in await db.fetch_all("migrations.applied")}
            _check_history(migrations, applied)
            pending = [m for m in migrations if m.version not in applied]
            for migration in pending:
                log.info("applying migration %s", migration.name)
                async with db.transaction():
                    await db.run_script(migration.sql)
                    await db.execute(
                        "migrations.record",
                        {
                            "version": migration.version,
                            "name": migration.name,
                            "checksum": migration.checksum,
                        },
                    )
            return pending
        finally:
            await db.fetch_val("migrations.unlock")


async def pending(db: Database, directory: Path) -> list[Migration]:
    """The migrations not yet applied (for readiness and `gateway migrate --check`)."""
    migrations = discover(directory)
    await db.execute("migrations.create_table")
    applied = {r["version"]: r for r in await db.fetch_all("migrations.applied")}
    _check_history(migrations, applied)
    return [m for m in migrations if m.version not in applied]


def _check_history(migrations: list[Migration], applied: dict[int, Row]) -> None:
    by_version = {m.version: m for m in migrations}
    for version, row in applied.items():
        migration = by_version.get(version)
        name = row["name"]
        if migration is None:
            raise MigrationError(
                f"the database has migration {name} applied, but sql/migrations has no "
                f"version {version:04d}; is this an older copy of the gateway?"
            )
        if migration.checksum != row["checksum"]:
            raise MigrationError(
                f"migration {migration.path.name} was edited after it was applied "
                "(its checksum differs from the one recorded); restore the file and put "
                "the change in a new migration"
            )

"""Migrations: applied in order from zero, idempotent, tamper-evident, safe to run concurrently."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from gateway.db import Database
from gateway.db.migrations import MigrationError, discover, migrate
from gateway.settings import PROJECT_ROOT
from tests import schema
from tests.conftest import STATEMENTS

pytestmark = pytest.mark.anyio
MIGRATIONS = PROJECT_ROOT / "sql" / "migrations"


@pytest.fixture
async def empty_db(empty_database_url: str) -> AsyncIterator[Database]:
    db = Database(empty_database_url, STATEMENTS, min_size=0, max_size=2)
    await db.connect()
    yield db
    await db.disconnect()


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


def assert_expected_schema(actual: str) -> None:
    """Fail with a unified diff (and how to regenerate) unless `actual` is the expected schema."""
    expected = schema.EXPECTED.read_text()
    if actual != expected:
        pytest.fail(schema.diff(expected, actual), pytrace=False)


async def test_from_zero_builds_exactly_the_expected_schema_then_is_a_no_op(
    empty_db: Database, empty_database_url: str
) -> None:
    applied = await migrate(empty_db, MIGRATIONS)
    assert [m.name for m in applied] == [m.name for m in discover(MIGRATIONS)]
    assert_expected_schema(await schema.describe(empty_database_url))
    assert await migrate(empty_db, MIGRATIONS) == []
    recorded = await empty_db.fetch_all("migrations.applied")
    assert [r["name"] for r in recorded] == [m.name for m in applied]
    assert all(len(r["checksum"]) == 64 for r in recorded)


async def test_every_foreign_key_has_an_index_leading_with_it(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        unindexed = await conn.fetch(
            """
            SELECT c.conrelid::regclass::text AS tbl, c.conname
            FROM pg_constraint c
            WHERE c.contype = 'f' AND NOT EXISTS (
                SELECT 1 FROM pg_index i
                WHERE i.indrelid = c.conrelid
                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey
            )
            """
        )
    finally:
        await conn.close()
    assert [tuple(r) for r in unindexed] == []


async def test_search_vector_is_generated_and_gin_indexed(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        generated = await conn.fetchval(
            "SELECT attgenerated::text FROM pg_attribute "
            "WHERE attrelid = 'products'::regclass AND attname = 'search'"
        )
        method = await conn.fetchval(
            "SELECT am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = 'products'::regclass AND a.attname = 'search'"
        )
    finally:
        await conn.close()
    assert generated == "s"
    assert method == "gin"


@pytest.mark.parametrize(
    ("change", "shows"),
    [
        ("ALTER TABLE products ADD COLUMN colour text;", "+    colour text"),
        ("ALTER TABLE products ALTER COLUMN stock DROP DEFAULT;", "+    stock integer NOT NULL"),
        ("DROP INDEX products_price_id_idx;", "-CREATE INDEX products_price_id_idx"),
        (
            "ALTER TABLE reviews DROP CONSTRAINT reviews_rating_check, ADD CONSTRAINT "
            "reviews_rating_check CHECK (rating BETWEEN 1 AND 10);",
            "+ALTER TABLE public.reviews ADD CONSTRAINT reviews_rating_check "
            "CHECK (rating >= 1 AND rating <= 10);",
        ),
        (
            "ALTER TRIGGER reviews_aggregate_delete ON reviews RENAME TO gone;",
            "+CREATE TRIGGER gone",
        ),
        (
            "CREATE OR REPLACE FUNCTION gateway_number(n numeric) RETURNS text "
            "LANGUAGE sql IMMUTABLE AS $$ SELECT n::text $$;",
            "+AS $function$ SELECT n::text $function$;",
        ),
    ],
)
async def test_any_schema_change_fails_the_comparison_with_a_diff(
    empty_db: Database, empty_database_url: str, tmp_path: Path, change: str, shows: str
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "9000_change.sql").write_text(change + "\n")
    await migrate(empty_db, folder)
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_expected_schema(await schema.describe(empty_database_url))
    assert shows in str(failed.value)
    assert schema.REGENERATE in str(failed.value)


async def test_an_edited_applied_migration_is_refused(empty_db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    await migrate(empty_db, folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(MigrationError, match=f"{first.name} was edited after it was applied"):
        await migrate(empty_db, folder)


async def test_a_new_migration_is_applied_after_the_old_ones(
    empty_db: Database, tmp_path: Path, empty_database_url: str
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    await migrate(empty_db, folder)
    (folder / "9000_extra.sql").write_text("CREATE TABLE extra (id int);\n")
    assert [m.name for m in await migrate(empty_db, folder)] == ["9000_extra"]
    assert "extra" in await tables(empty_database_url)


async def test_a_failing_migration_leaves_nothing_behind(
    empty_db: Database, tmp_path: Path, empty_database_url: str
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    await migrate(empty_db, folder)
    (folder / "9000_broken.sql").write_text("CREATE TABLE half (id int);\nSELECT nonsense(;\n")
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await migrate(empty_db, folder)
    assert "half" not in await tables(empty_database_url)
    assert len(await empty_db.fetch_all("migrations.applied")) == len(discover(MIGRATIONS))


@pytest.mark.parametrize(
    ("name", "message"),
    [("1_short.sql", "NNNN_name.sql"), ("0001_Upper.sql", "NNNN_name.sql")],
)
def test_badly_named_files_are_refused(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=message):
        discover(tmp_path)


def test_two_files_with_one_version_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="also used by"):
        discover(tmp_path)


async def test_a_database_ahead_of_the_code_is_refused(empty_db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "9000_extra.sql").write_text("CREATE TABLE extra (id int);\n")
    await migrate(empty_db, folder)
    (folder / "9000_extra.sql").unlink()
    with pytest.raises(MigrationError, match="older copy of the gateway"):
        await migrate(empty_db, folder)


def test_concurrent_migrate_from_two_processes_is_safe(empty_database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database_url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    logs = "".join(err for _, err in outputs)
    # Exactly one process applied the schema; the other waited on the lock, then found it done.
    assert logs.count('"applying migration 0001_schema"') == 1
    assert logs.count('"database is up to date"') == 1

    async def recorded() -> int:
        conn = await asyncpg.connect(empty_database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM schema_migrations"))
        finally:
            await conn.close()

    assert asyncio.run(recorded()) == len(discover(MIGRATIONS))

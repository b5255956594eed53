"""The whole schema a database holds, as stable text, and the one the migrations must build.

`describe(url)` reads PostgreSQL's catalogs (not `pg_dump`, whose binary must be at least
as new as the server, so it would tie the tests to one server version) and writes every
object of the non-system schemas the way pg_dump would declare it: extensions, types,
sequences, functions, tables with their columns (type, collation, nullability, default,
identity, generated expression), constraints, indexes, triggers, policies, views and
comments. Owners and privileges are left out, as `pg_dump --no-owner --no-privileges`
does. Every name is schema-qualified and objects are sorted by name, so the text depends
on the schema only, not on the order the migrations happened to create it in.

tests/expected_schema.sql is that text for a database with every migration applied;
tests/db/test_migrations.py migrates a fresh database and compares. After adding a
migration, regenerate it and review the diff with the migration:

    .venv/bin/python -m tests.schema --write   # DATABASE_URL, else an embedded server
    .venv/bin/python -m tests.schema           # only compare; exit status 1 on a difference
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import asyncpg

from gateway.cli.embedded import EmbeddedPostgres
from gateway.db import Database
from gateway.db.migrations import migrate
from gateway.settings import PROJECT_ROOT
from tests.conftest import FAST_PG, STATEMENTS, create_database, drop_database, with_database

EXPECTED = Path(__file__).with_name("expected_schema.sql")
MIGRATIONS = PROJECT_ROOT / "sql" / "migrations"
REGENERATE = ".venv/bin/python -m tests.schema --write"

_HEADER = f"""\
-- The schema that sql/migrations/ builds, from PostgreSQL's catalogs (tests/schema.py).
-- Not a script to run: the migrations are. tests/db/test_migrations.py checks that a freshly
-- migrated database matches this file exactly. Regenerate it with a new migration:
--     {REGENERATE}
"""

# Objects in these schemas, and objects that belong to an extension, are not ours.
_OURS = """
    {ns}.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND {ns}.nspname NOT LIKE 'pg\\_temp\\_%' AND {ns}.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
    AND NOT EXISTS (
        SELECT 1 FROM pg_depend d
        WHERE d.classid = {catalog}::regclass AND d.objid = {oid} AND d.deptype = 'e'
    )
"""


def _ours(ns: str, catalog: str, oid: str) -> str:
    return _OURS.format(ns=ns, catalog=f"'{catalog}'", oid=oid)


async def describe(url: str) -> str:
    """The schema of the database at `url` as text (see the module docstring)."""
    conn = await asyncpg.connect(url)
    try:
        # An empty search path makes every name in the catalog functions' output qualified,
        # as pg_dump does, so the text does not depend on the connection's settings.
        await conn.execute("SET search_path = ''")
        parts = [
            await _schemas(conn),
            await _extensions(conn),
            await _types(conn),
            await _sequences(conn),
            await _functions(conn),
            await _tables(conn),
            await _constraints(conn),
            await _indexes(conn),
            await _triggers(conn),
            await _policies(conn),
            await _views(conn),
            await _comments(conn),
        ]
    finally:
        await conn.close()
    return _HEADER + "".join(f"\n{part}" for part in parts if part)


def diff(expected: str, actual: str) -> str:
    """A unified diff from the expected schema to the actual one, with how to regenerate."""
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        fromfile=str(EXPECTED.relative_to(PROJECT_ROOT)),
        tofile="migrated database",
    )
    return (
        "the migrated schema differs from the expected one (- expected, + migrated):\n"
        + "".join(lines)
        + f"\nIf the change is intended, regenerate the expected schema: {REGENERATE}"
    )


async def _schemas(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        f"""
        SELECT quote_ident(n.nspname) AS name FROM pg_namespace n
        WHERE n.nspname <> 'public' AND {_ours("n", "pg_namespace", "n.oid")}
        ORDER BY 1
        """
    )
    return "".join(f"CREATE SCHEMA {r['name']};\n" for r in rows)


async def _extensions(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        """
        SELECT quote_ident(e.extname) AS name, quote_ident(n.nspname) AS schema
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname <> 'plpgsql'
        ORDER BY 1
        """
    )
    return "".join(f"CREATE EXTENSION {r['name']} WITH SCHEMA {r['schema']};\n" for r in rows)


async def _types(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        f"""
        SELECT t.oid::regtype::text AS name, t.typtype::text,
               (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels,
               format_type(t.typbasetype, t.typtypmod) AS base,
               t.typnotnull, pg_get_expr(t.typdefaultbin, 0) AS default,
               (SELECT string_agg(' CONSTRAINT ' || quote_ident(c.conname) || ' '
                                  || pg_get_constraintdef(c.oid, true), '' ORDER BY c.conname)
                FROM pg_constraint c WHERE c.contypid = t.oid) AS checks,
               (SELECT string_agg(quote_ident(a.attname) || ' '
                                  || format_type(a.atttypid, a.atttypmod), ', '
                                  ORDER BY a.attnum)
                FROM pg_attribute a
                WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS fields,
               format_type(r.rngsubtype, NULL) AS subtype
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        LEFT JOIN pg_class k ON k.oid = t.typrelid
        LEFT JOIN pg_range r ON r.rngtypid = t.oid
        WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND k.relkind = 'c'))
          AND {_ours("n", "pg_type", "t.oid")}
        ORDER BY 1
        """
    )
    out = []
    for r in rows:
        name, kind = r["name"], r["typtype"]
        if kind == "e":
            out.append(f"CREATE TYPE {name} AS ENUM ({r['labels'] or ''});\n")
        elif kind == "c":
            out.append(f"CREATE TYPE {name} AS ({r['fields'] or ''});\n")
        elif kind == "r":
            out.append(f"CREATE TYPE {name} AS RANGE (subtype = {r['subtype']});\n")
        else:
            default = f" DEFAULT {r['default']}" if r["default"] is not None else ""
            not_null = " NOT NULL" if r["typnotnull"] else ""
            out.append(
                f"CREATE DOMAIN {name} AS {r['base']}{default}{not_null}{r['checks'] or ''};\n"
            )
    return "".join(out)


async def _sequences(conn: asyncpg.Connection) -> str:
    # Identity columns' sequences are shown with their columns; these are the others.
    rows = await conn.fetch(
        f"""
        SELECT c.oid::regclass::text AS name, format_type(s.seqtypid, NULL) AS type,
               s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
               (SELECT a.attrelid::regclass::text || '.' || quote_ident(a.attname)
                FROM pg_depend d
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'a') AS owned_by
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT EXISTS (
            SELECT 1 FROM pg_depend d
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i'
        ) AND {_ours("n", "pg_class", "c.oid")}
        ORDER BY 1
        """
    )
    out = []
    for r in rows:
        owned = f" OWNED BY {r['owned_by']}" if r["owned_by"] else ""
        out.append(f"CREATE SEQUENCE {r['name']} AS {r['type']}{_sequence_options(r)}{owned};\n")
    return "".join(out)


def _sequence_options(r: asyncpg.Record) -> str:
    return (
        f" START {r['seqstart']} INCREMENT {r['seqincrement']} MINVALUE {r['seqmin']}"
        f" MAXVALUE {r['seqmax']} CACHE {r['seqcache']}{' CYCLE' if r['seqcycle'] else ''}"
    )


async def _functions(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        f"""
        SELECT p.oid::regprocedure::text AS signature, p.prokind::text,
               CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) END AS body
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_ours("n", "pg_proc", "p.oid")}
        ORDER BY 1
        """
    )
    out = []
    for r in rows:
        if r["body"] is None:  # an aggregate: pg_get_functiondef cannot show one
            out.append(f"CREATE AGGREGATE {r['signature']};\n")
        else:
            out.append(r["body"].rstrip() + ";\n\n")
    return "".join(out).rstrip("\n") + "\n" if out else ""


async def _tables(conn: asyncpg.Connection) -> str:
    tables = await conn.fetch(
        f"""
        SELECT c.oid, c.oid::regclass::text AS name, c.relkind::text, c.relpersistence::text,
               c.relrowsecurity, c.relforcerowsecurity, c.reloptions::text[] AS options,
               CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
               CASE WHEN c.relispartition THEN
                   (SELECT i.inhparent::regclass::text FROM pg_inherits i
                    WHERE i.inhrelid = c.oid) || ' ' || pg_get_expr(c.relpartbound, c.oid)
               END AS partition_of
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'f') AND {_ours("n", "pg_class", "c.oid")}
        ORDER BY 2
        """
    )
    columns = await conn.fetch(
        """
        SELECT a.attrelid, quote_ident(a.attname) AS name,
               format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, a.attidentity::text,
               a.attgenerated::text, pg_get_expr(d.adbin, d.adrelid) AS default,
               CASE WHEN a.attcollation <> t.typcollation
                    THEN (SELECT quote_ident(o.collname) FROM pg_collation o
                          WHERE o.oid = a.attcollation) END AS collation,
               i.objid::regclass::text AS sequence_name,
               s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle
        FROM pg_attribute a
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_depend i
               ON i.classid = 'pg_class'::regclass AND i.refclassid = 'pg_class'::regclass
              AND i.refobjid = a.attrelid AND i.refobjsubid = a.attnum AND i.deptype = 'i'
        LEFT JOIN pg_sequence s ON s.seqrelid = i.objid
        WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attrelid, a.attnum
        """,
        [t["oid"] for t in tables],
    )
    out = []
    for table in tables:
        lines = [_column(c) for c in columns if c["attrelid"] == table["oid"]]
        kind = {"p": "", "f": "FOREIGN "}.get(table["relkind"], "")
        unlogged = "UNLOGGED " if table["relpersistence"] == "u" else ""
        head = f"CREATE {unlogged}{kind}TABLE {table['name']}"
        if table["partition_of"]:
            head += f" PARTITION OF {table['partition_of']}"
        body = " (\n" + ",\n".join(f"    {line}" for line in lines) + "\n)"
        tail = f" PARTITION BY {table['partition_key']}" if table["partition_key"] else ""
        if table["options"]:
            tail += f" WITH ({', '.join(table['options'])})"
        out.append(f"{head}{body}{tail};\n")
        if table["relrowsecurity"]:
            out.append(f"ALTER TABLE {table['name']} ENABLE ROW LEVEL SECURITY;\n")
        if table["relforcerowsecurity"]:
            out.append(f"ALTER TABLE {table['name']} FORCE ROW LEVEL SECURITY;\n")
        out.append("\n")
    return "".join(out).rstrip("\n") + "\n" if out else ""


def _column(c: asyncpg.Record) -> str:
    line = f"{c['name']} {c['type']}"
    if c["collation"]:
        line += f" COLLATE {c['collation']}"
    if c["attgenerated"] == "s":
        line += f" GENERATED ALWAYS AS ({c['default']}) STORED"
    elif c["default"] is not None:
        line += f" DEFAULT {c['default']}"
    if c["attnotnull"]:
        line += " NOT NULL"
    if c["attidentity"]:
        how = "ALWAYS" if c["attidentity"] == "a" else "BY DEFAULT"
        options = f"SEQUENCE NAME {c['sequence_name']}{_sequence_options(c)}"
        line += f" GENERATED {how} AS IDENTITY ({options})"
    return line


async def _constraints(conn: asyncpg.Connection) -> str:
    # Not-null constraints are shown on their columns (PostgreSQL 18 also lists them here).
    rows = await conn.fetch(
        f"""
        SELECT c.conrelid::regclass::text AS tbl, quote_ident(c.conname) AS name,
               pg_get_constraintdef(c.oid, true) AS definition
        FROM pg_constraint c
        JOIN pg_class k ON k.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = k.relnamespace
        WHERE c.contype <> 'n' AND c.conparentid = 0 AND {_ours("n", "pg_class", "k.oid")}
        ORDER BY 1, 2
        """
    )
    return "".join(
        f"ALTER TABLE {r['tbl']} ADD CONSTRAINT {r['name']} {r['definition']};\n" for r in rows
    )


async def _indexes(conn: asyncpg.Connection) -> str:
    # Including those that back a constraint: their method and columns are part of the schema.
    rows = await conn.fetch(
        f"""
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i
        JOIN pg_class k ON k.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = k.relnamespace
        WHERE {_ours("n", "pg_class", "k.oid")}
        ORDER BY 1
        """
    )
    return "".join(f"{r['definition']};\n" for r in rows)


async def _triggers(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        f"""
        SELECT t.tgrelid::regclass::text AS tbl, t.tgname, pg_get_triggerdef(t.oid) AS definition
        FROM pg_trigger t
        JOIN pg_class k ON k.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = k.relnamespace
        WHERE NOT t.tgisinternal AND {_ours("n", "pg_class", "k.oid")}
        ORDER BY 1, 2
        """
    )
    return "".join(f"{r['definition']};\n" for r in rows)


async def _policies(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        """
        SELECT quote_ident(p.policyname) AS name,
               quote_ident(p.schemaname) || '.' || quote_ident(p.tablename) AS tbl,
               p.permissive, p.cmd, p.roles::text[] AS roles, p.qual, p.with_check
        FROM pg_policies p
        ORDER BY 2, 1
        """
    )
    out = []
    for r in rows:
        line = f"CREATE POLICY {r['name']} ON {r['tbl']} AS {r['permissive']} FOR {r['cmd']}"
        line += f" TO {', '.join(r['roles'])}"
        if r["qual"] is not None:
            line += f" USING ({r['qual']})"
        if r["with_check"] is not None:
            line += f" WITH CHECK ({r['with_check']})"
        out.append(line + ";\n")
    return "".join(out)


async def _views(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        f"""
        SELECT c.oid::regclass::text AS name, c.relkind::text, pg_get_viewdef(c.oid, true) AS query
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND {_ours("n", "pg_class", "c.oid")}
        ORDER BY 1
        """
    )
    out = []
    for r in rows:
        kind = "MATERIALIZED VIEW" if r["relkind"] == "m" else "VIEW"
        out.append(f"CREATE {kind} {r['name']} AS\n{r['query'].rstrip(';')};\n")
    return "".join(out)


async def _comments(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        f"""
        SELECT CASE WHEN d.objsubid = 0
                    THEN 'TABLE ' || c.oid::regclass::text
                    ELSE 'COLUMN ' || c.oid::regclass::text || '.' || quote_ident(a.attname)
               END AS target, d.description
        FROM pg_description d
        JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND c.oid = d.objoid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
        WHERE {_ours("n", "pg_class", "c.oid")}
        UNION ALL
        SELECT 'FUNCTION ' || p.oid::regprocedure::text, d.description
        FROM pg_description d
        JOIN pg_proc p ON d.classoid = 'pg_proc'::regclass AND p.oid = d.objoid
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_ours("n", "pg_proc", "p.oid")}
        ORDER BY 1
        """
    )
    return "".join(f"COMMENT ON {r['target']} IS {_literal(r['description'])};\n" for r in rows)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def migrated_schema(admin_url: str) -> str:
    """Migrate a new database on the server at `admin_url` and describe it (then drop it)."""
    name = create_database(admin_url)
    url = with_database(admin_url, name)

    async def run() -> str:
        db = Database(url, STATEMENTS, min_size=0, max_size=1)
        await db.connect()
        try:
            await migrate(db, MIGRATIONS)
        finally:
            await db.disconnect()
        return await describe(url)

    try:
        return asyncio.run(run())
    finally:
        drop_database(admin_url, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.schema",
        description="Compare (or with --write, rewrite) tests/expected_schema.sql with the "
        "schema sql/migrations builds, on DATABASE_URL's server or an embedded one.",
    )
    parser.add_argument("--write", action="store_true", help="rewrite the expected schema")
    args = parser.parse_args(argv)
    if os.environ.get("DATABASE_URL"):
        actual = migrated_schema(os.environ["DATABASE_URL"])
    else:
        # World-readable, as in tests/conftest.py: as root, PostgreSQL runs as uid 65534.
        folder = Path(tempfile.mkdtemp(prefix="gateway-schema-pg-"))
        folder.chmod(0o755)
        server = EmbeddedPostgres(folder, options=FAST_PG)
        try:
            actual = migrated_schema(server.start())
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
    expected = EXPECTED.read_text() if EXPECTED.exists() else ""
    if args.write:
        EXPECTED.write_text(actual)
        print(f"wrote {EXPECTED.relative_to(PROJECT_ROOT)}")
        return 0
    if actual != expected:
        print(diff(expected, actual))
        return 1
    print(f"{EXPECTED.relative_to(PROJECT_ROOT)} matches the migrations")
    return 0


if __name__ == "__main__":
    sys.exit(main())

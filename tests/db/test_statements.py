"""The named-statement loader: parsing, compiling :name to $n, and refusing bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.db import statements
from gateway.db.statements import StatementError, compile_params, load, parse_file, require
from gateway.settings import PROJECT_ROOT


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_compiles_named_parameters_in_order_of_first_use() -> None:
    sql, params = compile_params("SELECT :b, :a, :b FROM t WHERE x = :a")
    assert sql == "SELECT $1, $2, $1 FROM t WHERE x = $2"
    assert params == ("b", "a")


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ':nope'",
        'SELECT "col:nope" FROM t',
        "SELECT 1 -- :nope",
        "SELECT 1 /* :nope */",
        "SELECT $$ :nope $$",
        "SELECT $tag$ :nope $tag$",
        "SELECT now()::date",
    ],
)
def test_leaves_literals_comments_and_casts_alone(text: str) -> None:
    assert compile_params(text) == (text, ())


def test_cast_right_after_a_parameter() -> None:
    assert compile_params("SELECT :ids::bigint[]") == ("SELECT $1::bigint[]", ("ids",))


def test_positional_parameters_are_refused() -> None:
    with pytest.raises(StatementError, match=r"\$1"):
        compile_params("SELECT $1")


def test_parses_blocks_with_docs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "things.sql",
        "-- name: one\n-- Fetch one thing.\nSELECT * FROM t WHERE id = :id;\n\n"
        "-- name: all\n-- Every thing.\nSELECT * FROM t\n",
    )
    one, every = parse_file(path)
    assert (one.name, one.doc, one.sql, one.params) == (
        "things.one",
        "Fetch one thing.",
        "SELECT * FROM t WHERE id = $1",
        ("id",),
    )
    assert every.name == "things.all"
    assert one.args({"id": 7}) == (7,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1\n-- name: a\n-- A.\nSELECT 1", "before the first"),
        ("-- name: Bad-Name\n-- A.\nSELECT 1", "bad statement name"),
        ("-- name: a\nSELECT 1", "one-line comment"),
        ("-- name: a\n-- A.\n", "no SQL"),
        ("-- name: a\n-- A.\nSELECT 1; SELECT 2", "more than one statement"),
        ("-- name: a\n-- A.\nSELECT $1", "named"),
        ("-- just a comment\n", "no '-- name:' blocks"),
    ],
)
def test_malformed_files_fail_with_the_file_and_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, "bad.sql", text)
    with pytest.raises(StatementError, match=message) as caught:
        parse_file(path)
    assert "bad.sql" in str(caught.value)


def test_semicolon_inside_a_string_is_not_a_second_statement(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.sql", "-- name: a\n-- A.\nSELECT 'a;b'")
    assert parse_file(path)[0].sql == "SELECT 'a;b'"


def test_duplicate_names_fail(tmp_path: Path) -> None:
    write(tmp_path, "dup.sql", "-- name: a\n-- A.\nSELECT 1\n-- name: a\n-- A.\nSELECT 2")
    with pytest.raises(StatementError, match="duplicate statement name dup.a"):
        load(tmp_path)


def test_empty_folder_fails(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="no query files"):
        load(tmp_path)


def test_unknown_names_referenced_by_code_fail() -> None:
    registry = load(PROJECT_ROOT / "sql" / "queries")
    require(registry, ["products.by_id"])
    with pytest.raises(StatementError, match="products.nope"):
        require(registry, ["products.by_id", "products.nope"])


def test_parameters_must_match_exactly() -> None:
    statement = load(PROJECT_ROOT / "sql" / "queries")["products.by_id"]
    with pytest.raises(StatementError, match=r"missing \['id'\]"):
        statement.args({})
    with pytest.raises(StatementError, match=r"unexpected \['extra'\]"):
        statement.args({"id": 1, "extra": 2})


def test_every_shipped_statement_is_referenced_by_code() -> None:
    from gateway import services
    from gateway.db import migrations

    registry = statements.load(PROJECT_ROOT / "sql" / "queries")
    used = {*services.STATEMENTS, *migrations.STATEMENTS, *statements_used_by_seed()}
    assert sorted(set(registry) - used) == []


def statements_used_by_seed() -> set[str]:
    from gateway.db import seed

    return set(getattr(seed, "STATEMENTS", ()))

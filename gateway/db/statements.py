"""Named SQL statements: parse `sql/queries/*.sql` once and compile `:name` to `$n`.

A file holds blocks in the aiosql style::

    -- name: by_id
    -- One product by id, with its category.
    SELECT ... WHERE p.id = :id;

Statement names are qualified by the file's stem (`products.by_id`). Parameters are
compiled to asyncpg's positional `$n` once, here, so no SQL is rewritten per call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>\S*)\s*$")
_VALID_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Things the parameter scanner must step over whole: string literals, quoted identifiers,
# comments, dollar-quoted bodies and `::` casts. Parameters are what is left: `:name`.
_TOKENS = re.compile(
    r"""
      (?P<string>'(?:[^']|'')*')
    | (?P<ident>"(?:[^"]|"")*")
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*.*?\*/)
    | (?P<dollar>\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$)
    | (?P<cast>::)
    | (?P<param>(?<![:\w]):(?P<pname>[A-Za-z_][A-Za-z0-9_]*))
    | (?P<positional>\$\d+)
    """,
    re.VERBOSE | re.DOTALL,
)


class StatementError(ValueError):
    """A query file is malformed, or code asked for a statement or parameter that is not there."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One named statement, ready for asyncpg."""

    name: str
    doc: str
    text: str
    sql: str
    params: tuple[str, ...]
    read_only: bool = False

    def args(self, values: Mapping[str, Any] | None) -> tuple[Any, ...]:
        """Order `values` as `$1..$n`; missing or unexpected names are programming errors."""
        given = values or {}
        if len(given) != len(self.params) or any(p not in given for p in self.params):
            missing = sorted(set(self.params) - set(given))
            extra = sorted(set(given) - set(self.params))
            raise StatementError(
                f"{self.name}: parameters do not match (missing {missing}, unexpected {extra})"
            )
        return tuple(given[p] for p in self.params)


def compile_params(text: str) -> tuple[str, tuple[str, ...]]:
    """Rewrite `:name` to `$n` (the same name reuses its number); return SQL and names."""
    names: list[str] = []
    out: list[str] = []
    pos = 0
    for match in _TOKENS.finditer(text):
        if match.group("positional"):
            raise StatementError(f"use :named parameters, not {match.group('positional')}")
        if not match.group("param"):
            continue
        name = match.group("pname")
        if name not in names:
            names.append(name)
        out.append(text[pos : match.start()])
        out.append(f"${names.index(name) + 1}")
        pos = match.end()
    out.append(text[pos:])
    return "".join(out), tuple(names)


def parse_file(path: Path) -> list[Statement]:
    """Parse one query file; raise StatementError naming the file and line on any defect."""
    prefix = path.stem
    blocks: list[tuple[str, int, list[str]]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _NAME_LINE.match(line.strip())
        if match:
            blocks.append((match.group("name"), lineno, []))
        elif blocks:
            blocks[-1][2].append(line)
        elif line.strip() and not line.strip().startswith("--"):
            raise StatementError(f"{path.name}:{lineno}: SQL before the first '-- name:' line")
    statements = []
    for name, lineno, lines in blocks:
        where = f"{path.name}:{lineno}"
        if not _VALID_NAME.match(name):
            raise StatementError(f"{where}: bad statement name {name!r} (use snake_case)")
        doc_lines = []
        while lines and lines[0].strip().startswith("--"):
            doc_lines.append(lines.pop(0).strip().lstrip("-").strip())
        text = "\n".join(lines).strip().rstrip(";").strip()
        if not doc_lines:
            raise StatementError(f"{where}: {name} needs a one-line comment saying what it does")
        if not text:
            raise StatementError(f"{where}: {name} has no SQL")
        if ";" in _strip_literals(text):
            raise StatementError(f"{where}: {name} holds more than one statement")
        try:
            sql, params = compile_params(text)
        except StatementError as exc:
            raise StatementError(f"{where}: {name}: {exc}") from None
        statements.append(
            Statement(
                f"{prefix}.{name}", " ".join(doc_lines), text, sql, params, _is_read_only(text)
            )
        )
    if not statements:
        raise StatementError(f"{path.name}: no '-- name:' blocks")
    return statements


def load(directory: Path) -> dict[str, Statement]:
    """Load every `*.sql` under `directory`; duplicate names fail."""
    registry: dict[str, Statement] = {}
    files = sorted(directory.glob("*.sql"))
    if not files:
        raise StatementError(f"no query files in {directory}")
    for path in files:
        for statement in parse_file(path):
            if statement.name in registry:
                raise StatementError(f"{path.name}: duplicate statement name {statement.name}")
            registry[statement.name] = statement
    return registry


def require(registry: Mapping[str, Statement], names: Iterable[str]) -> None:
    """Fail at start-up when code refers to statements the files do not define."""
    unknown = sorted(set(names) - set(registry))
    if unknown:
        raise StatementError(f"unknown statements referenced by code: {', '.join(unknown)}")


# Anything that writes, locks or has side effects keeps a statement on the primary.
_SIDE_EFFECTS = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|CREATE|ALTER|DROP|COPY|GRANT|REVOKE|LOCK|"
    r"FOR\s+(NO\s+KEY\s+)?UPDATE|FOR\s+(KEY\s+)?SHARE|NEXTVAL|SETVAL|PG_ADVISORY\w*)\b",
    re.IGNORECASE,
)


def _is_read_only(text: str) -> bool:
    """Whether a statement may run on a read replica: a plain SELECT with no side effects."""
    code = _strip_literals(text).lstrip()
    return code.upper().startswith(("SELECT", "WITH")) and not _SIDE_EFFECTS.search(code)


def _strip_literals(text: str) -> str:
    return _TOKENS.sub(lambda m: "" if not (m.group("param") or m.group("cast")) else "x", text)

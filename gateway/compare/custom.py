"""Your own scenario: a GraphQL query and the REST requests a client would make instead.

The learner gives a GraphQL document (one query operation, with variables if it takes
any) and the REST requests for the same data, one per line; requests on consecutive
lines go out together, and a blank line starts a step that waits for the answers before
it (a client that needs an id from one answer to ask for the next). Both run and are
measured like the built-in scenarios; the fields the document selects are what the client
needs, so over-fetch is computed against them in both styles.

Read-only by construction: GET requests under /api/v1 and query operations only.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    parse,
)

from gateway.compare.measure import ENTITY_OF, TRANSPARENT, snake
from gateway.compare.scenarios import Client, Fixture, Made, Needs, Operation, Scenario

NAME = "custom"
MAX_DOCUMENT = 20_000
"""Characters of the GraphQL document."""
MAX_TOKENS = 5_000
MAX_REQUESTS = 60
API = "/api/v1"
# A path and query as a client would send them: no spaces, no fragment, no second host.
_PATH = re.compile(r"^/api/v1/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(\?[^\s#]*)?$")
# GraphQL fields whose information a REST answer carries under another name.
_SAME_AS: dict[str, tuple[tuple[str, str], ...]] = {
    "total_count": (("page", "total"),),
    "end_cursor": (("page", "next_cursor"),),
    "has_next_page": (("page", "next_cursor"),),
}


class CustomError(ValueError):
    """What is wrong with a custom scenario: (field, message) pairs, each said plainly."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Custom:
    """A custom scenario as given: the document, its variables, the REST steps."""

    graphql: str
    rest: tuple[tuple[str, ...], ...]
    variables: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "graphql": self.graphql,
            "rest": "\n\n".join("\n".join(step) for step in self.rest),
            "variables": dict(self.variables),
        }


def rest_steps(text: str) -> tuple[tuple[str, ...], ...]:
    """Lines to steps (a blank line between steps); CustomError names a bad line."""
    steps: list[list[str]] = [[]]
    problems: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            if steps[-1]:
                steps.append([])
            continue
        try:
            steps[-1].append(_path(line))
        except ValueError as exc:
            problems.append(("rest", f"line {number}: {exc}"))
    found = tuple(tuple(step) for step in steps if step)
    if not found and not problems:
        problems.append(("rest", "give at least one request, such as /api/v1/products/1"))
    if sum(len(step) for step in found) > MAX_REQUESTS:
        problems.append(("rest", f"at most {MAX_REQUESTS} requests"))
    if problems:
        raise CustomError(problems)
    return found


def _path(line: str) -> str:
    method, _, rest = line.partition(" ")
    if rest and method.isalpha() and method.isupper():
        if method != "GET":
            raise ValueError(f"only GET requests: a custom scenario reads, it does not {method}")
        line = rest.strip()
    if line.startswith(("http://", "https://")):
        parts = urlsplit(line)
        line = parts.path + (f"?{parts.query}" if parts.query else "")
    if not _PATH.match(line) or "//" in line.split("?")[0] or "/../" in line:
        raise ValueError(f"{line[:80]!r} is not a path under {API}/, such as {API}/products/1")
    return line


def parse_document(document: str) -> DocumentNode:
    """The document parsed, holding one query; CustomError says what is wrong, and where."""
    if not document.strip():
        raise CustomError([("graphql", "give a GraphQL query, such as { products { ... } }")])
    if len(document) > MAX_DOCUMENT:
        raise CustomError([("graphql", f"at most {MAX_DOCUMENT} characters")])
    try:
        parsed = parse(document, max_tokens=MAX_TOKENS)
    except GraphQLSyntaxError as exc:
        where = ""
        if exc.locations:
            where = f" (line {exc.locations[0].line}, column {exc.locations[0].column})"
        raise CustomError([("graphql", f"{exc.message}{where}")]) from None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise CustomError([("graphql", f"give exactly one operation, not {len(operations)}")])
    kind = operations[0].operation.value
    if kind != "query":
        raise CustomError(
            [("graphql", f"a {kind} is not measured here: a custom scenario only reads")]
        )
    return parsed


def needs_of(document: DocumentNode) -> Needs:
    """The fields each entity's selections name, as the projection of `measure` sees them:
    snake_case, per entity (the relation a field sits under), with the REST names of the
    same facts (`category { id }` is also `category_id`; `totalCount` is `page.total`)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found: dict[str, set[str]] = {}

    def walk(selections: Sequence[SelectionNode], entity: str | None, seen: frozenset[str]) -> None:
        for selection in selections:
            if isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set.selections, entity, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    walk(fragments[name].selection_set.selections, entity, seen | {name})
            elif isinstance(selection, FieldNode):
                name = snake(selection.name.value)
                if selection.selection_set is None:
                    if entity is not None and not name.startswith("__"):
                        found.setdefault(entity, set()).add(name)
                        for other, same in _SAME_AS.get(name, ()):
                            found.setdefault(other, set()).add(same)
                    continue
                child = entity if name in TRANSPARENT else ENTITY_OF.get(name, name)
                if child is not None:
                    found.setdefault(child, set())
                if entity is not None and name not in TRANSPARENT and _selects_id(selection):
                    found.setdefault(entity, set()).add(f"{name}_id")
                walk(selection.selection_set.selections, child, seen)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set.selections, None, frozenset())
    return {entity: frozenset(fields) for entity, fields in found.items()}


def _selects_id(field: FieldNode) -> bool:
    assert field.selection_set is not None
    return any(
        isinstance(s, FieldNode) and s.name.value == "id" for s in field.selection_set.selections
    )


def build(custom: Custom) -> Scenario:
    """The scenario that runs `custom`; CustomError if its document is not a valid query."""
    document = parse_document(custom.graphql)
    steps = custom.rest

    async def requests(client: Client, fixture: Fixture, made: Made) -> None:
        for step in steps:
            await asyncio.gather(*(client.get(path[len(API) :]) for path in step))

    count = sum(len(step) for step in steps)
    return Scenario(
        name=NAME,
        title="Your own scenario",
        lesson=f"Your GraphQL query against your {count} REST request"
        + ("s" if count != 1 else "")
        + f" in {len(steps)} step{'s' if len(steps) != 1 else ''}; over-fetch counts "
        "the fields the query selects as needed.",
        needs=needs_of(document),
        naive=requests,
        graphql=(Operation(document=custom.graphql, variables=dict(custom.variables)),),
        variants=("rest", "graphql"),
        titles={"rest": "REST (your requests)"},
    )

"""The Compare catalogue's vocabulary: a scenario, its three variants, and the client plans use.

A scenario is one task a client performs, defined once: the fields the client needs (to
compute over-fetch), a naive REST plan (plain resource calls, following links as a client
would), a tuned REST plan (`fields` / `include`), and the GraphQL operations with their
variables. The runner executes each variant over HTTP and measures it; the page and the
CLI only render what the runner measured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Needs = Mapping[str, frozenset[str]]
"""Entity (snake_case: product, category, review, user...) → the fields the client shows."""

Made = dict[str, Any]
"""What one iteration of a variant produced (ids it created, the product it picked);
shared by the passes of that iteration and handed to the scenario's cleanup."""

Fixture = dict[str, Any]
"""What a scenario's preparation found on the target (ids, a search phrase, pools)."""


class Client(Protocol):
    """What plans call: HTTP requests that the runner records, answering parsed JSON."""

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any: ...

    async def post(self, path: str, body: Any, headers: Mapping[str, str] | None = None) -> Any: ...

    async def delete(self, path: str) -> Any: ...

    async def graphql(
        self, document: str, variables: Mapping[str, Any], *, method: str = "POST"
    ) -> Any: ...


Plan = Callable[[Client, Fixture, Made], Awaitable[None]]
"""A REST variant: the calls a client makes for the task, recorded by the runner."""

Prepare = Callable[[Client, Fixture], Awaitable[None]]
"""Unmeasured: find on the target what the plans need (fills the fixture)."""

Cleanup = Callable[[Client, Fixture, Made], Awaitable[None]]
"""Unmeasured: undo what one iteration wrote, so the data stays as it was."""

Begin = Callable[[Fixture, Made], None]
"""Before each iteration of every variant: pick what this iteration works on."""


@dataclass(frozen=True, slots=True)
class Ref:
    """A GraphQL variable's value taken from the iteration (`Made`) or else the fixture."""

    key: str
    as_id: bool = False  # GraphQL IDs travel as strings

    def resolve(self, fixture: Fixture, made: Made) -> Any:
        value = made[self.key] if self.key in made else fixture[self.key]
        return str(value) if self.as_id else value


@dataclass(frozen=True, kw_only=True, slots=True)
class Operation:
    """One GraphQL request: a document, its variables, and what to keep from its answer."""

    document: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    # made[key] = the value at this dotted path of `data` (e.g. "placeOrder.order.id").
    keep: Mapping[str, str] = field(default_factory=dict)

    def resolved(self, fixture: Fixture, made: Made) -> dict[str, Any]:
        return {k: _resolve(v, fixture, made) for k, v in self.variables.items()}


def _resolve(value: Any, fixture: Fixture, made: Made) -> Any:
    if isinstance(value, Ref):
        return value.resolve(fixture, made)
    if isinstance(value, Mapping):
        return {k: _resolve(v, fixture, made) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_resolve(v, fixture, made) for v in value]
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class Scenario:
    """One task, and the ways of doing it that Compare measures (`variants`, in order)."""

    name: str
    title: str
    lesson: str  # what the scenario shows, in a sentence
    needs: Needs
    naive: Plan  # the `rest_naive` variant (and `rest`, a custom scenario's requests)
    graphql: tuple[Operation, ...]  # sent by `graphql` (POST) and `graphql_get` (GET)
    tuned: Plan | None = None  # the `rest_tuned` variant
    variants: tuple[str, ...] = ("rest_naive", "rest_tuned", "graphql")
    titles: Mapping[str, str] = field(default_factory=dict)  # a variant's title, if not the usual
    prepare: Prepare | None = None
    cleanup: Cleanup | None = None
    begin: Begin | None = None
    signed_in: bool = False  # every variant runs as a signed-in customer
    writes: bool = False
    # Each iteration runs the variant once per pass, in order, on the same data; the
    # figures are reported per pass. A pass named "cold" or "warm" sets the cache mode of
    # that pass whatever the run's mode (see `runner`).
    passes: tuple[str, ...] = ("",)
    # With one number per pass, the client keeps an HTTP cache across the passes of an
    # iteration, as a browser does across visits of a page, and each number is the time of
    # that pass in seconds after the first (`recorder.HttpCache`).
    visits_at: tuple[float, ...] = ()

    def title_of(self, variant: str) -> str:
        return self.titles.get(variant) or VARIANT_TITLES[variant]


VARIANTS = ("rest_naive", "rest_tuned", "graphql")
VARIANT_TITLES = {
    "rest_naive": "REST naive",
    "rest_tuned": "REST tuned",
    "rest": "REST",
    "graphql": "GraphQL",
    "graphql_get": "GraphQL GET",
}
CACHE_MODES = ("cold", "warm")


def needs(**entities: str) -> Needs:
    """`needs(product="id name price")`: the needed fields per entity, from words."""
    return {entity: frozenset(words.split()) for entity, words in entities.items()}


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path of nested dicts (`"placeOrder.order.id"`)."""
    for part in path.split("."):
        data = data[part]
    return data

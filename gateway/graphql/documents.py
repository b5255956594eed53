"""Parsed and validated documents, cached: a verdict per document text, LRU-bounded.

Validation dominates graphql-core's cost per request, and clients send the same few
documents over and over, so each document is parsed and validated once per process.
The key covers everything the verdict depends on: the document text, the schema (a
fingerprint of its SDL) and the static limits. Rules that read variables (cost, page
sizes) are not part of the verdict; they run on every request.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    print_schema,
    specified_rules,
    validate,
)

from gateway.graphql.protection import Limits, parse_document, static_rules

DEFAULT_ENTRIES = 1000
DEFAULT_MAX_CHARS = 20_000
"""Longer documents are judged every time: a cache of large one-offs would hold the
memory without ever saving any work."""

_Key = tuple[str, tuple[int, int, int, int, int, bool], str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A document's parse and static-validation outcome: the document, or its errors."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()


class VerdictCache:
    """A bounded LRU of verdicts; several `Documents` may share one (their keys differ)."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[_Key, Verdict] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: _Key) -> Verdict | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return found

    def put(self, key: _Key, verdict: Verdict) -> None:
        if self.max_entries <= 0:
            return
        self._entries[key] = verdict
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class Documents:
    """Judges documents against one schema and one set of limits, remembering verdicts."""

    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Limits,
        *,
        cache: VerdictCache | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.cache = cache if cache is not None else VerdictCache()
        self.max_chars = max_chars
        self._schema_key = hashlib.sha256(print_schema(schema).encode()).hexdigest()
        self._rules = (*specified_rules, *static_rules(limits))

    def verdict(self, text: str) -> Verdict:
        """The document `text` parsed and validated against the schema and static limits."""
        key = (self._schema_key, self.limits.static_key(), text)
        found = self.cache.get(key)
        if found is not None:
            return found
        verdict = self._judge(text)
        if len(text) <= self.max_chars:
            self.cache.put(key, verdict)
        return verdict

    def _judge(self, text: str) -> Verdict:
        try:
            document = parse_document(text, self.limits)
        except GraphQLError as error:
            return Verdict(None, (error,))
        # Validation stops once it has found more errors than an answer may show.
        errors = validate(
            self.schema,
            document,
            self._rules,
            max_errors=self.limits.max_errors,
            hide_suggestions=True,
        )
        if errors:
            return Verdict(None, tuple(errors))
        return Verdict(document)

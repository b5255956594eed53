"""Persisted queries: Apollo's automatic persisted queries (APQ) and the allow-list manifest.

A client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without the
document; on PERSISTED_QUERY_NOT_FOUND it sends both, the gateway checks that the hash is
the document's SHA-256 and, once the document has passed validation, has the document
store (`gateway.services.documents`) keep it for every replica.

What anonymous callers can make Redis hold is bounded: a document to register may be at
most `max_bytes` long (a larger one is refused with QUERY_TOO_LARGE before it is parsed),
it lives `ttl` seconds, and at most `max_count` live at once (the store's bounds); so the
store never holds more than max_count x max_bytes.

Allow-list mode (GRAPHQL_PERSISTED_ONLY) runs only the documents of a manifest loaded at
start-up (Apollo's persisted-query manifest format); nothing can be registered at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from gateway.errors import InvalidParameter
from gateway.graphql.errors import PersistedQueryNotFound, QueryTooLarge
from gateway.services.documents import DocumentStore, sha256
from gateway.services.resources import Resources

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
_HASH = re.compile(r"^[0-9a-f]{64}$")
_HASH_FIELD = "extensions.persistedQuery.sha256Hash"
# Apollo's clients recognise a miss by this exact message (newer ones by the code too).
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"


class ManifestError(ValueError):
    """The persisted-query manifest cannot be used; start-up stops."""


def requested_hash(extensions: object) -> str | None:
    """The hash `extensions.persistedQuery` asks for, or None when it asks for none.

    Raises InvalidParameter for anything but version 1 with a lowercase hex SHA-256.
    """
    if extensions is None:
        return None
    if not isinstance(extensions, dict):
        raise InvalidParameter("extensions", "must be an object")
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise InvalidParameter("extensions.persistedQuery", "only version 1 is supported")
    found = persisted.get("sha256Hash")
    if not isinstance(found, str) or not _HASH.match(found):
        raise InvalidParameter(_HASH_FIELD, "must be a lowercase hex SHA-256")
    return found


@dataclass(frozen=True, slots=True)
class Resolved:
    """The document a request runs, and the hash to register it under once it is valid."""

    text: str
    register: str | None = None


class PersistedQueries:
    """Looks documents up by hash (manifest, then the document store) and says which new
    ones to register."""

    def __init__(
        self,
        *,
        prefix: str,
        manifest: Mapping[str, str] | None = None,
        only: bool = False,
        max_bytes: int = 16 * 1024,
        max_count: int = 2000,
        ttl: float = 86400,
        near_entries: int = 1000,
    ) -> None:
        self.manifest = dict(manifest or {})
        self.only = only
        self.max_bytes = max_bytes
        self.store = DocumentStore(
            prefix=prefix, max_count=max_count, ttl=ttl, near_entries=near_entries
        )

    async def resolve(
        self,
        resources: Resources,
        query: object,
        extensions: object,
        *,
        may_register: bool = True,
    ) -> Resolved:
        """The document to run for a request's `query` and `extensions`.

        Raises PersistedQueryNotFound (unknown hash; or, in allow-list mode, any document
        not in the manifest), InvalidParameter (malformed extension; hash mismatch) and
        QueryTooLarge (a document to register longer than `max_bytes`).
        A request with no persisted-query extension passes its `query` through as sent.
        """
        wanted = requested_hash(extensions)
        if query is not None and (not isinstance(query, str) or not query):
            raise InvalidParameter("query", "must be a non-empty string")
        if wanted is None:
            if self.only:
                raise PersistedQueryNotFound(
                    "Only persisted queries run here: send extensions.persistedQuery "
                    "with the hash of a document from the manifest."
                )
            if query is None:
                raise InvalidParameter("query", "send a query, or extensions.persistedQuery")
            return Resolved(query)
        if query is not None:
            if sha256(query) != wanted:
                raise InvalidParameter(_HASH_FIELD, "is not the SHA-256 of the query")
            if self.only and wanted not in self.manifest:
                raise PersistedQueryNotFound(
                    "This document is not on the allow-list; new documents cannot be "
                    "registered here."
                )
            if wanted in self.manifest or self.store.known(wanted) or not may_register:
                return Resolved(query)
            if len(query.encode()) > self.max_bytes:
                raise QueryTooLarge(
                    f"A persisted query may be at most {self.max_bytes} bytes; send a larger "
                    "document without extensions.persistedQuery."
                )
            return Resolved(query, wanted)
        text = await self.lookup(resources, wanted)
        if text is None:
            raise PersistedQueryNotFound(NOT_FOUND_MESSAGE)
        return Resolved(text)

    async def lookup(self, resources: Resources, wanted: str) -> str | None:
        """The document named `wanted`: the manifest's, else (unless only the manifest
        runs) the store's; None when neither has it."""
        if wanted in self.manifest:
            return self.manifest[wanted]
        if self.only:
            return None
        return await self.store.find(resources, wanted)

    async def register(self, resources: Resources, wanted: str, text: str) -> None:
        """Keep a validated document under its hash for every replica (best effort)."""
        await self.store.keep(resources, wanted, text)


def load_manifest(path: Path) -> dict[str, str]:
    """The documents of an Apollo persisted-query manifest, by hash.

    The file is `{"format": "apollo-persisted-query-manifest", "version": 1,
    "operations": [{"id": <sha256 of body>, "body": ..., "name": ..., "type": ...}]}`.
    Raises ManifestError when it is unreadable, malformed, or an id is not its body's hash.
    """
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ManifestError(f"cannot read the persisted-query manifest {path}: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != MANIFEST_FORMAT
        or data.get("version") != 1
        or not isinstance(data.get("operations"), list)
    ):
        raise ManifestError(
            f"{path} is not a {MANIFEST_FORMAT} version 1 (format, version, operations)"
        )
    documents: dict[str, str] = {}
    for index, operation in enumerate(data["operations"]):
        body = operation.get("body") if isinstance(operation, dict) else None
        given = operation.get("id") if isinstance(operation, dict) else None
        if not isinstance(body, str) or not isinstance(given, str):
            raise ManifestError(f"{path}: operation {index} needs a string id and body")
        if sha256(body) != given:
            raise ManifestError(f"{path}: operation {index} has an id that is not sha256(body)")
        documents[given] = body
    return documents

"""Keyset pagination: opaque cursors and pages, one format for REST and GraphQL.

A cursor is base64url (unpadded) of a short checksum followed by the payload, the JSON
array `[sort tag, last key values...]`. The checksum is for integrity, not secrecy: it
makes an edited or truncated cursor a clear 400 instead of a silently different page, and
a cursor minted for one sort order cannot be replayed against another.

PostgreSQL mints the same cursors inside the planner's statements (`gateway_cursor` in
sql/migrations/0005): the payload is written as its `json_build_array(...)::text` writes
it (`", "` between values), and the checksum is the first 8 bytes of SHA-256 over
`gateway-cursor-v2:` and the payload, so a cursor from either path works in both. Cursors
of the first format (a keyed BLAKE2b checksum) are still accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from gateway.errors import InvalidParameter

T = TypeVar("T")

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
_KEY = b"gateway-cursor-v1"
_PREFIX = b"gateway-cursor-v2:"
_DIGEST = 8


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list."""

    items: list[T]
    cursors: list[str]
    next_cursor: str | None
    total: int | None = None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def encode_cursor(sort: str, values: Sequence[Any]) -> str:
    """An opaque cursor positioned after the row whose sort key is `values` (strings and
    integers), byte for byte as PostgreSQL's `gateway_cursor` mints it."""
    # orjson escapes strings exactly as PostgreSQL's JSON output does (the same characters,
    # lower-case \u00XX, everything else as UTF-8), so only the separators need care.
    payload = b"[" + b", ".join(orjson.dumps(v) for v in (sort, *values)) + b"]"
    return base64.urlsafe_b64encode(_checksum(payload) + payload).rstrip(b"=").decode("ascii")


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(_PREFIX + payload).digest()[:_DIGEST]


def decode_cursor(cursor: str, sort: str, *, parameter: str = "after") -> list[Any]:
    """The key values inside `cursor`; InvalidParameter if it is malformed or foreign."""
    if len(cursor) > 512:
        raise InvalidParameter(parameter, "cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidParameter(parameter, "not a valid cursor") from None
    digest, payload = raw[:_DIGEST], raw[_DIGEST:]
    legacy = hashlib.blake2b(payload, key=_KEY, digest_size=_DIGEST).digest()
    if len(digest) != _DIGEST or not (
        hmac.compare_digest(digest, _checksum(payload)) or hmac.compare_digest(digest, legacy)
    ):
        raise InvalidParameter(parameter, "not a valid cursor")
    try:
        decoded = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise InvalidParameter(parameter, "not a valid cursor") from None
    if not isinstance(decoded, list) or not decoded or decoded[0] != sort:
        raise InvalidParameter(parameter, "cursor belongs to another sort order")
    return decoded[1:]


def check_limit(limit: int, *, parameter: str = "limit") -> int:
    """`limit` if it is within 1..MAX_LIMIT, else InvalidParameter."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(parameter, f"must be between 1 and {MAX_LIMIT}")
    return limit

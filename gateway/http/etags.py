"""Entity tags: a strong ETag is a hash of the body, and how If-Match / If-None-Match compare.

One format everywhere: `"` + base64url(XXH3-128(body)) + `"`, 22 characters between the
quotes. A GET's ETag is the hash of the exact bytes sent, so it changes whenever anything
in the representation changes (a review moving `rating_avg`, a renamed category embedded
in a product), not only when the row's version does. The hash runs over every read's body,
so it is a fast non-cryptographic one: 128 bits make an accidental collision between two
states of one resource out of reach, and a tag promises byte equality, not secrecy
(nothing is keyed or signed with it; tags made by SHA-256 before stay well-formed, they
simply no longer match, as after any change of the body). If-Match is judged the same
way: the write recomputes the hash of the resource's current representation and goes
ahead only if it equals one given.

A compressed body is another representation with a tag of its own: the identity tag with
the coding appended inside the quotes (`"abc"` → `"abc-gzip"`, `"abc-br"`), so caches never
confuse the two. Comparisons look through that suffix: every coding of the same bytes is
the same state of the resource, so a tag GET gave in any coding validates a later GET (304)
and a write (If-Match) alike.
"""

from __future__ import annotations

import binascii
import re

from xxhash import xxh3_128_digest

# An entity-tag (RFC 9110 §8.8.3): optional weakness marker, then an opaque quoted string.
_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def of(body: bytes) -> str:
    """The strong ETag of a representation's bytes."""
    # 16 bytes are 22 base64 characters and two of padding, cut off.
    encoded = binascii.b2a_base64(xxh3_128_digest(body), newline=False)[:22]
    return '"' + encoded.translate(_URLSAFE).decode("ascii") + '"'


CODINGS = ("gzip", "br")
"""Content codings whose tag is the identity tag with `-<coding>` inside the quotes."""


def encoded(etag: str, coding: str) -> str:
    """The tag of `etag`'s representation sent with Content-Encoding `coding`.

    A weak tag stays as it is: it already promises only semantic equivalence, which every
    coding of the same body has.
    """
    if etag.startswith("W/"):
        return etag
    return f'{etag[:-1]}-{coding}"'


def content(tag: str) -> str:
    """`tag` without a content-coding suffix: the tag of the identity representation."""
    for coding in CODINGS:
        suffix = f'-{coding}"'
        if tag.endswith(suffix):
            return tag[: -len(suffix)] + '"'
    return tag


def parse(header: str) -> tuple[bool, list[tuple[bool, str]]] | None:
    """(`*` given, [(weak, tag)...]) from an If-Match / If-None-Match value; None if malformed."""
    text = header.strip()
    if text == "*":
        return True, []
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(text):
        match = _TAG.match(text, position)
        if match is None or match.end() == position:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return (False, tags) if tags else None


def none_match(header: str, etag: str) -> bool:
    """Whether If-None-Match `header` matches `etag` (weak comparison, RFC 9110 §13.1.2)."""
    parsed = parse(header)
    if parsed is None:
        return False
    star, tags = parsed
    wanted = content(etag.removeprefix("W/"))
    return star or any(content(tag) == wanted for _, tag in tags)


def match(header: str, etag: str) -> bool:
    """Whether If-Match `header` allows a write to the representation tagged `etag`.

    Strong comparison (RFC 9110 §13.1.1): a weak tag never matches; `*` matches any
    existing representation.
    """
    parsed = parse(header)
    if parsed is None:
        return False
    star, tags = parsed
    if etag.startswith("W/"):
        return star
    wanted = content(etag)
    return star or any(not weak and content(tag) == wanted for weak, tag in tags)

"""Response compression: br or gzip, as Accept-Encoding asks, for bodies worth compressing.

A body of at least `min_bytes` with a textual media type (JSON, problem+json, GraphQL
responses, HTML, CSS, scripts, metrics) is compressed with the coding the client weighs
highest (brotli on a tie: smaller at the same cost); `q=0` refuses a coding. Such answers
say `Vary: Accept-Encoding` whether or not they were compressed, so shared caches keep
the codings apart. Never compressed: 1xx/204/304 answers, partial content, event streams,
bodies already encoded, and anything smaller than the threshold.

An answer's ETag (`gateway.http.pipeline`) is computed on the identity body, and a
compressed body gets the coding appended inside the quotes (`"abc"` → `"abc-br"`;
`gateway.etags`). A 304 carries back the tag the client presented for the same content,
since it cannot know which coding a body it did not send would have had.
"""

from __future__ import annotations

import re
import zlib
from typing import Protocol

import brotli
from starlette.datastructures import Headers, MutableHeaders

from gateway.http import etags

_COMPRESSIBLE = re.compile(
    r"text/(?!event-stream)[a-z0-9.+-]+"
    r"|application/(?:json|javascript|xml|[a-z0-9.-]+\+(?:json|xml))"
    r"|image/svg\+xml"
)
GZIP_LEVEL = 6
BROTLI_QUALITY = 4
"""Brotli's quality for dynamic content: gzip-6's speed, a smaller result (11 is for
files compressed once)."""


class Compressor(Protocol):
    def process(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class _Gzip:
    """zlib's gzip framing: no file name, mtime 0, so the same body compresses alike."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)

    def process(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def finish(self) -> bytes:
        return self._z.flush()


def compressor(coding: str) -> Compressor:
    if coding == "br":
        found: Compressor = brotli.Compressor(quality=BROTLI_QUALITY)
        return found
    return _Gzip()


def choose(accept_encoding: str | None) -> str | None:
    """The coding to send for an Accept-Encoding value (RFC 9110 §12.5.3), or None."""
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, *parameters = item.split(";")
        weight = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        name = name.strip().lower()
        if name == "x-gzip":
            name = "gzip"
        if name:
            weights[name] = weight
    fallback = weights.get("*", 0.0)
    best: tuple[float, str] | None = None
    for coding in ("br", "gzip"):
        weight = weights.get(coding, fallback)
        if weight > 0 and (best is None or weight > best[0]):
            best = (weight, coding)
    if best is None or weights.get("identity", 0.0) > best[0]:
        return None
    return best[1]


def compressible(headers: Headers) -> bool:
    """Whether an answer with these headers is one we would compress, size aside."""
    if "content-encoding" in headers or "content-range" in headers:
        return False
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return _COMPRESSIBLE.fullmatch(media_type) is not None


def echo_tag(headers: MutableHeaders, if_none_match: str | None) -> None:
    """Give a 304 the validator the client holds for this content, in whatever coding."""
    current = headers.get("etag")
    parsed = etags.parse(if_none_match) if if_none_match and current else None
    if current is None or parsed is None:
        return
    wanted = etags.content(current.removeprefix("W/"))
    for weak, tag in parsed[1]:
        if etags.content(tag) == wanted:
            headers["ETag"] = f"W/{tag}" if weak else tag
            return

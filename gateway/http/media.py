"""Content negotiation for GraphQL over HTTP: which media type an answer uses, and its status.

The GraphQL-over-HTTP spec (its stage-2 text of 2025, "application/graphql-response+json")
gives each media type its own status rules:

- `application/graphql-response+json`: an answer that holds `data` (execution ran, even
  if it failed in every field) is 200, so a client can trust the body whatever happened;
  a request refused before execution (parse, validation, variables, limits, method, media
  type) keeps its 4xx, and a backend failure before execution its 5xx.
- `application/json` (legacy clients): our statuses as before, where an execution that a
  backend failure left without any data also answers 503/504/500.

`Accept` is read per RFC 9110 §12.5.1: the highest q-value wins; at equal q a type the
client named beats one it reached through a wildcard, then the one it listed first; a bare
`*/*` (or no Accept at all) gets application/json, which every client understands.
"""

from __future__ import annotations

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
OFFERS = (GRAPHQL_RESPONSE, JSON)
"""What /graphql can answer in; on a tie between wildcards the later one (JSON) wins."""

CONTENT_TYPES = {GRAPHQL_RESPONSE: f"{GRAPHQL_RESPONSE}; charset=utf-8", JSON: JSON}


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in for this Accept header; None when it allows neither."""
    if accept is None or not accept.strip():
        return JSON
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    ranges = _ranges(accept)
    for preference, offer in enumerate(OFFERS):
        found = _quality(offer, ranges)
        if found is None or found[0] <= 0:
            continue
        quality, specificity, position = found
        # Higher q first; then a named type over a wildcard; then the earlier listed; then
        # the server's preference (JSON, the later offer) between two wildcards.
        rank = (quality, specificity, -position if specificity == 2 else preference)
        if best is None or rank > best:
            best, chosen = rank, offer
    return chosen


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) for each media range; ranges with a malformed q are ignored."""
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        kind, slash, subtype = media.lower().partition("/")
        if not slash or not kind or not subtype:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = -1.0
        if 0 <= quality <= 1:
            ranges.append((kind, subtype, quality))
    return ranges


def _quality(offer: str, ranges: list[tuple[str, str, float]]) -> tuple[float, int, int] | None:
    """(q, specificity, position) of the most specific range that matches `offer`."""
    kind, _, subtype = offer.partition("/")
    found: tuple[float, int, int] | None = None
    for position, (want_kind, want_subtype, quality) in enumerate(ranges):
        if (want_kind, want_subtype) == (kind, subtype):
            specificity = 2
        elif (want_kind, want_subtype) == (kind, "*"):
            specificity = 1
        elif (want_kind, want_subtype) == ("*", "*"):
            specificity = 0
        else:
            continue
        if found is None or specificity > found[1]:
            found = (quality, specificity, position)
    return found

"""Parsing REST path and query parameters into typed values, or a 400 that says why."""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import Request

from gateway.errors import InvalidParameter
from gateway.ids import parse_id
from gateway.pagination import DEFAULT_LIMIT, check_limit


def path_id(request: Request, name: str = "id") -> int:
    """A positive 64-bit integer from the path; InvalidParameter otherwise."""
    return parse_id(request.path_params[name], name)


def query_id(request: Request, name: str) -> int | None:
    """An optional id query parameter (`?parent_id=3`); InvalidParameter when malformed."""
    raw = request.query_params.get(name)
    return None if raw is None else parse_id(raw, name)


def only(request: Request, allowed: Collection[str]) -> None:
    """Refuse unknown or repeated query parameters, so a typo is an error, not ignored."""
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key not in allowed:
            raise InvalidParameter(key, f"unknown parameter; allowed: {', '.join(sorted(allowed))}")
        if key in seen:
            raise InvalidParameter(key, "given more than once")
        seen.add(key)


def limit(request: Request) -> int:
    """`limit`, 1..100, default 20."""
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise InvalidParameter("limit", "must be a whole number")
    return check_limit(int(raw))


def cursor(request: Request) -> str | None:
    """`after`, an opaque cursor (checked by the service)."""
    raw = request.query_params.get("after")
    if raw == "":
        raise InvalidParameter("after", "must not be empty")
    return raw


def count(request: Request) -> bool:
    """`count=exact` asks for `page.total`."""
    raw = request.query_params.get("count")
    if raw is None:
        return False
    if raw != "exact":
        raise InvalidParameter("count", "the only supported value is 'exact'")
    return True

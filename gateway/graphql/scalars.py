"""Custom scalars of the schema."""

from __future__ import annotations

from datetime import datetime

from ariadne import ScalarType

datetime_scalar = ScalarType("DateTime")


@datetime_scalar.serializer
def serialize_datetime(value: datetime | str) -> str:
    # Values from the cache arrive as the RFC 3339 text orjson wrote, the same text as
    # isoformat() gives for the datetime the database returned.
    return value if isinstance(value, str) else value.isoformat()

"""graphql/scalars.py: DateTime serializes a database datetime and cached RFC 3339 text alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from gateway.graphql.scalars import serialize_datetime
from gateway.graphql.schema import build_schema
from gateway.settings import PROJECT_ROOT


def test_a_datetime_is_written_as_iso_8601_with_its_offset() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert serialize_datetime(moment) == "2026-01-02T03:04:05.000006+00:00"
    east = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert serialize_datetime(east) == "2026-01-02T03:04:05+02:00"


def test_text_from_the_cache_passes_through_unchanged() -> None:
    # What orjson wrote into the cache is already the answer's text: not parsed again.
    assert serialize_datetime("2026-01-02T03:04:05.000006+00:00") == (
        "2026-01-02T03:04:05.000006+00:00"
    )
    assert serialize_datetime("not reparsed") == "not reparsed"


def test_the_cached_text_and_the_database_value_serialize_the_same() -> None:
    moment = datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert serialize_datetime(serialize_datetime(moment)) == serialize_datetime(moment)


def test_the_schema_binds_the_serializer_to_datetime() -> None:
    schema = build_schema(PROJECT_ROOT / "schema.graphql")
    scalar = schema.type_map["DateTime"]
    moment = datetime(2026, 6, 1, tzinfo=UTC)
    assert scalar.serialize(moment) == "2026-06-01T00:00:00+00:00"  # type: ignore[attr-defined]

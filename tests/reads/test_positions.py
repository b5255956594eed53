"""gateway/reads/positions.py: cursors decoded into typed keyset positions, and filters as
(model filter, value) pairs; what a decoded position holds, PostgreSQL takes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from gateway.db import Database
from gateway.errors import InvalidParameter
from gateway.ids import MAX_ID
from gateway.reads import lists, positions
from gateway.reads.model import MODEL
from gateway.reads.pagination import encode_cursor
from gateway.services.product_lists import ProductFilter

PRODUCT = MODEL["Product"]
INT4_MAX = 2**31 - 1


def _decode(sort: str, values: list[Any]) -> tuple[Any, ...]:
    found, descending = PRODUCT.sort(sort)
    cursor = encode_cursor(positions.tag(PRODUCT, found, descending), values)
    return positions.decode(PRODUCT, found, descending, cursor)


def test_the_tag_names_the_resource_the_direction_and_the_field() -> None:
    sort, descending = PRODUCT.sort("-rating_avg")
    assert positions.tag(PRODUCT, sort, descending) == "products:-rating_avg"
    assert positions.types(sort) == ("numeric", "bigint")
    assert positions.types(PRODUCT.sort("id")[0]) == ("bigint",)


@pytest.mark.parametrize(
    ("sort", "values", "position"),
    [
        ("id", [MAX_ID], (MAX_ID,)),
        ("review_count", [INT4_MAX, 1], (INT4_MAX, 1)),
        ("review_count", [-INT4_MAX - 1, 1], (-INT4_MAX - 1, 1)),
        ("price", ["999999999999999.9999", 2], (Decimal("999999999999999.9999"), 2)),
        ("-price", ["-0.5", 2], (Decimal("-0.5"), 2)),
        ("name", ["x" * 300, 3], ("x" * 300, 3)),
        (
            "created_at",
            ["2026-01-02T03:04:05.000006+01:00", 4],
            (datetime.fromisoformat("2026-01-02T03:04:05.000006+01:00"), 4),
        ),
    ],
)
def test_keys_at_their_bounds_are_taken(
    sort: str, values: list[Any], position: tuple[Any, ...]
) -> None:
    assert _decode(sort, values) == position


@pytest.mark.parametrize(
    ("sort", "values"),
    [
        ("id", [MAX_ID + 1]),
        ("id", [0 - 1]),
        ("id", [True]),
        ("id", [1, 2]),
        ("review_count", [INT4_MAX + 1, 1]),
        ("review_count", [-INT4_MAX - 2, 1]),
        ("review_count", [1.5, 1]),
        ("review_count", [1]),
        ("price", ["1000000000000000", 2]),
        ("price", ["1.00001", 2]),
        ("price", ["1e3", 2]),
        ("price", [1, 2]),
        ("name", ["nul\x00", 3]),
        ("name", [7, 3]),
        ("created_at", ["2026-01-02T03:04:05", 4]),
        ("created_at", ["yesterday", 4]),
        ("created_at", ["2026-01-02T03:04:05+00:00" + " " * 20, 4]),
    ],
)
def test_keys_past_their_bounds_or_of_the_wrong_kind_are_refused(
    sort: str, values: list[Any]
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        _decode(sort, values)
    assert caught.value.parameter == "after"
    assert str(caught.value) == "after: not a valid cursor"


@pytest.mark.anyio
async def test_positions_at_their_bounds_run_on_postgresql(db: Database) -> None:
    # Taken here means taken there too: never a database error (a 500) for a cursor.
    cases: list[tuple[str, list[Any]]] = [
        ("id", [MAX_ID]),
        ("review_count", [INT4_MAX, MAX_ID]),
        ("price", ["999999999999999.9999", 1]),
        ("name", ["\U0001f4a1" * 60, 1]),
        ("created_at", ["0001-01-01T00:00:00+00:00", 1]),
        ("-created_at", ["9999-12-31T23:59:59.999999+00:00", 1]),
    ]
    for sort, values in cases:
        position = _decode(sort, values)
        sql = lists.rows_sql(lists.Rows("Product", sort, (), after=True))
        assert await db.fetch_read_all("test", sql, [*position, 1]) == []


def test_filters_pair_each_given_value_with_its_model_filter_in_a_fixed_order() -> None:
    wanted = ProductFilter.model_validate(
        {"rating_gte": "4", "tag": "warm", "in_stock": "true", "category": "12"}
    )
    assert positions.filter_values(wanted) == [
        ("category_id", 12),
        ("in_stock", True),
        ("tag", "warm"),
        ("rating_gte", Decimal(4)),
    ]
    by_slug = ProductFilter.model_validate({"category": "desk-lamps", "q": "brass"})
    assert positions.filter_values(by_slug) == [("category_slug", "desk-lamps"), ("q", "brass")]
    assert positions.filter_values(ProductFilter()) == []
    for name in positions.FILTER_NAMES:
        PRODUCT.filter(name)  # every pass-through name is a filter of the model

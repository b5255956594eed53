"""gateway/reads/ordering.py: the services' sort orders, their cursors and their pages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from gateway.errors import InvalidParameter
from gateway.reads.ordering import SortOrder, choose, orders_of, page_from
from gateway.reads.pagination import encode_cursor

PRODUCTS = orders_of("Product")
REVIEWS = orders_of("Review")


def test_every_sort_of_the_model_comes_in_both_directions() -> None:
    assert list(PRODUCTS) == [
        "id",
        "-id",
        "price",
        "-price",
        "name",
        "-name",
        "created_at",
        "-created_at",
        "rating_avg",
        "-rating_avg",
        "review_count",
        "-review_count",
    ]
    assert list(orders_of("Tag")) == ["name", "-name"]
    price = PRODUCTS["-price"]
    assert (price.field, price.kind, price.descending) == ("price", "decimal", True)
    assert price.tag == "products:-price"
    with pytest.raises(KeyError):
        orders_of("NoSuchType")


def test_an_unknown_sort_is_refused_naming_the_allowed_ones() -> None:
    assert choose(REVIEWS, "-rating") is REVIEWS["-rating"]
    with pytest.raises(InvalidParameter) as caught:
        choose(REVIEWS, "title")
    assert caught.value.parameter == "sort"
    assert str(caught.value) == "sort: must be one of created_at, -created_at, rating, -rating"


@pytest.mark.parametrize(
    ("types", "name", "row", "position"),
    [
        ("Product", "price", {"id": 7, "sort_key": Decimal("12.50")}, (Decimal("12.50"), 7)),
        ("Product", "-id", {"id": 9, "sort_key": 9}, (9,)),
        ("Product", "name", {"id": 3, "sort_key": "Lamp ü"}, ("Lamp ü", 3)),
        ("Product", "-review_count", {"id": 4, "sort_key": 11}, (11, 4)),
        (
            "Review",
            "-created_at",
            {"id": 5, "sort_key": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)},
            (datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), 5),
        ),
    ],
)
def test_a_cursor_minted_for_a_row_gives_back_its_typed_position(
    types: str, name: str, row: dict[str, Any], position: tuple[Any, ...]
) -> None:
    order = orders_of(types)[name]
    assert order.position(None) == ()
    assert order.position(order.cursor(row)) == position


def test_a_cursor_of_another_order_or_resource_is_refused() -> None:
    minted = PRODUCTS["price"].cursor({"id": 7, "sort_key": Decimal("1.00")})
    for other in (PRODUCTS["-price"], PRODUCTS["name"], orders_of("Category")["id"]):
        with pytest.raises(InvalidParameter) as caught:
            other.position(minted)
        assert caught.value.parameter == "after"


def test_a_cursor_with_the_right_tag_but_a_wrong_key_is_refused() -> None:
    price = PRODUCTS["price"]
    for values in ([7], ["not a number", 7], ["1.00", "7"], ["1.00", 7, 8], ["1.00", -1]):
        with pytest.raises(InvalidParameter, match="after: not a valid cursor"):
            price.position(encode_cursor(price.tag, values))


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "sort_key": i} for i in range(1, n + 1)]


def test_a_page_shows_limit_rows_and_the_extra_row_only_says_another_follows() -> None:
    order = SortOrder("Product", "review_count", "int")
    page = page_from(_rows(3), 2, order, lambda row: row["id"], total=10)
    assert page.items == [1, 2]
    assert page.cursors == [order.cursor(r) for r in _rows(2)]
    assert page.next_cursor == page.cursors[-1] and page.has_next
    assert page.total == 10
    assert order.position(page.next_cursor) == (2, 2)


def test_a_page_at_or_under_its_limit_is_the_last() -> None:
    order = SortOrder("Product", "id", "id")
    full = page_from(_rows(2), 2, order, lambda row: row["id"])
    assert full.items == [1, 2] and full.next_cursor is None and full.total is None
    empty = page_from([], 2, order, lambda row: row["id"])
    assert (empty.items, empty.cursors, empty.next_cursor) == ([], [], None)

"""gateway/ids.py: ids as clients spell them, one spelling per resource, up to 2**63 - 1."""

from __future__ import annotations

import pytest

from gateway.errors import InvalidParameter
from gateway.ids import MAX_ID, parse_id


@pytest.mark.parametrize(
    ("value", "expected"), [("1", 1), ("42", 42), (7, 7), (str(MAX_ID), 2**63 - 1)]
)
def test_plain_decimal_ids_parse(value: object, expected: int) -> None:
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    "value",
    ["0", "07", "-1", "+1", " 7", "7 ", "1e3", "1.0", "", "abc", "\u0663", "\uff11", 0, None],
)
def test_every_other_spelling_is_refused(value: object) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_id(value, "productId")
    assert caught.value.parameter == "productId"
    assert caught.value.detail == "productId: must be a positive integer id"


def test_past_the_largest_bigint_is_out_of_range() -> None:
    with pytest.raises(InvalidParameter, match=r"^id: is out of range$"):
        parse_id(str(MAX_ID + 1))
    # Twenty digits are not even looked at as a number.
    with pytest.raises(InvalidParameter, match="must be a positive integer id"):
        parse_id("1" * 20)

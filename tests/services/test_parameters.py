"""gateway/services/parameters.py: read parameters typed alike from query strings and
GraphQL arguments, refused with INVALID_PARAMETER naming the parameter at fault."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import BeforeValidator

from gateway.errors import InvalidParameter
from gateway.ids import MAX_ID
from gateway.services.parameters import (
    Flag,
    Id,
    ListParameters,
    Names,
    Parameters,
    decimal_between,
    parse,
)


class Probe(Parameters):
    id: Id | None = None
    flag: Flag | None = None
    rating: Annotated[Decimal, BeforeValidator(decimal_between(Decimal(0), Decimal(5)))] | None = (
        None
    )
    fields: Names[Literal["id", "name", "price"]] | None = None


def _refusal(model: type[Parameters], data: dict[str, Any]) -> str:
    with pytest.raises(InvalidParameter) as caught:
        parse(model, data)
    assert caught.value.code == "INVALID_PARAMETER"
    return str(caught.value)


def test_a_list_takes_the_same_values_from_text_or_typed_arguments() -> None:
    assert parse(ListParameters, {}) == ListParameters(limit=20, after=None, count=None)
    from_query = parse(ListParameters, {"limit": "100", "after": "c", "count": "exact"})
    from_graphql = parse(ListParameters, {"limit": 100, "after": "c", "count": "exact"})
    assert from_query == from_graphql and from_query.limit == 100
    assert parse(ListParameters, {"limit": "1"}).limit == 1
    assert parse(ListParameters, {"after": "x" * 512}).after == "x" * 512


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"limit": "0"}, "limit: input should be greater than or equal to 1"),
        ({"limit": 101}, "limit: input should be less than or equal to 100"),
        ({"limit": "1.5"}, "limit: must be a whole number"),
        ({"limit": "\uff12"}, "limit: must be a whole number"),
        ({"limit": True}, "limit: must be a whole number"),
        ({"after": ""}, "after: string should have at least 1 character"),
        ({"after": "x" * 513}, "after: string should have at most 512 characters"),
        ({"count": "estimated"}, "count: input should be 'exact'"),
        ({"sort": "price"}, "sort: unknown parameter; allowed: after, count, limit"),
    ],
)
def test_a_list_refuses_values_past_their_bounds(data: dict[str, Any], message: str) -> None:
    assert _refusal(ListParameters, data) == message


def test_an_id_is_digits_without_a_leading_zero_up_to_the_largest_id() -> None:
    assert parse(Probe, {"id": "7"}).id == parse(Probe, {"id": 7}).id == 7
    assert parse(Probe, {"id": str(MAX_ID)}).id == MAX_ID
    for bad in ("07", "-1", "1e3", " 7", "", "٣"):
        assert _refusal(Probe, {"id": bad}) == "id: must be a positive integer id", bad
    assert _refusal(Probe, {"id": str(MAX_ID + 1)}).startswith("id: input should be less than")
    assert _refusal(Probe, {"id": 0}) == "id: input should be greater than or equal to 1"
    assert _refusal(Probe, {"id": False}) == "id: must be a positive integer id"


def test_a_flag_is_true_or_false_and_nothing_else() -> None:
    assert parse(Probe, {"flag": "true"}).flag is True
    assert parse(Probe, {"flag": False}).flag is False
    for bad in ("1", "yes", "True", 1):
        assert _refusal(Probe, {"flag": bad}) == "flag: must be true or false"


def test_a_decimal_is_exact_and_within_its_bounds() -> None:
    assert parse(Probe, {"rating": 0.1}).rating == Decimal("0.1")
    assert parse(Probe, {"rating": "5"}).rating == Decimal(5)
    assert parse(Probe, {"rating": "4.5e0"}).rating == Decimal("4.5")
    assert parse(Probe, {"rating": 0}).rating == Decimal(0)
    for past in ("5.0000001", "-0.01", 6):
        assert _refusal(Probe, {"rating": past}) == "rating: must be between 0 and 5"
    for bad in ("NaN", "Infinity", "1,5", "0x1", "1" * 49, True, float("nan"), [1]):
        assert _refusal(Probe, {"rating": bad}) in (
            "rating: must be a number",
            "rating: must be between 0 and 5",
        ), bad
    assert _refusal(Probe, {"rating": "NaN"}) == "rating: must be a number"


def test_names_split_on_commas_count_repeats_once_and_are_allow_listed() -> None:
    assert parse(Probe, {"fields": "name,id,name"}).fields == ["name", "id"]
    assert parse(Probe, {"fields": ["price"]}).fields == ["price"]
    assert _refusal(Probe, {"fields": "id,colour"}).startswith("fields: input should be")
    assert _refusal(Probe, {"fields": []}).startswith("fields: list should have at least 1")
    assert parse(Probe, {"fields": ",".join(["id"] * 50)}).fields == ["id"]
    assert _refusal(Probe, {"fields": ",".join(["id"] * 51)}).startswith(
        "fields: list should have at most 50 items"
    )

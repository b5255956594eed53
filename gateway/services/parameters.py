"""Read parameters both styles share: typed from query strings or GraphQL arguments alike.

A REST query string holds only text (`limit=20`, `in_stock=true`); GraphQL arguments
arrive typed (`first: 20`, `inStock: true`). The types here accept both spellings of
the same value and nothing else, so a list refuses exactly the same input whichever
style asks, with INVALID_PARAMETER naming the parameter. The same models feed the
OpenAPI document, so what it describes is what parsing accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from gateway.errors import InvalidParameter
from gateway.ids import MAX_ID
from gateway.reads.pagination import DEFAULT_LIMIT, MAX_LIMIT
from gateway.services.validation import message

P = TypeVar("P", bound=BaseModel)
N = TypeVar("N", bound=str)

_WHOLE = re.compile(r"-?[0-9]{1,20}")
_NUMBER = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:[eE][-+]?[0-9]{1,4})?")


class Parameters(BaseModel):
    """Base of every parameter model: no unknown names, values typed by the validators."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def parse(model: type[P], data: Mapping[str, Any]) -> P:
    """`data` as `model`; InvalidParameter naming the first parameter at fault otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"][:1]) or "query"
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(model.model_fields))
            raise InvalidParameter(name, f"unknown parameter; allowed: {allowed}") from None
        text = message(error)
        raise InvalidParameter(name, text[:1].lower() + text[1:]) from None


def whole(value: object) -> object:
    """An integer, from a JSON/GraphQL integer or from decimal digits in a query string."""
    if isinstance(value, str):
        if not value.isascii() or not _WHOLE.fullmatch(value):
            raise ValueError("must be a whole number")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


def identifier(value: object) -> object:
    """A resource id: a GraphQL/JSON integer, or its digits without a leading zero."""
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or len(value) > 19 or value[0] == "0":
            raise ValueError("must be a positive integer id")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a positive integer id")
    return value


def flag(value: object) -> object:
    """A boolean, from `true`/`false` in a query string or a GraphQL Boolean."""
    if value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def decimal_between(low: Decimal, high: Decimal) -> Callable[[object], Decimal]:
    """A validator for an exact decimal in [low, high], from a number or its query-string text."""

    def convert(value: object) -> Decimal:
        if isinstance(value, str):
            if len(value) > 48 or not value.isascii() or not _NUMBER.fullmatch(value):
                raise ValueError("must be a number")
            amount = Decimal(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                # repr() round-trips a float, so 0.1 stays 0.1 rather than its binary value.
                amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            except InvalidOperation:
                raise ValueError("must be a number") from None
        else:
            raise ValueError("must be a number")
        if not amount.is_finite() or not low <= amount <= high:
            raise ValueError(f"must be between {low} and {high}")
        return amount

    return convert


def split_commas(value: object) -> object:
    """A list from `a,b,c` in a query string (a GraphQL list passes through)."""
    if isinstance(value, str):
        return value.split(",")
    return value


def unique(values: list[Any]) -> list[Any]:
    """`values` without repeats, first occurrence first (`fields=name,name` means `name`)."""
    return list(dict.fromkeys(values))


Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(whole)]
"""Page size."""

Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(identifier)]
"""A resource id."""

Cursor = Annotated[str, Field(min_length=1, max_length=512)]
"""An opaque cursor from `page.next_cursor`, `Link` or a GraphQL `endCursor`."""

Flag = Annotated[bool, BeforeValidator(flag)]
"""A yes/no filter."""

Names = Annotated[
    list[N],
    Field(min_length=1, max_length=50),
    BeforeValidator(split_commas),
    AfterValidator(unique),
]
"""A comma-separated list of allowed names (`fields=id,name`); repeats count once."""


class ListParameters(Parameters):
    """What every list takes: page size, position and whether to count."""

    limit: Limit = Field(default=DEFAULT_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.")
    after: Cursor | None = Field(
        default=None,
        description="Continue after this cursor (from `page.next_cursor` or the `Link` header); "
        "valid only with the `sort` it was minted for.",
    )
    count: Literal["exact"] | None = Field(
        default=None, description="`exact` adds `page.total`: how many rows match in all."
    )

"""What REST responses hold, as pydantic models: the OpenAPI document's response schemas.

Services return plain dicts; these models describe them (they validate nothing at run
time). The Schemathesis test checks every response against them, so a field added to a
service and not here, or typed differently, fails the suite instead of drifting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _absent_not_null(schema: dict[str, Any]) -> None:
    # A property declared `X | None = None` below is one that is sometimes left out of the
    # object, never sent as null: the document says "X, not required", without a default.
    for prop in schema.get("properties", {}).values():
        if "default" not in prop or prop["default"] is not None:
            continue
        del prop["default"]
        options = [option for option in prop.pop("anyOf", []) if option != {"type": "null"}]
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options


class Out(BaseModel):
    """Base of response models: closed objects, no invented defaults."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_absent_not_null)


class CategoryOut(Out):
    """A node of the category tree."""

    id: int
    slug: str = Field(description="URL-safe unique name.")
    name: str
    parent_id: int | None = Field(description="The parent category; null at the top level.")
    created_at: datetime


class TagOut(Out):
    """A label products carry."""

    id: int
    name: str


class UserProfile(Out):
    """A user's public profile: never an email."""

    id: int
    display_name: str


class ReviewOut(Out):
    """A customer's review of a product."""

    id: int
    product_id: int
    author: UserProfile
    rating: int = Field(ge=1, le=5)
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class ProductOut(Out):
    """A product in a list: its own fields, and the relations asked for with `include`."""

    id: int
    sku: str
    name: str
    description: str
    price: float = Field(description="Unit price, two decimals.")
    stock: int
    in_stock: bool
    category_id: int
    review_count: int
    rating_avg: float | None = Field(description="Mean rating; null without reviews.")
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Bumped by every change to the product itself.")
    category: CategoryOut | None = Field(default=None, description="With `include=category`.")
    tags: list[TagOut] | None = Field(
        default=None, description="With `include=tags`, in name order."
    )
    reviews: list[ReviewOut] | None = Field(
        default=None, description="With `include=reviews`: the newest 10."
    )


class ProductDetail(Out):
    """One product with its category and tags embedded."""

    id: int
    sku: str
    name: str
    description: str
    price: float = Field(description="Unit price, two decimals.")
    stock: int
    in_stock: bool
    category_id: int
    review_count: int
    rating_avg: float | None = Field(description="Mean rating; null without reviews.")
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Bumped by every change to the product itself.")
    category: CategoryOut
    tags: list[TagOut] = Field(description="In name order.")
    reviews: list[ReviewOut] | None = Field(
        default=None, description="With `include=reviews`: the newest 10."
    )


class OrderItemOut(Out):
    """One line of an order."""

    product_id: int
    product_name: str = Field(description="The product's current name.")
    quantity: int
    unit_price: float = Field(description="The price when the order was placed.")


class OrderOut(Out):
    """A customer's order."""

    id: int
    customer: UserProfile
    status: Literal["pending", "paid", "shipped", "cancelled"]
    total: float = Field(description="Sum of quantity times unit price over the lines.")
    created_at: datetime
    updated_at: datetime
    items: list[OrderItemOut]


class AccountOut(Out):
    """The signed-in account, with what only its owner sees."""

    id: int
    email: str
    display_name: str
    role: Literal["customer", "admin"]
    created_at: datetime


class SessionOut(Out):
    """Tokens from register, login and refresh."""

    account: AccountOut
    access_token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    refresh_token: str = Field(description="Single use: trade it at /auth/refresh.")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the access token expires.")


class PageOut(Out):
    """Where a list page sits."""

    limit: int
    next_cursor: str | None = Field(
        description="Pass as `after` for the next page; null at the end."
    )
    total: int | None = Field(
        default=None, description="With `count=exact`: how many match in all."
    )


class FieldProblem(Out):
    """One invalid field of a body."""

    field: str = Field(description="Dotted path of the field; empty for the body as a whole.")
    message: str


class Problem(Out):
    """An RFC 9457 problem document: what went wrong, in words and as a stable code."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="A stable code from the shared vocabulary (DESIGN §7).")
    request_id: str | None = Field(description="Quote it when reporting a problem.")
    errors: list[FieldProblem] | None = Field(default=None, description="With VALIDATION_FAILED.")

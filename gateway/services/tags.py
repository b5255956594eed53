"""Tags: the labels products carry, their list, the admin's writes, and tags per product."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from gateway.db import ConstraintViolation, Row
from gateway.errors import Conflict, NotFound
from gateway.principal import Principal, require_admin
from gateway.reads import lists
from gateway.reads.ordering import SortOrder, choose, orders_of, page_from
from gateway.reads.pagination import Page, check_limit
from gateway.services import caching
from gateway.services.resources import Resources
from gateway.services.validation import Input, Text, validate

Sort = Literal["name", "-name"]
"""The allow-listed sort orders (names are unique, id still breaks ties)."""
ORDERS: dict[str, SortOrder] = orders_of("Tag")
DEFAULT_SORT: Sort = "name"

STATEMENTS = (
    "tags.by_id",
    "tags.count_all",
    "tags.insert",
    "tags.delete",
    "tags.of_products",
)

Tag = dict[str, Any]
_WORDS = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
HYPHENATED = {"pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$"}
"""The JSON Schema of `hyphenated` (its friendlier message is why it stays a validator)."""


def hyphenated(value: str) -> str:
    """`value` if it is lowercase words joined by hyphens (slugs and tag names)."""
    if not _WORDS.fullmatch(value):
        raise ValueError("must be lowercase letters and digits, words joined by single hyphens")
    return value


class CreateTagInput(Input):
    """A new tag."""

    name: Annotated[
        Text,
        Field(min_length=1, max_length=50, json_schema_extra=HYPHENATED),
        AfterValidator(hyphenated),
    ]


async def list_tags(
    resources: Resources,
    *,
    limit: int,
    after: str | None = None,
    sort: str = DEFAULT_SORT,
    count: bool = False,
) -> Page[Tag]:
    """One page of tags in name order (or its reverse).

    Raises InvalidParameter for a limit outside 1..100, an unknown sort or a bad cursor.
    """
    check_limit(limit)
    order = choose(ORDERS, sort)
    position = order.position(after)

    async def load() -> Page[Tag]:
        shape = lists.Rows("Tag", order.name, (), bool(position))
        found = await lists.fetch(resources.db, shape, [*position, limit + 1])
        total = await count_tags(resources) if count else None
        return page_from(found, limit, order, _from_row, total)

    query = [limit, after, sort, count]
    return await caching.page(resources, "tags", query, caching.TAGS, load)


def _from_row(row: Row) -> Tag:
    return {"id": row["id"], "name": row["name"]}


async def get_tag(resources: Resources, tag_id: int) -> Tag:
    """One tag; NotFound if there is none."""

    async def load() -> Tag:
        row = await resources.db.fetch_one("tags.by_id", {"id": tag_id})
        if row is None:
            raise NotFound(f"Tag {tag_id} does not exist.")
        return {"id": row["id"], "name": row["name"]}

    tag: Tag = await caching.entity(resources, "tag", [tag_id], caching.TAGS, load)
    return tag


async def count_tags(resources: Resources) -> int:
    """How many tags there are (REST `count=exact`, GraphQL `totalCount`)."""
    return int(await resources.db.fetch_val("tags.count_all"))


async def of_products(resources: Resources, product_ids: Sequence[int]) -> list[list[Tag]]:
    """Each product's tags in name order, one list per id in `product_ids` (DataLoader batch)."""
    rows = await resources.db.fetch_all("tags.of_products", {"ids": list(set(product_ids))})
    found: dict[int, list[Tag]] = {}
    for row in rows:
        found.setdefault(row["product_id"], []).append({"id": row["id"], "name": row["name"]})
    return [found.get(i, []) for i in product_ids]


async def create_tag(resources: Resources, principal: Principal, data: Any) -> Tag:
    """Create a tag (admin).

    Raises Unauthenticated, Forbidden, ValidationFailed or Conflict (the name is taken).
    """
    require_admin(principal)
    new = validate(CreateTagInput, data)
    try:
        row = await resources.db.fetch_one("tags.insert", {"name": new.name})
    except ConstraintViolation as exc:
        if exc.kind == "unique":
            raise Conflict(f"A tag named {new.name!r} already exists.") from None
        raise
    assert row is not None
    caching.touched("tags", f"Tag:{row['id']}", "list:Tag")
    return {"id": row["id"], "name": row["name"]}


async def delete_tag(resources: Resources, principal: Principal, tag_id: int) -> int:
    """Delete a tag (admin); it leaves every product that carried it. Returns its id.

    Raises Unauthenticated, Forbidden or NotFound.
    """
    require_admin(principal)
    deleted = await resources.db.fetch_val("tags.delete", {"id": tag_id})
    if deleted is None:
        raise NotFound(f"Tag {tag_id} does not exist.")
    # It left every product that carried it: those answers show Tag:<id>; lists filtered by
    # its name lose their members.
    caching.touched("tags", f"Tag:{tag_id}", "list:Tag", "list:Product@tag")
    return int(deleted)

"""Orders: placing them (all lines or none, stock taken in one transaction), reading,
cancelling and moving them through their statuses.

Orders are never cached: they are per user and stock must be exact. Placing or cancelling
an order changes its products' stock, so it retires the cached catalogue answers that show
those products (`gateway.services.caching`). Every transaction that changes stock locks
the products' rows in id order, so two of them never wait on each other in a cycle (no
deadlocks, whatever the mix of orders and cancellations).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from gateway.db import ConstraintViolation, Row
from gateway.errors import (
    Conflict,
    FieldError,
    InvalidParameter,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from gateway.principal import Principal, require_admin, require_user
from gateway.reads import lists
from gateway.reads.ordering import SortOrder, choose, orders_of, page_from
from gateway.reads.pagination import Page, check_limit
from gateway.services import caching, events
from gateway.services.accounts import BAD_CREDENTIALS
from gateway.services.resources import Resources
from gateway.services.validation import Input, validate

Sort = Literal["created_at", "-created_at"]
"""The allow-listed sort orders; `-` for descending (newest first), id breaks ties."""
ORDERS: dict[str, SortOrder] = orders_of("Order")
DEFAULT_SORT: Sort = "-created_at"

STATEMENTS = (
    "orders.visible_by_id",
    "orders.count_for_customer",
    "orders.count_all",
    "orders.items_for_orders",
    "orders.lock_products",
    "orders.insert",
    "orders.insert_items",
    "orders.take_stock",
    "orders.lock_own",
    "orders.lock_any",
    "orders.lock_order_products",
    "orders.restore_stock",
    "orders.set_status",
)

Order = dict[str, Any]
Item = dict[str, Any]
Status = Literal["pending", "paid", "shipped", "cancelled"]

STATUSES: tuple[Status, ...] = ("pending", "paid", "shipped", "cancelled")
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {("pending", "paid"), ("pending", "cancelled"), ("paid", "shipped"), ("paid", "cancelled")}
)
ONLY_PENDING = "Only a pending order can be cancelled."


class OrderLine(Input):
    """One line of a new order."""

    product_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    quantity: Annotated[int, Field(ge=1, le=1000)]


class PlaceOrderInput(Input):
    """What to order: 1 to 100 lines, each product at most once."""

    items: Annotated[list[OrderLine], Field(min_length=1, max_length=100)]


def _transitions() -> dict[str, list[str]]:
    """TRANSITIONS by the status moved from, as the OpenAPI document states them."""
    found: dict[str, list[str]] = defaultdict(list)
    for current, new in sorted(TRANSITIONS):
        found[current].append(new)
    return dict(found)


class StatusChange(Input):
    """An admin's move of an order to another status."""

    # `x-transitions` (a schema extension) tells clients which moves the rule above allows
    # from each current status, so a form can offer only those.
    status: Annotated[Status, Field(json_schema_extra={"x-transitions": _transitions()})]


def from_row(row: Row) -> Order:
    """An order as both APIs show it, with the customer's public profile (never an email)."""
    return {
        "id": row["id"],
        "customer": {"id": row["customer_id"], "display_name": row["customer_display_name"]},
        "status": row["status"],
        "total": float(row["total"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def check_status(status: str | None) -> Status | None:
    """A status filter, or InvalidParameter naming the allowed values."""
    if status is None:
        return None
    if status not in STATUSES:
        raise InvalidParameter("status", f"must be one of {', '.join(STATUSES)}")
    return status


async def get_order(
    resources: Resources, principal: Principal, order_id: int, *, with_items: bool = True
) -> Order:
    """The caller's order (any order for an admin), with its lines unless told otherwise.

    Raises Unauthenticated, or NotFound (no such order, or another customer's).
    """
    user_id = require_user(principal)
    row = await resources.db.fetch_one(
        "orders.visible_by_id", {"id": order_id, "user_id": user_id, "is_admin": principal.admin}
    )
    if row is None:
        raise NotFound(f"Order {order_id} does not exist.")
    order = from_row(row)
    if with_items:
        (order["items"],) = await items_for_orders(resources, [order_id])
    return order


async def list_orders(
    resources: Resources,
    principal: Principal,
    *,
    limit: int,
    after: str | None = None,
    sort: str = DEFAULT_SORT,
    status: str | None = None,
    count: bool = False,
    with_items: bool = True,
) -> Page[Order]:
    """One page of the caller's orders (everyone's for an admin), newest first by default.

    The page's lines come from one batched query. Raises Unauthenticated or
    InvalidParameter (limit, sort, cursor, status).
    """
    user_id = require_user(principal)
    check_limit(limit)
    wanted = check_status(status)
    order = choose(ORDERS, sort)
    position = order.position(after)
    # A customer's own orders and everyone's (admin) are one query with or without the
    # owner rule, each with its index, in the same orders: their cursors are alike.
    shape = lists.Rows(
        "Order",
        order.name,
        () if wanted is None else ("status",),
        bool(position),
        pulls=("customer.display_name",),
        owned=not principal.admin,
    )
    args: list[Any] = [] if wanted is None else [wanted]
    args += [*position, limit + 1]
    if not principal.admin:
        args.append(user_id)
    found = await lists.fetch(resources.db, shape, args)
    page = page_from(found, limit, order, from_row)
    if with_items and page.items:
        lines = await items_for_orders(resources, [o["id"] for o in page.items])
        for one, order_lines in zip(page.items, lines, strict=True):
            one["items"] = order_lines
    if count:
        page = Page(
            page.items,
            page.cursors,
            page.next_cursor,
            await count_orders(resources, principal, wanted),
        )
    return page


async def count_orders(resources: Resources, principal: Principal, status: str | None) -> int:
    """How many orders the caller sees, optionally of one status; Unauthenticated if anonymous."""
    user_id = require_user(principal)
    wanted = check_status(status)
    if principal.admin:
        return int(await resources.db.fetch_val("orders.count_all", {"status": wanted}))
    return int(
        await resources.db.fetch_val(
            "orders.count_for_customer", {"status": wanted, "customer_id": user_id}
        )
    )


async def items_for_orders(resources: Resources, order_ids: Sequence[int]) -> list[list[Item]]:
    """The lines of each order in `order_ids`, in order, with one query (DataLoader batch)."""
    rows = await resources.db.fetch_all("orders.items_for_orders", {"ids": list(set(order_ids))})
    by_order: defaultdict[int, list[Item]] = defaultdict(list)
    for row in rows:
        by_order[row["order_id"]].append(_item(row))
    return [by_order[order_id] for order_id in order_ids]


async def place_order(resources: Resources, principal: Principal, data: Any) -> Order:
    """Order products at their current prices for the caller: all lines or none.

    In one transaction: lock the products in id order, check every line's stock, insert
    the order and its lines, take the stock. Raises Unauthenticated, ValidationFailed
    (bad, read-only or repeated fields) or Conflict (a product that does not exist, or
    not enough stock; the message names the product). Once committed, announces the
    products' new stock to subscribers (`events`).
    """
    customer_id = require_user(principal)
    lines = _distinct_lines(validate(PlaceOrderInput, data))
    # Lines in product id order: the order they are stored and shown in.
    ordered = sorted(lines, key=lambda line: line.product_id)
    ids = [line.product_id for line in ordered]
    quantities = [line.quantity for line in ordered]
    async with resources.db.transaction():
        rows = await resources.db.fetch_all("orders.lock_products", {"ids": ids})
        products = {row["id"]: row for row in rows}
        for line in lines:
            _check_line(line, products.get(line.product_id))
        try:
            row = await resources.db.fetch_one("orders.insert", {"customer_id": customer_id})
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                # A valid token for an account deleted since: like any invalid credential.
                raise Unauthenticated(BAD_CREDENTIALS) from None
            raise
        assert row is not None
        prices: list[Decimal] = [products[product_id]["price"] for product_id in ids]
        await resources.db.execute(
            "orders.insert_items",
            {
                "order_id": row["id"],
                "product_ids": ids,
                "quantities": quantities,
                "unit_prices": prices,
            },
        )
        taken = await resources.db.fetch_all(
            "orders.take_stock", {"product_ids": ids, "quantities": quantities}
        )
        if len(taken) != len(ordered):
            # Cannot happen while the rows are locked; if it ever does, undo everything.
            raise Conflict("The stock changed while the order was placed; try again.")
    _stock_moved(ids)
    await events.publish(resources, "product", *ids)
    items = [
        {
            "product_id": i,
            "product_name": products[i]["name"],
            "quantity": q,
            "unit_price": float(p),
        }
        for i, q, p in zip(ids, quantities, prices, strict=True)
    ]
    total = sum((q * p for q, p in zip(quantities, prices, strict=True)), Decimal(0))
    return {**from_row({**row, "total": total}), "items": items}


async def cancel_order(resources: Resources, principal: Principal, order_id: int) -> Order:
    """Cancel the caller's own pending order; its stock goes back in the same transaction.

    Raises Unauthenticated, NotFound (no such order, or another customer's, even for an
    admin, who uses `set_order_status`) or Conflict (the order is not pending). Once
    committed, announces the new status and the returned stock (`events`).
    """
    customer_id = require_user(principal)
    async with resources.db.transaction():
        status = await resources.db.fetch_val(
            "orders.lock_own", {"id": order_id, "customer_id": customer_id}
        )
        if status is None:
            raise NotFound(f"Order {order_id} does not exist.")
        if status != "pending":
            raise Conflict(ONLY_PENDING)
        order = await _move(resources, order_id, "cancelled")
    await _announce(resources, order)
    return order


async def set_order_status(
    resources: Resources, principal: Principal, order_id: int, data: Any
) -> Order:
    """Move any order to another status (admin); cancelling puts the stock back.

    Allowed: pending to paid or cancelled, paid to shipped or cancelled. Raises
    Unauthenticated, Forbidden (not an admin; nothing is read or changed),
    ValidationFailed (bad or unknown fields), NotFound or Conflict (any other move).
    Once committed, announces the new status (and any returned stock) (`events`).
    """
    require_admin(principal)
    change = validate(StatusChange, data)
    async with resources.db.transaction():
        current = await resources.db.fetch_val("orders.lock_any", {"id": order_id})
        if current is None:
            raise NotFound(f"Order {order_id} does not exist.")
        if (current, change.status) not in TRANSITIONS:
            raise Conflict(f"An order cannot go from {current} to {change.status}.")
        order = await _move(resources, order_id, change.status)
    await _announce(resources, order)
    return order


def _stock_moved(product_ids: Sequence[int]) -> None:
    """Orders are their customer's own (never shared answers); their products' stock, and
    the lists filtered by it, are what others see change."""
    if not product_ids:
        caching.touched("orders")
        return
    caching.touched("orders", *(f"Product:{i}" for i in product_ids), "list:Product@stock")


async def _announce(resources: Resources, order: Order) -> None:
    """After the commit: the order's status changed; a cancellation returned its stock."""
    cancelled = order["status"] == "cancelled"
    _stock_moved([i["product_id"] for i in order["items"]] if cancelled else [])
    await events.publish(resources, "order", order["id"])
    if order["status"] == "cancelled":
        await events.publish(resources, "product", *(i["product_id"] for i in order["items"]))


async def _move(resources: Resources, order_id: int, status: Status) -> Order:
    """Set the status of a locked order; restore its stock when it is being cancelled."""
    if status == "cancelled":
        await resources.db.fetch_all("orders.lock_order_products", {"order_id": order_id})
        await resources.db.execute("orders.restore_stock", {"order_id": order_id})
    row = await resources.db.fetch_one("orders.set_status", {"id": order_id, "status": status})
    assert row is not None
    order = from_row(row)
    (order["items"],) = await items_for_orders(resources, [order_id])
    return order


def _distinct_lines(order: PlaceOrderInput) -> list[OrderLine]:
    seen: dict[int, int] = {}
    problems = []
    for index, line in enumerate(order.items):
        first = seen.setdefault(line.product_id, index)
        if first != index:
            problems.append(
                FieldError(
                    f"items.{index}.product_id",
                    f"product {line.product_id} is already on line {first}; "
                    "order each product once",
                )
            )
    if problems:
        raise ValidationFailed(problems)
    return order.items


def _check_line(line: OrderLine, product: Row | None) -> None:
    if product is None:
        raise Conflict(f"Product {line.product_id} does not exist.")
    if product["stock"] < line.quantity:
        raise Conflict(
            f"Not enough stock for product {line.product_id} ({product['name']}): "
            f"{product['stock']} left, {line.quantity} asked."
        )


def _item(row: Row) -> Item:
    return {
        "product_id": row["product_id"],
        "product_name": row["product_name"],
        "quantity": row["quantity"],
        "unit_price": float(row["unit_price"]),
    }

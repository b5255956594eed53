"""Subscriptions: productChanged and orderStatusChanged, fed by events of committed writes.

A source listens first and checks second, so no change committed in between is missed;
the check refuses a missing product, and a missing or someone else's order, alike with
NOT_FOUND. Each event is read again through the services with the subscriber's
principal and a fresh set of loaders, so every payload is current and theirs to see.
"""

from __future__ import annotations

from ariadne import SubscriptionType

from gateway.graphql.category import category_loader
from gateway.graphql.context import Info
from gateway.ids import parse_id
from gateway.services import events, orders, products

subscription = SubscriptionType()

# Sources are coroutines returning the event iterator (graphql-core awaits them), so a
# refusal comes at once as an `error` message; Ariadne's type names only generators.


@subscription.source("productChanged")  # type: ignore[arg-type]
async def product_changes(_: None, info: Info, id: str) -> events.Changes:
    resources = info.context.resources
    product_id = parse_id(id)
    changes = await events.listen(resources, "product", product_id)
    info.context.on_close(changes.aclose)
    try:
        await products.get_product(resources, product_id)
    except BaseException:
        await changes.aclose()
        raise
    return changes


@subscription.field("productChanged")
async def resolve_product_changed(change: events.Change, info: Info, id: str) -> products.Product:
    # After a deletion this raises NotFound: one error, then the stream completes.
    info.context.forget()
    product = await products.get_product(info.context.resources, change.id)
    category_loader(info).prime(product["category_id"], product["category"])
    return product


@subscription.source("orderStatusChanged")  # type: ignore[arg-type]
async def order_changes(_: None, info: Info, id: str) -> events.Changes:
    context = info.context
    order_id = parse_id(id)
    changes = await events.listen(context.resources, "order", order_id)
    context.on_close(changes.aclose)
    try:
        await orders.get_order(context.resources, context.principal, order_id, with_items=False)
    except BaseException:
        await changes.aclose()
        raise
    return changes


@subscription.field("orderStatusChanged")
async def resolve_order_status_changed(change: events.Change, info: Info, id: str) -> orders.Order:
    context = info.context
    context.forget()
    return await orders.get_order(context.resources, context.principal, change.id, with_items=False)

"""The REST API under /api/v1: every operation declared once, and the routes built from them."""

from __future__ import annotations

from typing import Any

from gateway.rest import accounts, categories, orders, products, reviews, tags
from gateway.rest.spec import Operation, routes

OPERATIONS: list[Operation[Any]] = [
    *accounts.OPERATIONS,
    *products.OPERATIONS,
    *reviews.OPERATIONS,
    *orders.OPERATIONS,
    *categories.OPERATIONS,
    *tags.OPERATIONS,
]

ROUTES = routes(OPERATIONS)

"""Services: business rules, transactions and cache use, shared by REST and GraphQL.

Only this package calls `gateway.db` and `gateway.cache`. Each module lists the named
statements it runs in `STATEMENTS`, checked against `sql/queries/` at start-up.
"""

from gateway.services import (
    accounts,
    categories,
    health,
    orders,
    product_lists,
    products,
    reviews,
    sessions,
    tags,
)

STATEMENTS: tuple[str, ...] = (
    *accounts.STATEMENTS,
    *categories.STATEMENTS,
    *health.STATEMENTS,
    *orders.STATEMENTS,
    *product_lists.STATEMENTS,
    *products.STATEMENTS,
    *reviews.STATEMENTS,
    *sessions.STATEMENTS,
    *tags.STATEMENTS,
)

__all__ = [
    "STATEMENTS",
    "accounts",
    "categories",
    "health",
    "orders",
    "product_lists",
    "products",
    "reviews",
    "sessions",
    "tags",
]

"""Services: business rules, transactions and cache use, shared by REST and GraphQL.

Transports reach the database and the cache only through here (and `gateway.reads`).
Each module lists the named statements it runs in `STATEMENTS`, checked against
`sql/queries/` at start-up. Besides one module per aggregate: resources.py (what the
lifespan opens), caching.py (the read cache), plans.py (running a planned read),
ratelimit.py, idempotency.py, events.py, sessions.py, traces.py, validation.py (write
inputs), parameters.py (read parameters).
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

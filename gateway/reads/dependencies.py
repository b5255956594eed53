"""Which generations a read of each table depends on, declared once for every cache of
answers: the read model's list pages record them as they run, the services' caches key
on them."""

from __future__ import annotations

from collections.abc import Iterable

# What a read of each table depends on: the generation its own writes bump, and those of
# the aggregates whose writes change or delete its rows (cascades, the rating trigger).
# Every table of the schema is here (a test checks), so no read can escape invalidation.
_READS: dict[str, tuple[str, ...]] = {
    "users": ("users",),
    "categories": ("categories",),
    "tags": ("tags",),
    "products": ("products",),
    "product_tags": ("products", "tags"),
    "reviews": ("reviews", "products", "users"),
    "orders": ("orders",),
    "order_items": ("orders",),
    "refresh_tokens": ("refresh_tokens", "users"),
}
GENERATIONS = tuple(sorted({generation for names in _READS.values() for generation in names}))
TABLES = frozenset(_READS)


def generations_read(tables: Iterable[str]) -> frozenset[str]:
    """The generations that reading `tables` depends on (unknown names are ignored)."""
    return frozenset(generation for table in tables for generation in _READS.get(table, ()))

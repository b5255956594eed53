"""Categories: the catalogue's tree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.db import Row
from gateway.types import Resources

STATEMENTS = ("categories.by_ids",)

Category = dict[str, Any]


def from_row(row: Row) -> Category:
    return {
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "parent_id": row["parent_id"],
        "created_at": row["created_at"],
    }


async def by_ids(resources: Resources, ids: Sequence[int]) -> list[Category | None]:
    """The categories for `ids`, in the same order, None where absent (DataLoader batch)."""
    rows = await resources.db.fetch_all("categories.by_ids", {"ids": list(set(ids))})
    found = {row["id"]: from_row(row) for row in rows}
    return [found.get(i) for i in ids]

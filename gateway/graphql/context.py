"""The per-request GraphQL context: the caller's resources and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo

from gateway.graphql.loaders import DataLoader
from gateway.services import categories
from gateway.types import Resources


@dataclass(slots=True)
class Loaders:
    """One request's DataLoaders; built per request, never shared."""

    category: DataLoader[int, categories.Category | None]


@dataclass(slots=True)
class Context:
    """What every resolver gets as `info.context`."""

    resources: Resources
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        resources = self.resources

        async def load_categories(ids: Any) -> list[categories.Category | None]:
            return await categories.by_ids(resources, ids)

        self.loaders = Loaders(category=DataLoader(load_categories))


Info = GraphQLResolveInfo[Context]
"""The resolve info every resolver of ours gets: its context is a `Context`."""

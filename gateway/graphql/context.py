"""The per-request GraphQL context: the caller, its resources, and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo

from gateway.graphql.loaders import BatchFn, DataLoader
from gateway.principal import ANONYMOUS, Principal
from gateway.types import Resources


@dataclass(slots=True)
class Context:
    """What every resolver gets as `info.context`."""

    resources: Resources
    principal: Principal = ANONYMOUS
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)

    def loader(self, name: str, batch: BatchFn[Any, Any]) -> DataLoader[Any, Any]:
        """This request's loader called `name`, created on first use with `batch`.

        Loaders live in the context, so each request (and so each caller) has its own memo.
        A loader whose values depend on the caller must say so in its name or its keys.
        """
        found = self._loaders.get(name)
        if found is None:
            found = self._loaders[name] = DataLoader(batch)
        return found


Info = GraphQLResolveInfo[Context]
"""The resolve info every resolver of ours gets: its context is a `Context`."""

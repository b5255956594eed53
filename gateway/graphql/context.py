"""The per-request GraphQL context: the caller, its resources, and fresh DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLResolveInfo

from gateway.errors import RateLimited
from gateway.graphql.loaders import BatchFn, DataLoader
from gateway.principal import ANONYMOUS, Principal
from gateway.services.resources import Resources


@dataclass(slots=True)
class Context:
    """What every resolver gets as `info.context`."""

    resources: Resources
    principal: Principal = ANONYMOUS
    address: str = "unknown"
    """The client's address (sign-in failures are limited per address)."""
    refused: RateLimited | None = None
    """Set when a sign-in limit refused a field, so the answer can be a 429 with its headers."""
    _loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    _cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def loader(self, name: str, batch: BatchFn[Any, Any]) -> DataLoader[Any, Any]:
        """This request's loader called `name`, created on first use with `batch`.

        Loaders live in the context, so each request (and so each caller) has its own memo.
        A loader whose values depend on the caller must say so in its name or its keys.
        """
        found = self._loaders.get(name)
        if found is None:
            found = self._loaders[name] = DataLoader(batch)
        return found

    def forget(self) -> None:
        """Drop every loader and its memo: a subscription's next event reads fresh data."""
        self._loaders.clear()

    def on_close(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run `cleanup` when the operation ends (a subscription's event listener)."""
        self._cleanups.append(cleanup)

    async def close(self) -> None:
        """End the operation: run its cleanups, newest first."""
        while self._cleanups:
            await self._cleanups.pop()()


Info = GraphQLResolveInfo[Context]
"""The resolve info every resolver of ours gets: its context is a `Context`."""

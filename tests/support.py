"""Helpers the test modules share (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx


async def gql(api: httpx.AsyncClient, query: str, **variables: Any) -> httpx.Response:
    """POST `query` with `variables` to /graphql, as a client would."""
    return await api.post("/graphql", json={"query": query, "variables": variables})

"""Before any load: send one request of each kind, choose each workload's variant, and
refuse workloads whose requests fail, so no run measures a stream of errors."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from bench.workloads import Call, Workload


def send(client: httpx.Client, call: Call) -> httpx.Response:
    """`call` sent with httpx (for probes and set-up, not for load)."""
    return client.request(
        call.method, call.path, content=call.body or None, headers=dict(call.headers)
    )


def problem(response: httpx.Response, graphql: bool) -> str | None:
    """Why `response` is not a success, or None: non-2xx, or a GraphQL answer with errors."""
    snippet = response.text[:160].replace("\n", " ")
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}: {snippet}"
    if graphql:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return f"not JSON: {snippet}"
        if not isinstance(body, dict) or body.get("errors") or body.get("data") is None:
            return f"GraphQL errors: {snippet}"
    return None


def check(client: httpx.Client, workload: Workload) -> str | None:
    """Run the workload's set-up and one call of each kind; the first problem, or None."""
    for call in (*workload.setup, *workload.kinds):
        try:
            response = send(client, call)
        except httpx.HTTPError as exc:
            return f"{call.method} {call.path[:60]}: {exc!r}"
        found = problem(response, call.path.startswith("/graphql"))
        if found is not None:
            return f"{call.method} {call.path[:80]} -> {found}"
    return None


def choose(
    base_url: str, candidates: dict[str, list[Workload]], names: list[str]
) -> tuple[dict[str, Workload], dict[str, dict[str, Any]]]:
    """The first working variant of each workload, and what was found about each."""
    chosen: dict[str, Workload] = {}
    info: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=base_url, timeout=15) as client:
        for name in names:
            variants = candidates[name]
            reasons = []
            for workload in variants:
                found = None if workload.style == "floor" else check(client, workload)
                if found is None:
                    chosen[name] = workload
                    break
                reasons.append(f"{workload.variant}: {found}")
            picked = chosen.get(name)
            info[name] = {
                "title": variants[0].title,
                "style": variants[0].style,
                "available": picked is not None,
                "variant": picked.variant if picked else None,
                "rejected": reasons,
                "reason": None if picked else "; ".join(reasons),
            }
    return chosen, info


def body_size(base_url: str, call: Call) -> int:
    """How many body bytes `call` gets back (sizes the floor's constant body)."""
    with httpx.Client(base_url=base_url, timeout=15) as client:
        return len(send(client, call).content)

"""The HTTP client plans run on: every call goes over HTTP and is recorded with what it cost."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import httpx
import orjson

from gateway.compare import measure
from gateway.compare.scenarios import Needs
from gateway.http.identity import COMPARE_HEADER

# Browsers open at most six HTTP/1.1 connections per host; a client that fans out waits
# for a free one, and the waterfall shows it.
CONNECTIONS_PER_HOST = 6

_MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass(slots=True)
class HttpCache:
    """A client's HTTP cache, as a browser keeps one across visits of a page.

    A GET answered 200 with an ETag is kept, unless `no-store`, fresh for its `max-age`
    (none with `no-cache`). While fresh it is reused without a request; once stale the
    client revalidates it with If-None-Match. `clock` is the client's time in seconds
    since the first visit: the runner sets it per pass, so "after 30 s" needs no waiting.
    """

    clock: float = 0.0
    entries: dict[str, tuple[str, Any, float]] = field(default_factory=dict)

    def keep(self, target: str, response: httpx.Response, document: Any) -> None:
        policy = response.headers.get("cache-control", "")
        if "no-store" in policy or "etag" not in response.headers:
            return
        found = _MAX_AGE.search(policy)
        fresh = 0 if "no-cache" in policy or found is None else int(found.group(1))
        self.entries[target] = (response.headers["etag"], document, self.clock + fresh)

    def fresh(self, target: str) -> Any:
        """The kept answer while it is fresh (no request needed), else None."""
        entry = self.entries.get(target)
        return entry[1] if entry is not None and self.clock < entry[2] else None

    def etag(self, target: str) -> tuple[str, Any] | None:
        entry = self.entries.get(target)
        return None if entry is None else (entry[0], entry[1])


class CallFailed(RuntimeError):
    """A call answered with an HTTP error or GraphQL errors: the variant did not do its task."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the waterfall shows it, with what it cost."""

    method: str
    path: str
    status: int
    label: str  # the GraphQL operation name, else empty
    start_ms: float  # since the start of the pass
    duration_ms: float
    request_bytes: int
    response_bytes: int
    sql: int
    cache: str
    server_ms: float
    json_bytes: int  # the JSON body received
    needed_bytes: int  # of which the scenario needed this much
    db_ms: float = 0.0  # the server's database time (`Server-Timing` db;dur)
    request_id: str = ""
    # What the server ran, from its own record (`/compare/statements`): each statement's
    # name and SQL; None when the server kept no record for the runner.
    statements: list[dict[str, str]] | None = None
    statements_omitted: int = 0

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Recorder:
    """Implements the scenarios' `Client` over an httpx client, recording every call.

    `needs` decides over-fetch; `token` signs every call in (REST and GraphQL alike);
    `request_ids` names each call in the server's access log (and its statement record);
    `seal` marks each call as the compare run's own (`X-Gateway-Compare`); `http_cache`,
    when given, is the client's HTTP cache: GETs revalidate what it holds.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api: str = "/api/v1",
        needs: Needs | None = None,
        token: str | None = None,
        request_ids: Iterator[str] | None = None,
        seal: str | None = None,
        http_cache: HttpCache | None = None,
    ) -> None:
        self.http = http
        self.api = api
        self.needs: Needs = needs or {}
        self.token = token
        self.request_ids = request_ids
        self.seal = seal
        self.http_cache = http_cache
        self.from_cache = 0  # answers the client's HTTP cache gave without a request
        self.started = time.perf_counter()
        self._slots = asyncio.Semaphore(CONNECTIONS_PER_HOST)
        # Each call with the JSON it received and the entity that JSON is about; what it
        # needed is worked out only when asked, so the projection never adds to the
        # wall time being measured.
        self._recorded: list[tuple[Call, Any, str | None]] = []

    @property
    def calls(self) -> list[Call]:
        """The calls so far, in the order they were sent, with their needed bytes."""
        return [
            replace(call, needed_bytes=min(call.json_bytes, self._needed(document, root)))
            for call, document, root in self._recorded
        ]

    def _needed(self, document: Any, root: str | None) -> int:
        return 0 if document is None else measure.needed_bytes(document, root, self.needs)

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return await self._send("GET", self.api + path, params=params)

    async def post(self, path: str, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        return await self._send("POST", self.api + path, body=body, headers=headers)

    async def delete(self, path: str) -> Any:
        return await self._send("DELETE", self.api + path)

    async def graphql(
        self, document: str, variables: Mapping[str, Any], *, method: str = "POST"
    ) -> Any:
        label = _operation_name(document)
        if method == "GET":
            params = {"query": document}
            if variables:
                params["variables"] = orjson.dumps(dict(variables)).decode()
            answer = await self._send("GET", "/graphql", params=params, label=label)
        else:
            body = {"query": document, "variables": dict(variables)}
            answer = await self._send("POST", "/graphql", body=body, label=label)
        if answer.get("errors"):
            codes = [e.get("extensions", {}).get("code") for e in answer["errors"]]
            raise CallFailed(f"GraphQL errors {codes}: {answer['errors'][0].get('message')}")
        data = answer["data"]
        for value in data.values():
            # A mutation's payload reports problems the caller could fix in `errors`.
            if isinstance(value, dict) and value.get("errors"):
                raise CallFailed(f"GraphQL user errors: {value['errors']}")
        return data

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        label: str = "",
    ) -> Any:
        sent = dict(headers or {})
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        request_id = ""
        if self.request_ids is not None:
            request_id = sent["X-Request-ID"] = next(self.request_ids)
        if self.seal is not None:
            sent[COMPARE_HEADER.decode()] = self.seal
        content = None
        if body is not None:
            content = orjson.dumps(body)
            sent["Content-Type"] = "application/json"
        request = self.http.build_request(
            method, path, params=dict(params) if params else None, content=content, headers=sent
        )
        target = request.url.raw_path.decode("ascii")
        kept = None
        if self.http_cache is not None and method == "GET":
            fresh = self.http_cache.fresh(target)
            if fresh is not None:
                # Fresh in the client's cache: no request at all, nothing to record.
                self.from_cache += 1
                return fresh
            kept = self.http_cache.etag(target)
            if kept is not None:
                request.headers["If-None-Match"] = kept[0]
        async with self._slots:
            began = time.perf_counter()
            response = await self.http.send(request)
            ended = time.perf_counter()
        document = _json(response)
        received = len(response.content) if document is not None else 0
        if self.http_cache is not None and method == "GET":
            if response.status_code == 304 and kept is not None:
                # Not modified: the client shows what its cache holds; nothing was received.
                document = kept[1]
                self.http_cache.keep(target, response, document)
            elif response.status_code == 200 and document is not None:
                self.http_cache.keep(target, response, document)
        root = None if label or path == "/graphql" else measure.entity_of_path(target)
        call = Call(
            method=method,
            path=target,
            status=response.status_code,
            label=label,
            start_ms=(began - self.started) * 1000,
            duration_ms=(ended - began) * 1000,
            request_bytes=measure.request_wire_bytes(request),
            response_bytes=measure.response_wire_bytes(response),
            sql=measure.query_count(response),
            cache=measure.cache_outcome(response),
            server_ms=measure.server_ms(response),
            json_bytes=received,
            needed_bytes=0,
            db_ms=measure.db_ms(response),
            request_id=request_id,
        )
        # A 304's body is the cached one: it was needed, and it cost nothing to receive.
        self._recorded.append((call, document if received else None, root))
        if response.status_code >= 400:
            detail = document.get("detail") if isinstance(document, dict) else response.text
            if isinstance(document, dict) and detail is None and document.get("errors"):
                # A GraphQL request refused whole (400) says why in `errors`, not `detail`.
                detail = document["errors"][0].get("message")
            if response.status_code == 429:
                detail = f"{detail} (the target's rate limit: lower --repeat, or raise it)"
            raise CallFailed(f"{method} {target} answered {response.status_code}: {detail}")
        return document


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    kind = response.headers.get("content-type", "")
    if "json" not in kind:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _operation_name(document: str) -> str:
    words = document.split("(", 1)[0].split("{", 1)[0].split()
    return words[1] if len(words) >= 2 and words[0] in ("query", "mutation") else "graphql"

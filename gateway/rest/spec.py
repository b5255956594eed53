"""REST operations, declared once: routing, request parsing and the OpenAPI document read them.

An `Operation` says everything a client may rely on: method and path, the query
parameters (a pydantic model, which is also what parses them), the JSON body (the model
the service validates it with), the success answer, extra error statuses, who may call
it, and whether it honours If-Match. `routes()` turns the declarations into Starlette
routes; `gateway.rest.openapi` turns the very same declarations into the document, so
the two cannot drift apart.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, compile_path
from starlette.types import Scope

from gateway.errors import InvalidParameter, NotFound, PreconditionFailed
from gateway.http import etags
from gateway.http.bodies import json_body
from gateway.http.identity import principal_of
from gateway.ids import parse_id
from gateway.principal import Principal, require_admin, require_user
from gateway.rest.shaping import BRACKETED
from gateway.services import parameters
from gateway.services.parameters import Parameters
from gateway.services.resources import Resources

Q = TypeVar("Q", bound=Parameters)

PRIVATE = "private, no-store"

Access = Literal["anyone", "user", "admin"]
"""Who may call: anyone (a token is optional), any signed-in user, or an admin."""


class NoQuery(Parameters):
    """An operation that takes no query parameters (any given one is a 400)."""


@dataclass(frozen=True, slots=True)
class PathParameter:
    """A `{name}` segment of a path: what it is and its JSON schema."""

    description: str
    schema: Mapping[str, Any]


ID = PathParameter(
    "A positive 64-bit integer id, without leading zeros.",
    {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
)


@dataclass(frozen=True, slots=True)
class Answer:
    """The success response: its status, what `data` holds and the headers it carries."""

    status: int = 200
    schema: type[BaseModel] | None = None
    description: str = "OK"
    many: bool = False
    """`data` is a page of `schema` items, with `page` and a `Link` header."""
    sparse: bool = False
    """`fields=` may leave any property but `id` out of the items."""
    headers: tuple[str, ...] = ()
    """Header names the answer always carries (documented in `gateway.rest.openapi`)."""


@dataclass(frozen=True, slots=True)
class Call(Generic[Q]):
    """One request to an operation, with its query already parsed."""

    request: Request
    query: Q
    bracketed: Mapping[str, str] = field(default_factory=dict)
    """`fields[type]=` and `limit[path]=` parameters, for reads that take them."""

    @property
    def resources(self) -> Resources:
        resources: Resources = self.request.state.resources
        return resources

    @property
    def principal(self) -> Principal:
        return principal_of(self.request.scope)

    def path_id(self, name: str = "id") -> int:
        """A positive 64-bit integer from the path; InvalidParameter otherwise."""
        return parse_id(self.request.path_params[name], name)

    def path_text(self, name: str = "id") -> str:
        text: str = self.request.path_params[name]
        return text

    async def body(self) -> Any:
        """The JSON body: 415 unless application/json, 400 INVALID_JSON when it does not parse."""
        return await json_body(self.request)

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)


Handler = Callable[[Call[Q]], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Operation(Generic[Q]):
    """One method on one path, declared once."""

    method: str
    path: str
    handler: Handler[Q]
    summary: str
    tag: str
    query: type[Q]
    answer: Answer
    description: str = ""
    body: type[BaseModel] | None = None
    access: Access = "anyone"
    errors: tuple[int, ...] = ()
    """Statuses beyond those the declaration implies (400, 401/403, 404 on a path id...)."""
    if_match: bool = False
    """The handler judges If-Match and If-None-Match itself, atomically with the write."""
    per_user: bool = False
    """Answers are the caller's own data: `Cache-Control: private, no-store`."""
    path_parameters: Mapping[str, PathParameter] = field(default_factory=dict)
    reads: str | None = None
    """The read model type a read's `include`, `fields[type]` and `limit[path]` start from."""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def path_parameter(self, name: str) -> PathParameter:
        return self.path_parameters.get(name, ID)

    async def run(self, request: Request, read: Operation[Any] | None = None) -> Response:
        """Check who calls, parse the query as declared, and hand the call to the handler.

        Who may call is settled first (401, then 403), so an anonymous or unprivileged
        caller learns nothing from how its parameters would have been judged; the service
        checks again, as it does for GraphQL. `read` is the GET of the same path, which
        gives a write's target its current representation for If-None-Match.
        """
        if self.access == "admin":
            require_admin(principal_of(request.scope))
        elif self.access == "user":
            require_user(principal_of(request.scope))
        if not self.if_match and self.method != "GET" and "if-match" in request.headers:
            # Ignoring it would let the write through unconditionally, which is exactly what
            # the client asked us not to do.
            raise InvalidParameter("If-Match", "this operation does not take conditional writes")
        query, bracketed = _parsed(self, request)
        if self.method != "GET" and not self.if_match:
            await _judge_if_none_match(request, self.method, read)
        response = await self.handler(Call(request, query, bracketed))
        if self.per_user:
            response.headers["Cache-Control"] = PRIVATE
        location = response.headers.get("location")
        if location is not None and location.startswith("/"):
            public_url = _resources(request).settings.public_url
            if public_url is not None:
                response.headers["Location"] = public_url + location
        return response


_PARSED: OrderedDict[tuple[Any, bool, bytes], tuple[Parameters, dict[str, str]]] = OrderedDict()
_PARSED_MAX = 2048
_PARSED_LONGEST = 1024


def _parsed(operation: Operation[Any], request: Request) -> tuple[Any, dict[str, str]]:
    """The query parsed as `operation` declares it, and its bracketed parameters
    (`fields[reviews]`): remembered by the raw query string (parameter models are frozen),
    most recently used kept, so a repeated request parses nothing. Refusals are not kept."""
    raw: bytes = request.scope.get("query_string", b"")
    key = (operation.query, operation.reads is not None, raw)
    found = _PARSED.get(key)
    if found is not None:
        _PARSED.move_to_end(key)
        return found[0], dict(found[1])
    model: type[Parameters] = operation.query
    values = query_values(request, list_parameters(model))
    bracketed: dict[str, str] = {}
    if operation.reads is not None:
        bracketed = {n: values.pop(n) for n in list(values) if BRACKETED.match(n)}
    query = parameters.parse(model, values)
    if len(raw) <= _PARSED_LONGEST:
        _PARSED[key] = (query, dict(bracketed))
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return query, bracketed


def _resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


async def _judge_if_none_match(request: Request, method: str, read: Operation[Any] | None) -> None:
    """412 when If-None-Match names the target's current ETag, or is `*` and it exists.

    A POST creates something new or acts on something without a representation of its own
    (a cancel, a sign-in): nothing there can match, so the condition always holds. Other
    writes compare with what GET answers at the same path just before the write; unlike
    If-Match on products, this check is not atomic with the write.
    """
    header = request.headers.get("if-none-match")
    if header is None:
        return
    if etags.parse(header) is None:
        raise InvalidParameter("If-None-Match", 'must be "*" or ETags as GET sent them, quoted')
    if method == "POST":
        return
    if read is None:
        raise InvalidParameter("If-None-Match", "this operation does not take conditional writes")
    try:
        current = await read.handler(Call(request, parameters.parse(read.query, {})))
    except NotFound:
        return
    tag = current.headers.get("etag") or etags.of(bytes(current.body))
    if etags.none_match(header, tag):
        raise PreconditionFailed(
            "If-None-Match names the current ETag of this resource (or is *, and it exists); "
            "nothing was changed."
        )


@functools.cache
def list_parameters(model: type[Parameters]) -> frozenset[str]:
    """The names of `model`'s parameters that hold lists (`fields`, `include`)."""
    properties = model.model_json_schema().get("properties", {})
    return frozenset(
        name
        for name, schema in properties.items()
        if schema.get("type") == "array"
        or any(option.get("type") == "array" for option in schema.get("anyOf", ()))
    )


def query_values(request: Request, lists: frozenset[str] = frozenset()) -> dict[str, str]:
    """The query string as a mapping, a list parameter's repeats joined with commas.

    `fields=a&fields=b` is `fields=a,b` (what generated clients send for an array); any
    other name given twice is refused, not silently merged.
    """
    values: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in values:
            if key not in lists:
                raise InvalidParameter(key, "given more than once")
            values[key] = f"{values[key]},{value}"
            continue
        values[key] = value
    return values


def routes(operations: Iterable[Operation[Any]]) -> list[Route]:
    """One Starlette route per path, dispatching on the method to its operation."""
    by_path: dict[str, dict[str, Operation[Any]]] = {}
    for operation in operations:
        methods = by_path.setdefault(operation.path, {})
        if operation.method in methods:
            raise ValueError(f"{operation.method} {operation.path} is declared twice")
        methods[operation.method] = operation
    found = []
    for path, ops in by_path.items():
        templated = [other for other in by_path if "{" in other and other != path]
        shadowing = "{" not in path and any(compile_path(t)[0].match(path) for t in templated)
        kind = _Fixed if shadowing else Route
        found.append(kind(path, _dispatch(ops), methods=list(ops)))
    return found


class _Fixed(Route):
    """A fixed path that a templated one also matches (`/users/me` and `/users/{id}`): it
    answers every method itself, 405 for those it does not take. Starlette would otherwise
    hand a PATCH of /users/me to /users/{id}, where "me" is no id."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (Match.FULL if match is Match.PARTIAL else match), child


def _dispatch(operations: Mapping[str, Operation[Any]]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        # Starlette answers HEAD with the GET handler; the body is dropped on the way out.
        method = "GET" if request.method == "HEAD" else request.method
        return await operations[method].run(request, operations.get("GET"))

    return endpoint

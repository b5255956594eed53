"""The OpenAPI 3.1 document, generated from the REST operations' own declarations.

Over 400 lines: one generator, one walk over the operations for one document.

Nothing here is written by hand per endpoint: paths, parameters, bodies and answers come
from `gateway.rest.OPERATIONS` and the pydantic models they name (the same models that
parse queries and validate bodies), and the error answers follow from what each
declaration implies (a body can be malformed, a path id absent, an admin operation
forbidden...). OpenAPI 3.1 speaks JSON Schema 2020-12, which is what pydantic emits.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.errors import (
    Conflict,
    DBUnavailable,
    Forbidden,
    GatewayError,
    IdempotencyKeyReused,
    InternalError,
    InvalidParameter,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    QueryTimeout,
    RateLimited,
    Unauthenticated,
    UnsupportedMediaType,
)
from gateway.reads.model import MODEL
from gateway.rest import representations
from gateway.rest.schemas import PageOut, Problem
from gateway.rest.spec import Operation

PREFIX = "/api/v1"
_REF = "#/components/schemas/{model}"

DESCRIPTION = """\
The catalogue and orders, as plain resources. The same data, rules and errors are
served as GraphQL at `/graphql`.

* **Lists** take `limit` (1-100), `after` (an opaque keyset cursor from `page.next_cursor`
  or the `Link` header, tied to its `sort`), `sort` (allow-listed fields, `-` for
  descending, id breaking ties), `count=exact`, `fields` and, for products, filters and
  `include`.
  List parameters take `a,b` or the name repeated (`fields=a&fields=b`).
* **Reads** carry a strong `ETag` (a hash of the body); send it back in `If-None-Match`
  for a bodiless 304; `If-Match` with no current tag is 412. Anonymous catalogue reads
  are `Cache-Control: public, max-age=30`; anything per user, or asked with a token, is
  `private, no-store`.
* **Compression**: bodies of 1 KB or more are sent with `br` or `gzip` when
  `Accept-Encoding` asks; a compressed body's ETag has the coding appended inside the
  quotes (`"abc-br"`), and every coding's tag works in `If-None-Match` and `If-Match`.
* **Writes** to products honour `If-Match` with the ETag of the plain GET (412 when the
  product changed); other writes refuse `If-Match` (400) rather than ignore it. Writes to
  an existing resource honour `If-None-Match` (412 when a tag listed is current, or for
  `*`: "only if it does not exist"); a POST creates or acts on something that has no
  representation yet, so `If-None-Match` never stops it.
  Every POST honours `Idempotency-Key`: a retry with the same key and body gets the first
  response back (`Idempotent-Replayed: true`) for 24 hours.
* **Links**: `Location` and `Link` are relative to this server (or absolute under its
  configured public URL), never built from the request's `Host`.
* **Errors** are RFC 9457 `application/problem+json` with a stable `code`. Strings may
  not hold NUL characters.
"""

_TAGS = [
    {"name": "products", "description": "The catalogue's products."},
    {"name": "categories", "description": "The category tree and the products under it."},
    {"name": "tags", "description": "Labels products carry."},
    {"name": "reviews", "description": "One rating per customer and product."},
    {"name": "orders", "description": "Your orders (every order for an admin)."},
    {"name": "accounts", "description": "Registration, sign-in, tokens and profiles."},
]

# Each error status: when it happens, described once, referenced by every operation.
_PROBLEMS: dict[int, tuple[str, type[GatewayError]]] = {
    400: (
        "Malformed parameter, header or body (INVALID_PARAMETER, INVALID_JSON, "
        "VALIDATION_FAILED with `errors`).",
        InvalidParameter,
    ),
    401: (
        "No valid credentials (UNAUTHENTICATED); also any invalid token on any route.",
        Unauthenticated,
    ),
    403: ("Signed in, but not allowed (FORBIDDEN); nothing changed.", Forbidden),
    404: ("Nothing you may see is there (NOT_FOUND).", NotFound),
    409: ("The request contradicts the current state (CONFLICT).", Conflict),
    412: (
        "A precondition does not hold (PRECONDITION_FAILED): If-Match names no current "
        "ETag, or If-None-Match names a current one on a write; nothing changed.",
        PreconditionFailed,
    ),
    413: ("The body is larger than the limit (PAYLOAD_TOO_LARGE).", PayloadTooLarge),
    415: ("The body is not application/json (UNSUPPORTED_MEDIA_TYPE).", UnsupportedMediaType),
    422: (
        "The Idempotency-Key was used for a different request (IDEMPOTENCY_KEY_REUSED).",
        IdempotencyKeyReused,
    ),
    429: ("Too many requests (RATE_LIMITED); see Retry-After.", RateLimited),
    500: ("Something broke (INTERNAL_SERVER_ERROR); details are in the log.", InternalError),
    503: (
        "The database is unavailable or busy (DB_UNAVAILABLE, POOL_EXHAUSTED); see Retry-After.",
        DBUnavailable,
    ),
    504: ("A query ran past the statement timeout (QUERY_TIMEOUT).", QueryTimeout),
}

_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "Strong validator: a hash of the body.", "schema": {"type": "string"}},
    "Location": {"description": "Where the new resource lives.", "schema": {"type": "string"}},
    "Link": {"description": 'The next page: `<url>; rel="next"`.', "schema": {"type": "string"}},
    "Cache-Control": {
        "description": "`public, max-age=30` or `private, no-store`.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` on a replayed response.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "X-Request-ID": {
        "description": "This request's id (echoed when sent).",
        "schema": {"type": "string"},
    },
    "X-Query-Count": {
        "description": "SQL statements this request ran.",
        "schema": {"type": "string"},
    },
}

# `*`, or entity-tags (RFC 9110 §8.8.3) separated by commas.
_ETAG_LIST = r'^(\*|(W/)?"[!#-~]*"(\s*,\s*(W/)?"[!#-~]*")*)$'

_HEADER_PARAMETERS: dict[str, dict[str, Any]] = {
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "ETags you hold (in any content coding); 304 without a body when one "
        "is current.",
        "schema": {"type": "string"},
    },
    "IfMatchRead": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "Answer only if the current ETag is one of these (or `*`); 412 otherwise.",
        "schema": {"type": "string", "pattern": _ETAG_LIST},
    },
    "IfNoneMatchWrite": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "Write only if the current ETag is none of these; `*` writes only if "
        "the resource does not exist (always 412 here, where it must exist). 412 otherwise.",
        "schema": {"type": "string", "pattern": _ETAG_LIST},
    },
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "Write only if the product's current ETag is one of these (or `*`); "
        "412 otherwise. Take it from GET /products/{id} or a previous write.",
        "schema": {"type": "string", "pattern": _ETAG_LIST},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A key of your choosing (a UUID, say). A retry with the same key and "
        "request gets the first response back for 24 hours; the key on a different "
        "request is 422.",
        "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
    },
}


def document(
    operations: Iterable[Operation[Any]], *, version: str, server: str | None = None
) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for `operations`, served at `server` (else here)."""
    operations = list(operations)
    schemas = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        item = paths.setdefault(PREFIX + operation.path, {})
        item[operation.method.lower()] = _operation(operation, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "gateway REST API", "version": version, "description": DESCRIPTION},
        # Paths carry /api/v1 themselves; without a public URL the server is the host that
        # served the document (a relative URL, resolved against it).
        "servers": [
            {"url": server, "description": "This gateway."}
            if server
            else {"url": "/", "description": "The server that serves this document."}
        ],
        "tags": _TAGS,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {_response_name(s): _problem_response(s) for s in _PROBLEMS},
            "parameters": _HEADER_PARAMETERS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from /auth/login, /auth/register or "
                    "/auth/refresh. Operations whose requirement lists `admin` need an admin's.",
                }
            },
        },
    }


def _schemas(operations: list[Operation[Any]]) -> dict[str, Any]:
    models: set[type[BaseModel]] = {Problem, PageOut}
    for operation in operations:
        if operation.body is not None:
            models.add(operation.body)
        if operation.answer.schema is not None:
            models.add(operation.answer.schema)
    ordered = sorted(models, key=lambda model: model.__name__)
    _, top = models_json_schema([(model, "validation") for model in ordered], ref_template=_REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    # What reads answer comes from the read model, as their bodies do.
    schemas.update(representations.schemas())
    for operation in operations:
        answer = operation.answer
        if answer.sparse and answer.schema is not None:
            name = answer.schema.__name__
            # `fields=` may leave any property out but `id`: a copy that requires only it.
            sparse = copy.deepcopy(schemas[name])
            sparse["required"] = ["id"]
            # Its own title: generators name classes after titles and drop duplicates.
            sparse["title"] = f"{name}Fields"
            sparse["description"] = (
                f"{sparse.get('description', '')} `fields` can narrow it to any properties; "
                "`id` is always there."
            )
            schemas[f"{name}Fields"] = sparse
    return dict(sorted(schemas.items()))


def _operation(operation: Operation[Any], schemas: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": [
            *_path_parameters(operation),
            *_query_parameters(operation.query),
            *(
                representations.bracketed_parameters(MODEL[operation.reads])
                if operation.reads is not None
                else ()
            ),
            *_header_parameters(operation),
        ],
        "responses": _responses(operation, schemas),
        "description": _description(operation),
    }
    if operation.body is not None:
        found["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(operation.body.__name__)}},
        }
    if operation.access == "anyone":
        found["security"] = [{}, {"bearerAuth": []}]
    elif operation.access == "admin":
        # OpenAPI 3.1 lets a non-OAuth requirement list the roles it needs: clients (the
        # admin console among them) can tell admin operations apart without reading prose.
        found["security"] = [{"bearerAuth": ["admin"]}]
    else:
        found["security"] = [{"bearerAuth": []}]
    return found


_WHO = {
    "anyone": "Anyone may call; a bearer token is optional.",
    "user": "Needs a signed-in caller's bearer token.",
    "admin": "Needs an admin's bearer token.",
}


def _description(operation: Operation[Any]) -> str:
    """What the declaration says, then what follows from it (who, caching, retries)."""
    parts = [operation.description] if operation.description else []
    parts.append(_WHO[operation.access])
    if operation.method == "GET":
        if operation.answer.many:
            parts.append(
                "One page of at most `limit` items; the next one is at `page.next_cursor` "
                'and in the `Link: <...>; rel="next"` header.'
            )
        parts.append("The answer carries a strong ETag: send it in If-None-Match for a 304.")
    elif operation.if_match:
        parts.append(
            "Conditional: If-Match (412 when the resource has changed since that ETag) and "
            "If-None-Match, judged with the row locked."
        )
    if operation.method == "POST":
        parts.append("Safe to retry with an Idempotency-Key.")
    return " ".join(parts)


def _path_parameters(operation: Operation[Any]) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in operation.path.split("/") if part.startswith("{")]
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": operation.path_parameter(name).description,
            "schema": dict(operation.path_parameter(name).schema),
        }
        for name in names
    ]


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    properties = model.model_json_schema(ref_template=_REF).get("properties", {})
    found = []
    for name, field in model.model_fields.items():
        schema = dict(properties[name])
        description = schema.pop("description", field.description or "")
        schema.pop("title", None)
        default = schema.pop("default", None)
        schema = _without_null(schema)
        if default is not None:
            schema["default"] = default
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema,
        }
        if schema.get("type") == "array":
            # `fields=id,name`: one parameter, comma-separated (RFC 6570 form, not exploded);
            # the name repeated is accepted too, as generated clients send it.
            parameter.update(style="form", explode=False)
            parameter["description"] = (
                f"{description} Comma-separated, or the parameter repeated."
            ).strip()
        found.append(parameter)
    return found


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without the `null` pydantic adds (absent is not null)."""
    options = schema.get("anyOf")
    if options is None:
        return schema
    rest = [option for option in options if option != {"type": "null"}]
    if len(rest) == 1:
        return {**{k: v for k, v in schema.items() if k != "anyOf"}, **rest[0]}
    return {**schema, "anyOf": rest}


def _header_parameters(operation: Operation[Any]) -> list[dict[str, Any]]:
    found = []
    if operation.method == "GET":
        found.append({"$ref": "#/components/parameters/IfNoneMatch"})
        found.append({"$ref": "#/components/parameters/IfMatchRead"})
    if operation.if_match:
        found.append({"$ref": "#/components/parameters/IfMatch"})
    if _judges_if_none_match(operation):
        found.append({"$ref": "#/components/parameters/IfNoneMatchWrite"})
    if operation.method == "POST":
        found.append({"$ref": "#/components/parameters/IdempotencyKey"})
    return found


def _responses(operation: Operation[Any], schemas: dict[str, Any]) -> dict[str, Any]:
    answer = operation.answer
    headers = {name: _header_ref(name, required=True) for name in answer.headers}
    headers["X-Request-ID"] = _header_ref("X-Request-ID", required=True)
    headers["X-Query-Count"] = _header_ref("X-Query-Count", required=True)
    if operation.method == "GET":
        headers["ETag"] = _header_ref("ETag", required=True)
        headers["Cache-Control"] = _header_ref("Cache-Control", required=True)
    if operation.per_user:
        headers["Cache-Control"] = _header_ref("Cache-Control", required=True)
    if answer.many:
        headers["Link"] = _header_ref("Link", required=False)
    if operation.method == "POST":
        headers["Idempotent-Replayed"] = _header_ref("Idempotent-Replayed", required=False)
    success: dict[str, Any] = {"description": answer.description, "headers": headers}
    if answer.schema is not None:
        success["content"] = {"application/json": {"schema": _envelope(operation)}}
    responses: dict[str, Any] = {str(answer.status): success}
    if operation.method == "GET":
        responses["304"] = {
            "description": "Not modified: the ETag in If-None-Match is current. No body.",
            "headers": {"ETag": _header_ref("ETag", required=True)},
        }
    for status in sorted(_error_statuses(operation)):
        responses[str(status)] = {"$ref": f"#/components/responses/{_response_name(status)}"}
    return responses


def _error_statuses(operation: Operation[Any]) -> set[int]:
    statuses = {400, 401, 429, 500, 503, 504, *operation.errors}
    if operation.access == "admin":
        statuses.add(403)
    if "{" in operation.path:
        statuses.add(404)
    if operation.body is not None:
        statuses |= {413, 415}
    if operation.if_match or operation.method == "GET" or _judges_if_none_match(operation):
        statuses.add(412)
    if operation.method == "POST":
        # An Idempotency-Key still in use by a running request, or reused for another one.
        statuses |= {409, 422}
    return statuses


def _judges_if_none_match(operation: Operation[Any]) -> bool:
    """Writes to an existing resource (`gateway.rest.spec` judges If-None-Match for them)."""
    return operation.method in ("PUT", "PATCH", "DELETE")


def _envelope(operation: Operation[Any]) -> dict[str, Any]:
    answer = operation.answer
    assert answer.schema is not None
    name = answer.schema.__name__
    item = _ref(f"{name}Fields" if answer.sparse else name)
    if operation.reads is not None:
        item = _ref(representations.schema_name(MODEL[operation.reads]))
    if not answer.many:
        return _object({"data": item})
    return _object({"data": {"type": "array", "items": item}, "page": _ref("PageOut")})


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _header_ref(name: str, *, required: bool) -> dict[str, Any]:
    header = dict(_HEADERS[name])
    header["required"] = required
    return header


def _response_name(status: int) -> str:
    return f"Problem{status}"


def _problem_response(status: int) -> dict[str, Any]:
    description, error = _PROBLEMS[status]
    headers: dict[str, Any] = {"X-Request-ID": _header_ref("X-Request-ID", required=True)}
    if status == 405:
        headers["Allow"] = {"schema": {"type": "string"}, "required": True}
    if status in (429, 503):
        headers["Retry-After"] = {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "string"},
            "required": status == 429,
        }
    if status == 401:
        headers["WWW-Authenticate"] = {"schema": {"type": "string"}, "required": True}
    schema = copy.deepcopy(_ref("Problem"))
    return {
        "description": f"{description} Example code: `{error.code}`.",
        "headers": headers,
        "content": {"application/problem+json": {"schema": schema}},
    }

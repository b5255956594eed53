"""What REST reads answer, as JSON Schemas generated from the read model.

A read's body is written by the planner from the read model, so its schema comes from the
same declarations: each type's REST fields and every relation `include` may embed, nested
to any depth. `fields` and `fields[type]` may leave out any property but the id, so only
the id is required. The OpenAPI document (`gateway.rest.openapi`) names these schemas
after the types (`Product`, `Review`...) and the bracketed parameters after the model.
"""

from __future__ import annotations

from typing import Any

from gateway.reads.model import MODEL, Field, Model, Type
from gateway.rest.shaping import MAX_DEPTH, paged_paths, reachable_types, resolve

_REF = "#/components/schemas/{model}"

_KINDS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "minimum": 1},
    "int": {"type": "integer"},
    "text": {"type": "string"},
    "decimal": {"type": "number"},
    "bool": {"type": "boolean"},
    "time": {"type": "string", "format": "date-time"},
    "enum": {"type": "string"},
}


def schema_name(owner: Type) -> str:
    return owner.name


def schemas(model: Model = MODEL) -> dict[str, Any]:
    """A schema per readable type, keyed by `schema_name`."""
    return {schema_name(t): _schema(t, model) for t in model.types.values()}


def _schema(owner: Type, model: Model) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name in owner.rest_shape:
        if not owner.has_relation(name):
            properties[name] = _field(owner.field(name))
    for relation in owner.relations:
        target = _ref(schema_name(model[relation.target]))
        if relation.many:
            value: dict[str, Any] = {"type": "array", "items": target}
        elif relation.nullable:
            value = {"anyOf": [target, {"type": "null"}]}
        else:
            value = dict(target)
        if relation.doc:
            value["description"] = relation.doc
        properties[relation.name] = value
    schema: dict[str, Any] = {
        "title": owner.name,
        "type": "object",
        "description": f"{owner.doc} `fields` (or `fields[{owner.rest}]`) may narrow it; "
        "relations appear when embedded or included.",
        "properties": properties,
        "additionalProperties": False,
    }
    if "id" in properties:
        schema["required"] = ["id"]
    return schema


def _field(field: Field) -> dict[str, Any]:
    schema = dict(_KINDS[field.kind])
    if field.choices:
        schema["enum"] = list(field.choices)
    if field.nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    if field.doc:
        schema["description"] = field.doc
    return schema


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF.format(model=name)}


def bracketed_parameters(root: Type) -> list[dict[str, Any]]:
    """`fields[type]` for every type a read of `root` can embed, `limit[path]` for every
    paged include path: what the read grammar takes beyond its model's parameters."""
    found = []
    for target in reachable_types(root):
        if target is root:
            continue
        found.append(
            {
                "name": f"fields[{target.rest}]",
                "in": "query",
                "required": False,
                "description": f"Only these properties of every embedded {target.rest} "
                "(comma-separated); the id always comes along.",
                "schema": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(target.rest_fields)},
                    "minItems": 1,
                },
                "style": "form",
                "explode": False,
            }
        )
    for path in paged_paths(root):
        relation = resolve(root, path)[-1][0]
        if path.count(".") >= MAX_DEPTH:
            continue
        found.append(
            {
                "name": f"limit[{path}]",
                "in": "query",
                "required": False,
                "description": f"How many `{path}` to embed (with `include={path}`), 1 to "
                f"{relation.max_limit}; {relation.default_limit} without it.",
                # No `default` here: generated clients send defaults, and a limit for a
                # relation that is not included is refused.
                "schema": {"type": "integer", "minimum": 1, "maximum": relation.max_limit},
            }
        )
    return found

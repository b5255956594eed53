"""What gateway/rest/representations.py derives from the read model: one closed JSON Schema per
type (only the id required, relations as references, nullable and enum fields), and the
bracketed `fields[type]` / `limit[path]` parameters a read of a type accepts."""

from __future__ import annotations

from gateway.reads.model import MODEL
from gateway.rest.representations import bracketed_parameters, schemas
from gateway.rest.shaping import MAX_DEPTH, resolve

REF = "#/components/schemas/"


def test_one_schema_per_type_named_after_it() -> None:
    found = schemas()
    assert set(found) == set(MODEL.types)
    for name, schema in found.items():
        assert schema["title"] == name
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False


def test_only_the_id_is_required_and_a_type_without_one_requires_nothing() -> None:
    found = schemas()
    assert found["Product"]["required"] == ["id"]
    assert "required" not in found["OrderItem"]


def test_properties_are_the_rest_shape_and_every_relation() -> None:
    for owner in MODEL.types.values():
        properties = schemas()[owner.name]["properties"]
        expected = set(owner.rest_shape) | {r.name for r in owner.relations}
        assert set(properties) == expected, owner.name


def test_relations_are_references_one_many_or_nullable() -> None:
    category = schemas()["Category"]["properties"]
    assert category["children"]["type"] == "array"
    assert category["children"]["items"] == {"$ref": REF + "Category"}
    assert category["parent"]["anyOf"] == [{"$ref": REF + "Category"}, {"type": "null"}]
    assert schemas()["Review"]["properties"]["author"]["$ref"] == REF + "User"


def test_field_kinds_become_json_types() -> None:
    product = schemas()["Product"]["properties"]
    assert {k: product[k].get("type") for k in ("id", "price", "in_stock", "stock")} == {
        "id": "integer",
        "price": "number",
        "in_stock": "boolean",
        "stock": "integer",
    }
    assert product["id"]["minimum"] == 1
    assert product["created_at"]["format"] == "date-time"
    assert product["rating_avg"]["anyOf"][1] == {"type": "null"}
    role = schemas()["Account"]["properties"]["role"]
    assert role["type"] == "string" and set(role["enum"]) == {"customer", "admin"}


def test_bracketed_fields_name_every_embeddable_type_but_the_root() -> None:
    found = {p["name"]: p for p in bracketed_parameters(MODEL["Product"])}
    fields = {name for name in found if name.startswith("fields[")}
    assert fields == {"fields[categories]", "fields[tags]", "fields[reviews]", "fields[users]"}
    tags = found["fields[tags]"]
    assert tags["schema"]["items"]["enum"] == list(MODEL["Tag"].rest_fields)
    assert tags["style"] == "form" and tags["explode"] is False
    assert bracketed_parameters(MODEL["Tag"]) == []


def test_bracketed_limits_are_bounded_by_their_relation_and_the_depth() -> None:
    root = MODEL["Product"]
    limits = [p for p in bracketed_parameters(root) if p["name"].startswith("limit[")]
    assert "limit[reviews]" in {p["name"] for p in limits}
    for parameter in limits:
        path = parameter["name"][len("limit[") : -1]
        relation = resolve(root, path)[-1][0]
        assert path.count(".") < MAX_DEPTH
        assert parameter["schema"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": relation.max_limit,
        }
        assert "default" not in parameter["schema"]

"""gateway/services/validation.py: write inputs, checked the same for both styles.

What a model refuses and how each refusal reads (one FieldError per problem, where it is
and what is wrong), text PostgreSQL could not store, partial updates that refuse null
unless a field may be cleared, and the JSON Schema the OpenAPI document shows.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import pydantic
import pytest
from pydantic import Field

from gateway.errors import ValidationFailed
from gateway.services.validation import Input, Patch, Text, validate


class Line(Input):
    sku: Text
    quantity: Annotated[int, Field(ge=1, le=99)]


class Thing(Input):
    name: Annotated[Text, Field(min_length=1, max_length=5)]
    lines: list[Line] = Field(default_factory=list)


class ThingPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"note"})

    name: Annotated[Text, Field(min_length=1, max_length=5)] | None = None
    note: Text | None = None


def _errors(model: type[pydantic.BaseModel], data: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        validate(model, data)
    return [(e.field, e.message) for e in caught.value.errors]


def test_a_valid_mapping_becomes_an_immutable_model() -> None:
    thing = validate(Thing, {"name": "lamp", "lines": [{"sku": "P-1", "quantity": 2}]})
    assert thing.lines[0].quantity == 2
    with pytest.raises(pydantic.ValidationError):
        thing.name = "rug"


@pytest.mark.parametrize("body", [[{"name": "lamp"}], "lamp", None, 3])
def test_a_body_that_is_not_an_object_is_one_error_with_no_field(body: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate(Thing, body)
    assert [(e.field, e.message) for e in caught.value.errors] == [("", "must be a JSON object")]
    assert str(caught.value) == "The body must be a JSON object."
    assert caught.value.code == "VALIDATION_FAILED"


def test_every_problem_is_reported_where_it_is() -> None:
    assert _errors(Thing, {"id": 1, "name": "", "lines": [{"sku": "x", "quantity": 0}]}) == [
        ("name", "String should have at least 1 character"),
        ("lines.0.quantity", "Input should be greater than or equal to 1"),
        ("id", "unknown or read-only field"),
    ]


def test_types_are_strict_and_unknown_fields_read_only() -> None:
    assert _errors(Line, {"sku": "x", "quantity": "2"}) == [
        ("quantity", "Input should be a valid integer")
    ]
    assert _errors(Line, {"sku": 7, "quantity": True}) == [
        ("sku", "Input should be a valid string"),
        ("quantity", "Input should be a valid integer"),
    ]
    assert _errors(Line, {"sku": "x", "quantity": 1, "version": 3}) == [
        ("version", "unknown or read-only field")
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a\x00b", "must not contain NUL characters"),
        ("\ud800", "must be valid Unicode text (no lone surrogates)"),
        ("", "String should have at least 1 character"),
        ("abcdef", "String should have at most 5 characters"),
    ],
)
def test_text_refuses_what_postgresql_cannot_store_and_counts_characters(
    name: str, message: str
) -> None:
    assert _errors(Thing, {"name": name}) == [("name", message)]
    assert validate(Thing, {"name": "a\u00e9\U0001f4a1bc"}).name == "a\u00e9\U0001f4a1bc"


def test_a_patch_keeps_what_is_omitted_and_refuses_null_unless_it_may_be_cleared() -> None:
    assert validate(ThingPatch, {"name": "rug"}).model_fields_set == {"name"}
    assert validate(ThingPatch, {"note": None}).note is None
    assert _errors(ThingPatch, {"name": None}) == [
        ("name", "must not be null; omit the field to keep it")
    ]


def test_the_schema_says_what_validation_does() -> None:
    schema = ThingPatch.model_json_schema()
    name, note = schema["properties"]["name"], schema["properties"]["note"]
    assert "default" not in name and "default" not in note
    assert name["type"] == "string" and (name["minLength"], name["maxLength"]) == (1, 5)
    assert {"type": "null"} in note["anyOf"], "a field that may be cleared says so"
    assert schema["minProperties"] == 1
    assert schema["additionalProperties"] is False

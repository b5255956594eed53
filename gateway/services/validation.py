"""Input validation shared by both styles: pydantic models declare each write's fields.

Services validate the mapping they are given (a REST JSON body, or GraphQL input
arguments) against one model, so both styles accept and refuse exactly the same input,
and the same declarations feed the OpenAPI document. Models forbid unknown fields, which
also rejects attempts to set read-only ones (`id`, `role`, `author_id`, `version`...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from gateway.errors import FieldError, ValidationFailed

M = TypeVar("M", bound=BaseModel)


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, nor UTF-8 encode a lone surrogate; refuse both here
    # rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string that PostgreSQL can store."""


class Input(BaseModel):
    """Base of every write's input model: strict types, no unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _patch_schema(schema: dict[str, Any], model: type[Any]) -> None:
    # The document says what validation does: no null unless `nullable`, no defaults
    # (omitted means "keep"), and at least one field.
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        prop.pop("default", None)
        if name in nullable or "anyOf" not in prop:
            continue
        options = [option for option in prop.pop("anyOf") if option != {"type": "null"}]
        if len(options) == 1:
            prop.update(options[0])
        else:
            prop["anyOf"] = options
    schema["minProperties"] = 1


class Patch(Input):
    """Base of partial-update models: omitted fields stay as they are; null is refused.

    Services treat "not given" as "keep", so a null would silently do nothing; saying so is
    kinder. Fields that may really be cleared are listed in `nullable`.
    """

    model_config = ConfigDict(json_schema_extra=_patch_schema)

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("must not be null; omit the field to keep it")
        return value


def validate(model: type[M], data: Any) -> M:
    """`data` as `model`; ValidationFailed with one FieldError per problem otherwise."""
    if not isinstance(data, Mapping):
        raise ValidationFailed(
            [FieldError("", "must be a JSON object")], "The body must be a JSON object."
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed([_field_error(e) for e in exc.errors()]) from None


def _field_error(error: Any) -> FieldError:
    field = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return FieldError(field, "unknown or read-only field")
    return FieldError(field, message(error))


def message(error: Any) -> str:
    """What a pydantic error says, as the gateway reports it."""
    kind, found = error["type"], error.get("input")
    if kind in ("too_short", "too_long") and isinstance(found, str):
        # A length checked after a validator (Text's) is reported as a count of "items";
        # say it of the string, as pydantic does for a plain one.
        bound = error["ctx"]["min_length" if kind == "too_short" else "max_length"]
        side = "least" if kind == "too_short" else "most"
        return f"String should have at {side} {bound} character{'' if bound == 1 else 's'}"
    text = str(error["msg"])
    if text.startswith("Value error, "):
        text = text[len("Value error, ") :]
    return text

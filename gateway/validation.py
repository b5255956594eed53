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
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string that PostgreSQL can store."""


class Input(BaseModel):
    """Base of every write's input model: strict types, no unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Patch(Input):
    """Base of partial-update models: omitted fields stay as they are; null is refused.

    Services treat "not given" as "keep", so a null would silently do nothing; saying so is
    kinder. Fields that may really be cleared are listed in `nullable`.
    """

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
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return FieldError(field, message)

"""What gateway/rest/schemas.py declares beyond plain pydantic: closed response objects, and
optional properties documented as sometimes absent, never as null."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gateway.rest.schemas import PageOut, Problem, ProductDetail, ProductOut, ReviewOut, TagOut


def test_a_property_that_may_be_left_out_is_not_required_and_not_nullable() -> None:
    schema = ProductOut.model_json_schema()
    category = schema["properties"]["category"]
    assert "default" not in category and "anyOf" not in category
    assert category["$ref"] == "#/$defs/CategoryOut"
    assert "category" not in schema["required"]
    tags = schema["properties"]["tags"]
    assert tags["type"] == "array" and "default" not in tags


def test_a_property_that_may_be_null_stays_required_and_nullable() -> None:
    schema = ProductOut.model_json_schema()
    assert "rating_avg" in schema["required"]
    assert {"type": "null"} in schema["properties"]["rating_avg"]["anyOf"]
    page = PageOut.model_json_schema()
    assert {"type": "null"} in page["properties"]["next_cursor"]["anyOf"]
    assert page["properties"]["total"] == {
        "type": "integer",
        "title": "Total",
        "description": "With `count=exact`: how many match in all.",
    }


def test_a_detail_embeds_what_a_list_item_may_leave_out() -> None:
    detail = ProductDetail.model_json_schema()
    assert {"category", "tags"} <= set(detail["required"])
    assert "reviews" not in detail["required"]


def test_response_objects_are_closed() -> None:
    assert TagOut.model_json_schema()["additionalProperties"] is False
    with pytest.raises(ValidationError):
        TagOut.model_validate({"id": 1, "name": "warm", "colour": "red"})


def test_a_review_rating_is_one_to_five() -> None:
    review = {
        "id": 1,
        "product_id": 1,
        "author": {"id": 1, "display_name": "A"},
        "title": "t",
        "body": "",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    for rating in (1, 5):
        assert ReviewOut.model_validate({**review, "rating": rating}).rating == rating
    for rating in (0, 6):
        with pytest.raises(ValidationError):
            ReviewOut.model_validate({**review, "rating": rating})


def test_a_problem_lists_field_errors_only_when_there_are_some() -> None:
    schema = Problem.model_json_schema()
    assert set(schema["required"]) == {"type", "title", "status", "detail", "code", "request_id"}
    assert schema["properties"]["errors"]["type"] == "array"

"""REST operations on /api/v1/tags: the list, one tag, and the admin's create and delete."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.responses import Response

from gateway.errors import NotFound
from gateway.http.responses import JSONResponse
from gateway.rest import reading, reference
from gateway.rest.products import FIELDS_HELP, SORT_HELP
from gateway.rest.schemas import TagOut
from gateway.rest.spec import Answer, Call, NoQuery, Operation
from gateway.services import tags
from gateway.services.parameters import ListParameters, Names, Parameters

TagField = Literal["id", "name"]


class TagQuery(Parameters):
    """One tag's shape."""

    fields: Names[TagField] | None = Field(default=None, description=FIELDS_HELP)


class TagListQuery(ListParameters):
    """/tags query."""

    sort: tags.Sort = Field(default=tags.DEFAULT_SORT, description=SORT_HELP)
    fields: Names[TagField] | None = Field(default=None, description=FIELDS_HELP)


async def list_tags(call: Call[TagListQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.list_tags(call)
    return await reading.read_page(call, "Tag")


async def get_tag(call: Call[TagQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.get_tag(call)
    tag_id = call.path_id()
    return await reading.read_one(
        call, "Tag", "{t}.id = {v}", tag_id, NotFound(f"Tag {tag_id} does not exist.")
    )


async def create_tag(call: Call[NoQuery]) -> Response:
    tag = await tags.create_tag(call.resources, call.principal, await call.body())
    location = {"Location": f"/api/v1/tags/{tag['id']}"}
    return JSONResponse({"data": tag}, status_code=201, headers=location)


async def delete_tag(call: Call[NoQuery]) -> Response:
    await tags.delete_tag(call.resources, call.principal, call.path_id())
    return Response(status_code=204)


_TAG = "tags"

OPERATIONS: list[Operation[Any]] = [
    Operation(
        "GET",
        "/tags",
        list_tags,
        "List tags",
        _TAG,
        TagListQuery,
        Answer(schema=TagOut, many=True, sparse=True, description="A page of tags."),
        reads="Tag",
    ),
    Operation(
        "POST",
        "/tags",
        create_tag,
        "Create a tag",
        _TAG,
        NoQuery,
        Answer(201, TagOut, "Created.", headers=("Location",)),
        body=tags.CreateTagInput,
        access="admin",
        errors=(409,),
    ),
    Operation(
        "GET",
        "/tags/{id}",
        get_tag,
        "Read a tag",
        _TAG,
        TagQuery,
        Answer(schema=TagOut, sparse=True, description="The tag."),
        errors=(404,),
        reads="Tag",
    ),
    Operation(
        "DELETE",
        "/tags/{id}",
        delete_tag,
        "Delete a tag",
        _TAG,
        NoQuery,
        Answer(204, description="Deleted; it leaves every product that carried it."),
        access="admin",
        errors=(404,),
    ),
]

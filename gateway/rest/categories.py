"""REST operations on /api/v1/categories: the tree, one category by id or slug, its products."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from starlette.responses import Response

from gateway.errors import InvalidParameter, NotFound
from gateway.http.responses import JSONResponse
from gateway.ids import parse_id
from gateway.reads import positions
from gateway.reads.model import CATEGORY
from gateway.rest import reading, reference
from gateway.rest.products import FIELDS_HELP, SORT_HELP, CategoryProductsQuery
from gateway.rest.schemas import CategoryOut, ProductOut
from gateway.rest.shaping import include_type
from gateway.rest.spec import ID, Answer, Call, NoQuery, Operation, PathParameter
from gateway.services import categories, product_lists
from gateway.services.parameters import Id, ListParameters, Names, Parameters
from gateway.services.tags import hyphenated

CategoryField = Literal["id", "slug", "name", "parent_id", "created_at"]


CATEGORY_INCLUDE_HELP = (
    "Embed relations (comma-separated), nested with dots: `parent`, `children` (in name "
    "order), `ancestors` (from the top of the tree down), `products` (a page: "
    "`limit[products]`)."
)
if TYPE_CHECKING:
    CategoryInclude = str
else:  # the include paths the read model allows, as a Literal (OpenAPI's enum)
    CategoryInclude = include_type(CATEGORY)


class CategoryQuery(Parameters):
    """One category's shape."""

    fields: Names[CategoryField] | None = Field(default=None, description=FIELDS_HELP)
    include: Names[CategoryInclude] | None = Field(default=None, description=CATEGORY_INCLUDE_HELP)


class CategoryListQuery(ListParameters):
    """/categories query."""

    sort: categories.Sort = Field(default=categories.DEFAULT_SORT, description=SORT_HELP)
    fields: Names[CategoryField] | None = Field(default=None, description=FIELDS_HELP)
    include: Names[CategoryInclude] | None = Field(default=None, description=CATEGORY_INCLUDE_HELP)
    parent_id: Id | None = Field(
        default=None, description="Only the direct children of this category."
    )


async def list_categories(call: Call[CategoryListQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.list_categories(call)
    parent_id = call.query.parent_id
    filters = [] if parent_id is None else [("parent_id", parent_id)]
    return await reading.read_page(call, "Category", filters=filters)


async def get_category(call: Call[CategoryQuery]) -> Response:
    ref = _id_or_slug(call)
    if not call.resources.settings.read_planner:
        return await reference.get_category(call, ref)
    absent = NotFound(f"Category {ref} does not exist.")
    return await reading.read_one(call, "Category", _by(ref), ref, absent)


async def list_category_products(call: Call[CategoryProductsQuery]) -> Response:
    ref = _id_or_slug(call)
    if not call.resources.settings.read_planner:
        return await reference.list_category_products(call, ref)
    wanted = product_lists.check_filter(call.query)
    return await reading.read_page(
        call,
        "Product",
        filters=positions.filter_values(wanted),
        parent=("Category", _by(ref), ref, "products"),
        absent=NotFound(f"Category {ref} does not exist."),
    )


def _by(ref: int | str) -> str:
    return "{t}.id = {v}" if isinstance(ref, int) else "{t}.slug = {v}"


async def create_category(call: Call[NoQuery]) -> Response:
    category = await categories.create_category(call.resources, call.principal, await call.body())
    location = {"Location": f"/api/v1/categories/{category['id']}"}
    return JSONResponse({"data": category}, status_code=201, headers=location)


async def update_category(call: Call[NoQuery]) -> Response:
    category = await categories.update_category(
        call.resources, call.principal, call.path_id(), await call.body()
    )
    return JSONResponse({"data": category})


async def delete_category(call: Call[NoQuery]) -> Response:
    await categories.delete_category(call.resources, call.principal, call.path_id())
    return Response(status_code=204)


def _id_or_slug(call: Call[Any]) -> int | str:
    """Digits name an id (checked like any path id); anything else must be a slug."""
    text = call.path_text()
    if text.isascii() and text.isdigit():
        return parse_id(text)
    try:
        hyphenated(text)
    except ValueError as exc:
        raise InvalidParameter("slug", str(exc)) from None
    return text


_ID_OR_SLUG = {
    "id": PathParameter(
        "The category's id, or its slug (digits always mean an id).",
        {
            "anyOf": [
                dict(ID.schema),
                {"type": "string", "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$", "maxLength": 100},
            ]
        },
    )
}
_ITEM = "/categories/{id}"
_TAG = "categories"
_CATEGORY = Answer(schema=CategoryOut, description="The category.")

OPERATIONS: list[Operation[Any]] = [
    Operation(
        "GET",
        "/categories",
        list_categories,
        "List categories",
        _TAG,
        CategoryListQuery,
        Answer(schema=CategoryOut, many=True, sparse=True, description="A page of categories."),
        reads="Category",
    ),
    Operation(
        "POST",
        "/categories",
        create_category,
        "Create a category",
        _TAG,
        NoQuery,
        Answer(201, CategoryOut, "Created.", headers=("Location",)),
        body=categories.CreateCategoryInput,
        access="admin",
        errors=(409,),
    ),
    Operation(
        "GET",
        _ITEM,
        get_category,
        "Read a category by id or slug",
        _TAG,
        CategoryQuery,
        Answer(schema=CategoryOut, sparse=True, description="The category."),
        errors=(404,),
        path_parameters=_ID_OR_SLUG,
        reads="Category",
    ),
    Operation(
        "PATCH",
        _ITEM,
        update_category,
        "Change some fields of a category",
        _TAG,
        NoQuery,
        _CATEGORY,
        description="A null `parent_id` makes it top-level; it cannot move below itself (409).",
        body=categories.UpdateCategoryInput,
        access="admin",
        errors=(404, 409),
    ),
    Operation(
        "DELETE",
        _ITEM,
        delete_category,
        "Delete a category",
        _TAG,
        NoQuery,
        Answer(204, description="Deleted."),
        description="Refused (409) while products or subcategories are filed under it.",
        access="admin",
        errors=(404, 409),
    ),
    Operation(
        "GET",
        "/categories/{id}/products",
        list_category_products,
        "List the products under a category",
        _TAG,
        CategoryProductsQuery,
        Answer(schema=ProductOut, many=True, sparse=True, description="A page of products."),
        description="Products filed under the category or any category below it, with the "
        "read grammar of /products.",
        errors=(404,),
        path_parameters=_ID_OR_SLUG,
        reads="Product",
    ),
]

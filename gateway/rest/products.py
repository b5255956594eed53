"""REST operations on /api/v1/products: the read grammar, and writes guarded by If-Match.

A product's ETag is the hash of its GET body (`gateway.etags`). PATCH and PUT take it
back in If-Match: the service locks the row, renders the product as it is now, and
writes only if that representation still hashes to a tag the client sent. So the check
covers everything the client saw (a review changing `rating_avg` makes the tag stale as
surely as an edit does) and no write can slip in between check and change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from starlette.responses import Response

from gateway.errors import InvalidParameter, NotFound
from gateway.http import etags
from gateway.http.responses import json_bytes
from gateway.reads import positions
from gateway.reads.model import PRODUCT
from gateway.rest import reading, reference
from gateway.rest.lists import tagged
from gateway.rest.schemas import ProductDetail, ProductOut
from gateway.rest.shaping import include_type
from gateway.rest.spec import Answer, Call, NoQuery, Operation
from gateway.services import product_lists, products
from gateway.services.parameters import ListParameters, Names, Parameters

ProductField = Literal[
    "id",
    "sku",
    "name",
    "description",
    "price",
    "stock",
    "in_stock",
    "category_id",
    "review_count",
    "rating_avg",
    "created_at",
    "updated_at",
    "version",
]
"""Properties `fields=` can pick (id always comes along)."""

SORT_HELP = "The order: a field, `-` in front for descending; the id breaks ties."
FIELDS_HELP = (
    "Only these properties (comma-separated), and the included relations; `id` always comes along."
)


INCLUDE_HELP = (
    "Embed relations (comma-separated), nested with dots (`reviews.author`, "
    "`category.parent`), at most three levels; all in the one statement. Lists embed a "
    "page (`reviews`: the newest 10; `limit[reviews]` sets it)."
)
if TYPE_CHECKING:
    ProductInclude = str
else:  # the include paths the read model allows, as a Literal (OpenAPI's enum)
    ProductInclude = include_type(PRODUCT)


class ProductShape(Parameters):
    """Which properties and relations a product read carries."""

    fields: Names[ProductField] | None = Field(default=None, description=FIELDS_HELP)
    include: Names[ProductInclude] | None = Field(default=None, description=INCLUDE_HELP)


class ProductListShape(ListParameters):
    """Order and shape of a product list."""

    sort: product_lists.Sort = Field(default=product_lists.DEFAULT_SORT, description=SORT_HELP)
    fields: Names[ProductField] | None = Field(default=None, description=FIELDS_HELP)
    include: Names[ProductInclude] | None = Field(default=None, description=INCLUDE_HELP)


# The shape comes last among the bases so its parameters come first in the document.
class ProductListQuery(product_lists.ProductFilter, ProductListShape):
    """/products query: shape, order and every filter."""


class CategoryProductsQuery(product_lists.ProductConditions, ProductListShape):
    """/categories/{id}/products query: the category is in the path."""


async def list_products(call: Call[ProductListQuery]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.list_products(call)
    wanted = product_lists.check_filter(call.query)
    return await reading.read_page(call, "Product", filters=positions.filter_values(wanted))


async def get_product(call: Call[ProductShape]) -> Response:
    if not call.resources.settings.read_planner:
        return await reference.get_product(call)
    product_id = call.path_id()
    return await reading.read_one(
        call,
        "Product",
        "{t}.id = {v}",
        product_id,
        NotFound(f"Product {product_id} does not exist."),
        default_include=("category", "tags"),
    )


async def create_product(call: Call[NoQuery]) -> Response:
    product = await products.create_product(call.resources, call.principal, await call.body())
    location = {"Location": f"/api/v1/products/{product['id']}"}
    return tagged({"data": product}, status=201, headers=location)


async def update_product(call: Call[NoQuery]) -> Response:
    product = await products.update_product(
        call.resources,
        call.principal,
        call.path_id(),
        await call.body(),
        precondition=precondition(call),
    )
    return tagged({"data": product})


async def replace_product(call: Call[NoQuery]) -> Response:
    product = await products.replace_product(
        call.resources,
        call.principal,
        call.path_id(),
        await call.body(),
        precondition=precondition(call),
    )
    return tagged({"data": product})


async def delete_product(call: Call[NoQuery]) -> Response:
    await products.delete_product(
        call.resources, call.principal, call.path_id(), precondition=precondition(call)
    )
    return Response(status_code=204)


def precondition(call: Call[Any]) -> products.Precondition | None:
    """If-Match and If-None-Match, for the service to judge with the row locked; None
    without either header.

    In the order of RFC 9110 §13.2.2: If-Match must name the current tag (or be `*`), then
    If-None-Match must not (`*` never holds: the product exists). Raises InvalidParameter
    for a header that holds no entity tags (a bare version number, say), which could never
    match and is better reported than answered with 412.
    """
    if_match = call.header("if-match")
    if_none_match = call.header("if-none-match")
    if if_match is None and if_none_match is None:
        return None
    for name, header in (("If-Match", if_match), ("If-None-Match", if_none_match)):
        if header is not None and etags.parse(header) is None:
            raise InvalidParameter(name, 'must be "*" or ETags as GET sent them, quoted')

    def judge(current: products.Product) -> str | None:
        tag = etags.of(json_bytes({"data": current}))
        if if_match is not None and not etags.match(if_match, tag):
            return "it has changed since that ETag was issued; read it again and retry."
        if if_none_match is not None and etags.none_match(if_none_match, tag):
            return "If-None-Match names its current ETag (or is *, and it exists)."
        return None

    return judge


_ITEM = "/products/{id}"
_TAG = "products"
_PRODUCT = Answer(schema=ProductDetail, description="The product.", headers=("ETag",))
_WRITE_ERRORS = (404, 409)

OPERATIONS: list[Operation[Any]] = [
    Operation(
        "GET",
        "/products",
        list_products,
        "List products",
        _TAG,
        ProductListQuery,
        Answer(schema=ProductOut, many=True, sparse=True, description="A page of products."),
        description="Sorted, filtered and shaped with the read grammar; keyset pagination "
        "with `after` (stable while rows are added).",
        reads="Product",
    ),
    Operation(
        "POST",
        "/products",
        create_product,
        "Create a product",
        _TAG,
        NoQuery,
        Answer(201, ProductDetail, "Created.", headers=("Location", "ETag")),
        body=products.CreateProductInput,
        access="admin",
        errors=(409,),
    ),
    Operation(
        "GET",
        _ITEM,
        get_product,
        "Read a product",
        _TAG,
        ProductShape,
        Answer(
            schema=ProductDetail,
            sparse=True,
            description="The product. Its ETag, taken without `fields` or `include`, is what "
            "If-Match expects.",
            headers=("ETag",),
        ),
        errors=(404,),
        reads="Product",
    ),
    Operation(
        "PATCH",
        _ITEM,
        update_product,
        "Change some fields of a product",
        _TAG,
        NoQuery,
        _PRODUCT,
        description="Omitted fields stay as they are; `tag_ids` replaces the set.",
        body=products.UpdateProductInput,
        access="admin",
        errors=_WRITE_ERRORS,
        if_match=True,
    ),
    Operation(
        "PUT",
        _ITEM,
        replace_product,
        "Replace a product",
        _TAG,
        NoQuery,
        _PRODUCT,
        description="Every field is required; the product keeps its id.",
        body=products.ReplaceProductInput,
        access="admin",
        errors=_WRITE_ERRORS,
        if_match=True,
    ),
    Operation(
        "DELETE",
        _ITEM,
        delete_product,
        "Delete a product",
        _TAG,
        NoQuery,
        Answer(204, description="Deleted."),
        description="Its reviews go with it; refused (409) while orders refer to it.",
        access="admin",
        errors=_WRITE_ERRORS,
        if_match=True,
    ),
]

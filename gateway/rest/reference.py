"""REST reads as the services answer them: the reference the planner is held to.

Before the read planner, every REST read was a service call (a named statement per sort
order, one batched statement per included relation) shaped in Python; these handlers are
that path, kept whole. `READ_PLANNER=false` serves every read through them (and every
GraphQL query through the resolvers), and the test suite compares both paths byte for
byte. They take the grammar they always took: nested includes, `fields[type]` and
`limit[path]` need the planner and are refused here (400).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from starlette.responses import Response

from gateway.errors import InvalidParameter
from gateway.http.responses import JSONResponse
from gateway.rest.lists import item_response, list_response, tagged
from gateway.rest.spec import Call
from gateway.services import accounts, categories, orders, product_lists, reviews, tags

_NEEDS_PLANNER = "needs the read planner (READ_PLANNER=true)"


def _plain(call: Call[Any], include: Collection[str] = ()) -> None:
    """Refuse what only the planner reads: bracketed parameters and includes it never had."""
    for name in call.bracketed:
        raise InvalidParameter(name, _NEEDS_PLANNER)
    given = getattr(call.query, "include", None) or ()
    for path in given:
        if path not in include:
            raise InvalidParameter("include", f"{path}: {_NEEDS_PLANNER}")


async def list_products(call: Call[Any]) -> Response:
    _plain(call, product_lists.INCLUDES)
    query = call.query
    include = query.include or ()
    page = await product_lists.list_products(
        call.resources,
        limit=query.limit,
        after=query.after,
        sort=query.sort,
        filters=query,
        count=query.count is not None,
        include=include,
    )
    return list_response(call.request, page, query.limit, fields=query.fields, keep=include)


async def get_product(call: Call[Any]) -> Response:
    _plain(call, product_lists.INCLUDES)
    query = call.query
    include = query.include or ()
    product = await product_lists.get_product(call.resources, call.path_id(), include=include)
    if query.fields is None:
        return tagged({"data": product})
    return item_response(product, fields=query.fields, keep=include)


async def list_categories(call: Call[Any]) -> Response:
    _plain(call)
    query = call.query
    page = await categories.list_categories(
        call.resources,
        limit=query.limit,
        after=query.after,
        sort=query.sort,
        parent_id=query.parent_id,
        count=query.count is not None,
    )
    return list_response(call.request, page, query.limit, fields=query.fields)


async def get_category(call: Call[Any], ref: int | str) -> Response:
    _plain(call)
    category = await categories.get_category(call.resources, ref)
    return item_response(category, fields=call.query.fields)


async def list_category_products(call: Call[Any], ref: int | str) -> Response:
    _plain(call, product_lists.INCLUDES)
    query = call.query
    include = query.include or ()
    page = await product_lists.category_products(
        call.resources,
        ref,
        limit=query.limit,
        after=query.after,
        sort=query.sort,
        filters=query,
        count=query.count is not None,
        include=include,
    )
    return list_response(call.request, page, query.limit, fields=query.fields, keep=include)


async def list_tags(call: Call[Any]) -> Response:
    _plain(call)
    query = call.query
    page = await tags.list_tags(
        call.resources,
        limit=query.limit,
        after=query.after,
        sort=query.sort,
        count=query.count is not None,
    )
    return list_response(call.request, page, query.limit, fields=query.fields)


async def get_tag(call: Call[Any]) -> Response:
    _plain(call)
    tag = await tags.get_tag(call.resources, call.path_id())
    return item_response(tag, fields=call.query.fields)


async def list_reviews(call: Call[Any]) -> Response:
    _plain(call)
    query = call.query
    page = await reviews.list_reviews(
        call.resources,
        call.path_id(),
        limit=query.limit,
        after=query.after,
        sort=query.sort,
        count=query.count is not None,
    )
    return list_response(call.request, page, query.limit, fields=query.fields)


async def get_review(call: Call[Any]) -> Response:
    _plain(call)
    review = await reviews.get_review(call.resources, call.path_id())
    return item_response(review, fields=call.query.fields)


async def list_orders(call: Call[Any]) -> Response:
    _plain(call)
    query = call.query
    page = await orders.list_orders(
        call.resources,
        call.principal,
        limit=query.limit,
        after=query.after,
        sort=query.sort,
        status=query.status,
        count=query.count is not None,
        with_items=_wants_items(query.fields),
    )
    return list_response(call.request, page, query.limit, fields=query.fields)


async def get_order(call: Call[Any]) -> Response:
    _plain(call)
    fields = call.query.fields
    order = await orders.get_order(
        call.resources, call.principal, call.path_id(), with_items=_wants_items(fields)
    )
    return item_response(order, fields=fields)


async def me(call: Call[Any]) -> Response:
    _plain(call)
    account = await accounts.me(call.resources, call.principal)
    return JSONResponse({"data": account})


async def user(call: Call[Any]) -> Response:
    _plain(call)
    profile = await accounts.public_profile(call.resources, call.path_id())
    return JSONResponse({"data": profile})


def _wants_items(fields: Sequence[str] | None) -> bool:
    # Lines cost a query; a client that did not ask for them does not pay for it.
    return fields is None or "items" in fields

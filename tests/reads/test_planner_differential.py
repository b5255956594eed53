"""The planner against the reference: the same answers, byte for byte, in both styles.

The resolvers (GraphQL) and the services (REST) are the implementation the planner
replaced, and they stay as the reference: READ_PLANNER=false serves them. Every document
and request here runs through both apps, on the seeded demo data, as an anonymous caller,
a customer and an admin; status, body (request ids aside) and Link must be identical.

The corpus: every GraphQL query in the README, the tests and the Compare scenarios (their
variables filled in by type), documents written for the planner's edge cases (aliases,
fragments, directives, nested connections, cursors), documents generated from the schema
by hypothesis-graphql, and REST requests over every read route with generated parameters.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from graphql import (
    ArgumentNode,
    DocumentNode,
    FloatValueNode,
    IntValueNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    StringValueNode,
    Visitor,
    build_schema,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import REMOVE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from gateway.app import create_app
from gateway.reads.model import MODEL
from gateway.settings import PROJECT_ROOT
from tests.conftest import Actors, app_settings
from tests.db.test_seed import run_seed

SCHEMA_TEXT = (PROJECT_ROOT / "schema.graphql").read_text()
SCHEMA = build_schema(SCHEMA_TEXT)
T = TypeVar("T")
CALLERS = ("anonymous", "customer", "admin")

GENERATED = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Pair:
    """The planner and the reference, started on one event loop over one database."""

    loop: asyncio.AbstractEventLoop
    planned: httpx.AsyncClient
    reference: httpx.AsyncClient
    planned_app: Any
    headers: dict[str, dict[str, str]]

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def both(
        self, method: str, url: str, caller: str = "anonymous", **kwargs: Any
    ) -> tuple[httpx.Response, httpx.Response]:
        headers = self.headers[caller]

        async def go() -> tuple[httpx.Response, httpx.Response]:
            one = await self.planned.request(method, url, headers=headers, **kwargs)
            two = await self.reference.request(method, url, headers=headers, **kwargs)
            return one, two

        return self.run(go())

    def planned_count(self) -> float:
        """How many GraphQL queries the planner answered so far (from /metrics)."""
        text = self.run(self.planned.get("/metrics")).text
        found = re.search(r'gateway_graphql_queries_total\{path="planned"\} ([0-9.e+]+)', text)
        return float(found.group(1)) if found else 0.0


def same(planned: httpx.Response, reference: httpx.Response, what: str) -> None:
    """Identical answers: status, body bytes (request ids aside) and Link."""
    assert planned.status_code == reference.status_code, (what, planned.text, reference.text)
    mine, theirs = _without_request_ids(planned), _without_request_ids(reference)
    if mine != theirs and _errors_in_another_order(mine, theirs):
        return
    assert mine == theirs, (what, planned.text[:2000], reference.text[:2000])
    assert planned.headers.get("link") == reference.headers.get("link"), what
    assert planned.headers.get("etag") == reference.headers.get("etag"), what


def _without_request_ids(response: httpx.Response) -> bytes:
    return re.sub(rb'"request_id":"[0-9a-f]{32}"', b'"request_id":"-"', response.content)


def _errors_in_another_order(mine: bytes, theirs: bytes) -> bool:
    # The executor resolves root fields concurrently: with several failing, their errors
    # come in the order they failed. The same errors in another order are the same answer.
    one, two = orjson.loads(mine), orjson.loads(theirs)
    if not (isinstance(one, dict) and isinstance(two, dict)) or "errors" not in one:
        return False
    key = orjson.dumps
    return one.get("data") == two.get("data") and sorted(map(key, one["errors"])) == sorted(
        map(key, two.get("errors", []))
    )


EXTRA = """
UPDATE products SET stock = 0 WHERE id % 7 = 0;
INSERT INTO categories (slug, name) VALUES ('empty-corner', 'Nothing "quoted" here\\\\');
UPDATE products SET name = 'Lamp "Ölfass" \\ n' || chr(9) || id WHERE id = 5;
"""


@pytest.fixture(scope="module")
def pair(database_url: str, redis_url: str) -> Iterator[Pair]:
    loop = asyncio.new_event_loop()
    loop.run_until_complete(run_seed(database_url))
    loop.run_until_complete(_execute(database_url, EXTRA))
    config = app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=10_000_000,
        login_failures_per_address=10_000_000,
    )

    async def start(planner: bool) -> LifespanManager:
        # Generous timeouts: on a busy machine closing two pools can take a while.
        app = create_app(replace(config, read_planner=planner))
        manager = LifespanManager(app, startup_timeout=60, shutdown_timeout=60)
        await manager.__aenter__()
        return manager

    planned, reference = loop.run_until_complete(start(True)), loop.run_until_complete(start(False))
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=m.app),
            base_url="http://t",
            headers={"Accept-Encoding": "identity"},
        )
        for m in (planned, reference)
    ]
    actors = Actors(database_url, config)
    customer = loop.run_until_complete(_customer_with_orders(database_url, actors))
    admin = loop.run_until_complete(actors.admin())
    try:
        yield Pair(
            loop,
            clients[0],
            clients[1],
            planned.app,
            {"anonymous": {}, "customer": customer, "admin": admin.headers},
        )
    finally:
        for client in clients:
            loop.run_until_complete(client.aclose())
        for manager in (planned, reference):
            loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _customer_with_orders(url: str, actors: Actors) -> dict[str, str]:
    """A customer who owns some of the seeded orders (so `me`, `orders` and `order` read
    something), beside others' orders they must not see."""
    customer = await actors.customer("Differential")
    await _execute(url, f"UPDATE orders SET customer_id = {customer.user_id} WHERE id % 10 = 0")
    return customer.headers


# ---------------------------------------------------------------------------- GraphQL corpus

WRITTEN = [
    "{ __typename }",
    "{ products(first: 3) { __typename edges { __typename cursor node { __typename id } } } }",
    "{ products(first: 5, sort: PRICE_DESC) { edges { cursor node { id name price inStock } }"
    " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }",
    "{ products(first: 4, sort: RATING_AVG_DESC, filter: {inStock: true, minPrice: 3}) {"
    " totalCount edges { node { id ratingAvg reviewCount } } } }",
    '{ products(first: 6, sort: NAME, filter: {q: "lamp"}) { edges { node { name } } } }',
    '{ products(first: 3, filter: {category: "1"}) { totalCount edges { node { id } } } }',
    '{ products(first: 3, filter: {category: "no-such-slug"}) { totalCount edges { node { id } } } }',
    "{ products(first: 2, sort: CREATED_AT_DESC) { edges { node { createdAt updatedAt version"
    " sku description } } } }",
    "{ a: products(first: 2) { e: edges { n: node { i: id x: name } } }"
    " b: products(first: 2, sort: ID_DESC) { edges { node { id } } } }",
    "query P($id: ID!) { product(id: $id) { ...F category { ...C parent { ...C } } } }"
    " fragment F on Product { id name tags { id name } } fragment C on Category { id slug name }",
    "{ product(id: 5) { id name ... on Product { price ... { stock } } } }",
    "{ product(id: 999999) { id } }",
    "{ a: product(id: 999998) { id } b: product(id: 999997) { id } c: product(id: 1) { id } }",
    "{ product(id: 3) { reviews(first: 2) { totalCount pageInfo { hasNextPage endCursor }"
    " edges { cursor node { id rating title body createdAt author { id displayName }"
    " product { id name } } } } } }",
    "{ products(first: 3) { edges { node { id reviews(first: 1) { edges { node { id } }"
    " pageInfo { hasNextPage } } category { ancestors { slug } children { slug } } } } } }",
    '{ category(slug: "home") { id name children { name products(first: 2, sort: PRICE) {'
    " totalCount edges { node { name price } } } } } }",
    "{ category(id: 2) { name parent { name parent { name } } ancestors { name } } }",
    '{ category(slug: "no-such-category") { id } }',
    "{ categories(first: 5) { totalCount pageInfo { endCursor hasNextPage } edges { cursor"
    " node { id slug products(first: 1) { totalCount } } } } }",
    "{ tags(first: 4) { totalCount edges { cursor node { id name } } pageInfo { endCursor } } }",
    "{ review(id: 7) { id rating title product { name } author { displayName } } }",
    "{ review(id: 999999) { id } }",
    "{ user(id: 2) { id displayName } missing: user(id: 999999) { id } }",
    "{ me { id email displayName role createdAt } }",
    "{ orders(first: 5) { totalCount edges { cursor node { id status total createdAt"
    " customer { id displayName } items { quantity unitPrice product { id name } } } }"
    " pageInfo { hasNextPage endCursor } } }",
    "{ orders(first: 3, status: PENDING) { totalCount edges { node { id status } } } }",
    "{ order(id: 10) { id status total items { quantity } } other: order(id: 11) { id } }",
    "query Q($s: Boolean!, $n: Int = 2) { products(first: $n) { edges { node { id"
    " name @skip(if: $s) price @include(if: $s) } } } }",
    "query Q($first: Int, $after: String, $sort: ProductSort, $filter: ProductFilter) {"
    " products(first: $first, after: $after, sort: $sort, filter: $filter) {"
    " edges { cursor node { id } } pageInfo { endCursor } } }",
    "{ products(first: 2) { edges { node { id } } } categories(first: 2) { edges { node { id } } }"
    " tags(first: 2) { totalCount } __typename }",
    "{ __schema { queryType { name } } }",
    "{ products(first: 0) { totalCount } }",
    "{ products(first: 101) { totalCount } }",
    '{ products(first: 2, after: "not-a-cursor") { totalCount } }',
    '{ category(id: 1, slug: "home") { id } }',
    '{ products(first: 1) { edges { node { reviews(first: 1, after: "x") { totalCount } } } } }',
    '{ category(slug: "home") { products(first: 1, filter: {category: "home"}) { totalCount } } }',
]


def _variables_for(operation: OperationDefinitionNode) -> list[dict[str, Any]]:
    """Values for an operation's variables by their type, two sets where a Boolean decides."""
    base: dict[str, Any] = {}
    flags: list[str] = []
    by_type = {
        "ID": "3",
        "Int": 2,
        "Float": 5.0,
        "String": None,
        "ProductSort": "PRICE_DESC",
        "ProductFilter": {"minPrice": 2},
        "OrderStatus": "PENDING",
    }
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        type_text = print_ast(definition.type)
        named = type_text.strip("[]!")
        if named == "Boolean":
            flags.append(name)
            continue
        value = by_type.get(named)
        if value is None and type_text.endswith("!"):
            value = "x" if named == "String" else None
        base[name] = value
    if not flags:
        return [base]
    return [{**base, **dict.fromkeys(flags, True)}, {**base, **dict.fromkeys(flags, False)}]


def _documents_in(paths: list[Path]) -> list[str]:
    """Every string constant in these files that is a valid GraphQL query document."""
    found: list[str] = []
    for path in paths:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value
            if "{" not in text or len(text) > 5000:
                continue
            if _valid_query(text):
                found.append(text)
    return found


def _valid_query(text: str) -> bool:
    try:
        document = parse(text)
    except Exception:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return (
        len(operations) == 1
        and operations[0].operation.value == "query"
        and not validate(SCHEMA, document)
    )


def _readme_documents() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    found = re.findall(r"```graphql\n(.*?)```", readme, flags=re.S)
    found += re.findall(r"`([^`\n]*\{[^`\n]*\})`", readme)
    for match in re.finditer(r'"query":"((?:[^"\\]|\\.)*)"', readme):
        found.append(orjson.loads(f'"{match.group(1)}"'))
    return [text for text in found if _valid_query(text)]


def corpus() -> list[str]:
    tests = sorted((PROJECT_ROOT / "tests").rglob("test_*.py"))
    compare = sorted((PROJECT_ROOT / "gateway" / "compare").glob("*.py"))
    found = WRITTEN + _readme_documents() + _documents_in(tests + compare)
    return list(dict.fromkeys(found))


CORPUS = corpus()


def test_the_corpus_gathers_the_documents_it_promises() -> None:
    assert len(_readme_documents()) >= 2
    assert len(_documents_in(sorted((PROJECT_ROOT / "tests").rglob("test_*.py")))) >= 40
    assert len(CORPUS) >= 100


@pytest.mark.parametrize("caller", CALLERS)
def test_every_document_of_the_corpus_answers_alike(pair: Pair, caller: str) -> None:
    before = pair.planned_count()
    runs = 0
    for text in CORPUS:
        operation = next(
            d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)
        )
        for variables in _variables_for(operation):
            body = {"query": text, "variables": variables}
            planned, reference = pair.both("POST", "/graphql", caller, json=body)
            same(planned, reference, f"{caller}: {text} {variables}")
            runs += 1
    # The planner answered most of them (the rest: introspection, refused arguments, and
    # what a caller may not read).
    assert pair.planned_count() - before >= runs * 0.6


def test_cursors_from_either_path_page_the_same(pair: Pair) -> None:
    document = (
        "query($after: String) { products(first: 7, sort: NAME_DESC, after: $after) {"
        " edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }"
    )
    after = None
    pages = 0
    while True:
        body = {"query": document, "variables": {"after": after}}
        planned, reference = pair.both("POST", "/graphql", json=body)
        same(planned, reference, f"page {pages}")
        info = planned.json()["data"]["products"]["pageInfo"]
        pages += 1
        if not info["hasNextPage"] or pages > 40:
            break
        after = info["endCursor"]
    assert pages > 20


def _repaired(document: DocumentNode, draw: Any) -> DocumentNode:
    """A generated document with most of its arguments made sensible (ids that exist, small
    pages, no random cursors or slugs), so the planner, not only refusals, is exercised."""

    class Repair(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
            name = node.name.value
            if name == "first":
                return ArgumentNode(name=node.name, value=IntValueNode(value=str(draw(1, 6))))
            if name == "id":
                return ArgumentNode(name=node.name, value=StringValueNode(value=str(draw(1, 60))))
            if name in ("after", "slug"):
                return REMOVE
            return None

        def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> Any:
            name = node.name.value
            if name in ("category", "tag"):
                return REMOVE
            if name in ("minPrice", "maxPrice", "ratingGte") and isinstance(
                node.value, IntValueNode | FloatValueNode
            ):
                low = 5 if name == "ratingGte" else 30
                return ObjectFieldNode(name=node.name, value=IntValueNode(value=str(draw(0, low))))
            if name == "q" and isinstance(node.value, StringValueNode):
                return ObjectFieldNode(name=node.name, value=StringValueNode(value="lamp"))
            return None

    repaired: DocumentNode = visit(document, Repair())
    return repaired


@GENERATED
@given(
    document=queries(SCHEMA_TEXT, print_ast=lambda node: node),
    repair=st.booleans(),
    caller=st.sampled_from(CALLERS),
    data=st.data(),
)
def test_generated_documents_answer_alike(
    pair: Pair, document: DocumentNode, repair: bool, caller: str, data: st.DataObject
) -> None:
    if repair:
        document = _repaired(document, lambda low, high: data.draw(st.integers(low, high)))
    text = print_ast(document)
    planned, reference = pair.both("POST", "/graphql", caller, json={"query": text})
    same(planned, reference, f"{caller}: {text}")


# ------------------------------------------------------------------------------- REST corpus

PRODUCT_FIELDS = (None, "name,price", "sku,rating_avg,created_at,in_stock", "id")
PRODUCT_INCLUDES = (None, "category", "tags", "reviews", "category,tags,reviews", "reviews,tags")
# Every sort the read model allows (both directions), as declared there.
PRODUCT_SORTS = MODEL["Product"].sort_names
FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "category": st.sampled_from(["1", "2", "home", "no-such-slug", "5"]),
        "min_price": st.sampled_from(["1", "10.5", "0"]),
        "max_price": st.sampled_from(["40", "200"]),
        "in_stock": st.sampled_from(["true", "false"]),
        "tag": st.sampled_from(["bestseller", "handmade", "nothing-like-it"]),
        "q": st.sampled_from(["lamp", '"desk lamp"', "lamp -desk", "zzz"]),
        "rating_gte": st.sampled_from(["3", "4.5"]),
    },
)


def _query(params: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in params.items() if v is not None]
    return "?" + "&".join(parts) if parts else ""


def _walk(pair: Pair, url: str, caller: str = "anonymous", pages: int = 3) -> None:
    """Compare a list and the pages after it, following the planner's Link."""
    for _ in range(pages):
        planned, reference = pair.both("GET", url, caller)
        same(planned, reference, f"{caller}: {url}")
        link = planned.headers.get("link")
        if not link:
            return
        url = link[1 : link.index(">")]


REST = settings(max_examples=120, deadline=None, database=None)


@REST
@given(
    limit=st.sampled_from([1, 3, 20]),
    sort=st.sampled_from(PRODUCT_SORTS),
    filters=FILTERS,
    count=st.booleans(),
    fields=st.sampled_from(PRODUCT_FIELDS),
    include=st.sampled_from(PRODUCT_INCLUDES),
    under=st.sampled_from([None, "1", "home", "2"]),
)
def test_product_lists_answer_alike(
    pair: Pair,
    limit: int,
    sort: str,
    filters: dict[str, str],
    count: bool,
    fields: str | None,
    include: str | None,
    under: str | None,
) -> None:
    params: dict[str, Any] = {"limit": limit, "sort": sort, **filters}
    params.update(count="exact" if count else None, fields=fields, include=include)
    if under is None:
        _walk(pair, f"/api/v1/products{_query(params)}")
    else:
        params.pop("category", None)
        _walk(pair, f"/api/v1/categories/{under}/products{_query(params)}")


@REST
@given(
    product=st.sampled_from(["1", "5", "7", "120", "999999", "0", "abc"]),
    fields=st.sampled_from(PRODUCT_FIELDS),
    include=st.sampled_from(PRODUCT_INCLUDES),
)
def test_products_answer_alike(
    pair: Pair, product: str, fields: str | None, include: str | None
) -> None:
    url = f"/api/v1/products/{product}{_query({'fields': fields, 'include': include})}"
    planned, reference = pair.both("GET", url)
    same(planned, reference, url)


@REST
@given(
    product=st.sampled_from(["1", "3", "9", "999999"]),
    limit=st.sampled_from([1, 2, 10]),
    sort=st.sampled_from(["created_at", "-created_at", "rating", "-rating"]),
    count=st.booleans(),
    fields=st.sampled_from([None, "rating,title", "author,created_at", "id"]),
)
def test_review_lists_answer_alike(
    pair: Pair, product: str, limit: int, sort: str, count: bool, fields: str | None
) -> None:
    params = {"limit": limit, "sort": sort, "count": "exact" if count else None, "fields": fields}
    _walk(pair, f"/api/v1/products/{product}/reviews{_query(params)}")


@pytest.mark.parametrize("caller", CALLERS)
def test_the_other_read_routes_answer_alike(pair: Pair, caller: str) -> None:
    urls = [
        "/api/v1/categories",
        "/api/v1/categories?sort=-name&limit=4&count=exact",
        "/api/v1/categories?parent_id=1&fields=slug",
        "/api/v1/categories?sort=name&limit=3",
        "/api/v1/categories/1",
        "/api/v1/categories/home?fields=name",
        "/api/v1/categories/empty-corner",
        "/api/v1/categories/999999",
        "/api/v1/categories/Not_A_Slug",
        "/api/v1/tags",
        "/api/v1/tags?sort=-name&limit=5&count=exact",
        "/api/v1/tags/3",
        "/api/v1/tags/3?fields=name",
        "/api/v1/tags/999999",
        "/api/v1/reviews/5",
        "/api/v1/reviews/5?fields=rating,author",
        "/api/v1/reviews/999999",
        "/api/v1/users/2",
        "/api/v1/users/999999",
        "/api/v1/users/me",
        "/api/v1/orders",
        "/api/v1/orders?status=pending&count=exact&limit=3",
        "/api/v1/orders?sort=created_at&fields=status,total&limit=4",
        "/api/v1/orders?fields=items",
        "/api/v1/orders/10",
        "/api/v1/orders/11",
        "/api/v1/orders/10?fields=customer,total",
        "/api/v1/orders/999999",
    ]
    for url in urls:
        _walk(pair, url, caller)

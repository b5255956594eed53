"""The OpenAPI document: generated from the declarations, valid 3.1, true to the server.

Schemathesis generates requests from /openapi.json itself, valid and invalid, sends them
to the app in-process as an admin, and checks every answer against the document: no
server error, no status, header, content type or body the document does not describe.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.rest import OPERATIONS, ROUTES
from gateway.rest.docs import openapi_document
from gateway.services import product_lists
from gateway.services.orders import TRANSITIONS
from gateway.settings import Settings
from gateway.tokens import TokenIssuer
from tests.conftest import TEST_JWT_SECRET, app_settings, run_sql

SEED = """
INSERT INTO categories (slug, name) VALUES ('home', 'Home');
INSERT INTO categories (slug, name, parent_id) VALUES ('lamps', 'Lamps', 1);
INSERT INTO tags (name) VALUES ('warm'), ('cold');
INSERT INTO products (sku, name, description, price, stock, category_id)
SELECT 'SKU-' || n, 'Lamp ' || n, 'A lamp.', n * 1.25, 1000, 1 + n % 2
FROM generate_series(1, 30) n;
INSERT INTO product_tags (product_id, tag_id) VALUES (1, 1), (2, 2);
INSERT INTO users (email, display_name, password_hash, role)
VALUES ('admin@example.com', 'Admin', '!', 'admin');
INSERT INTO reviews (product_id, author_id, rating, title) VALUES (1, 1, 4, 'Fine');
INSERT INTO orders (customer_id) VALUES (1);
INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (1, 3, 1, 3.75);
"""


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_and_method_is_documented_and_nothing_else() -> None:
    paths = openapi_document()["paths"]
    served = {
        ("/api/v1" + route.path, method.lower())
        for route in ROUTES
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(path, method) for path, item in paths.items() for method in item}
    assert served == documented
    assert len({op.operation_id for op in OPERATIONS}) == len(OPERATIONS)


def test_protected_operations_name_the_bearer_scheme() -> None:
    declared = {(op.method.lower(), "/api/v1" + op.path): op.access for op in OPERATIONS}
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            schemes = operation["security"]
            if {} not in schemes:
                # Admin operations name the role they need (OpenAPI 3.1 allows role names
                # in a non-OAuth requirement), so clients can tell them apart.
                roles = ["admin"] if declared[(method, path)] == "admin" else []
                assert schemes == [{"bearerAuth": roles}], (method, path)
                assert "401" in operation["responses"]
                assert "403" in operation["responses"] or not roles, (method, path)


def test_the_document_states_the_order_transitions_the_service_enforces() -> None:
    schema = openapi_document()["components"]["schemas"]["StatusChange"]
    stated = schema["properties"]["status"]["x-transitions"]
    assert {(old, new) for old, targets in stated.items() for new in targets} == TRANSITIONS


def test_query_parameters_are_the_models_that_parse_them() -> None:
    products = openapi_document()["paths"]["/api/v1/products"]["get"]
    names = {p["name"] for p in products["parameters"] if "name" in p}
    # The read grammar's bracketed parameters come from the read model.
    bracketed = {n for n in names if "[" in n}
    assert {"fields[reviews]", "fields[users]", "fields[categories]", "limit[reviews]"} <= bracketed
    assert "limit[tags]" not in bracketed, "tags are always whole"
    assert names - bracketed == {
        "limit",
        "after",
        "count",
        "sort",
        "fields",
        "include",
        "category",
        "min_price",
        "max_price",
        "in_stock",
        "tag",
        "q",
        "rating_gte",
    }
    fields = next(p for p in products["parameters"] if p.get("name") == "fields")
    assert (fields["style"], fields["explode"]) == ("form", False)
    sort = next(p for p in products["parameters"] if p.get("name") == "sort")
    assert sort["schema"]["enum"] == list(product_lists.ORDERS)


def test_schema_titles_are_unique_so_generators_keep_every_schema() -> None:
    schemas = openapi_document()["components"]["schemas"]
    titles = [schema.get("title", name) for name, schema in schemas.items()]
    assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)
    assert schemas["ProductOutFields"]["title"] == "ProductOutFields"


def test_descriptions_are_whole_sentences() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name, schema in schemas.items():
        if name.endswith("Fields"):
            assert schema["description"].endswith(
                "`fields` can narrow it to any properties; `id` is always there."
            ), name
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            description = operation["description"]
            assert description.endswith("."), (method, path)
            assert any(who in description for who in ("Anyone", "signed-in", "admin")), path


def test_the_document_names_its_server() -> None:
    assert openapi_document()["servers"] == [
        {"url": "/", "description": "The server that serves this document."}
    ]
    public = openapi_document(public_url="https://api.example.com")
    assert public["servers"] == [{"url": "https://api.example.com", "description": "This gateway."}]
    validate(public)


@pytest.mark.anyio
@pytest.mark.usefixtures("app")  # for its catalogue
async def test_array_parameters_may_be_repeated(client: httpx.AsyncClient) -> None:
    # Generated clients (openapi-python-client, openapi-fetch) send `fields=a&fields=b`.
    url = "/api/v1/products?limit=2"
    for query in (
        "&fields=name&fields=price",
        "&fields=name,price",
        "&fields=name&fields=price,name",
    ):
        response = await client.get(url + query)
        assert response.status_code == 200, query
        assert set(response.json()["data"][0]) == {"id", "name", "price"}, query
    both = await client.get(url + "&include=category&include=tags&fields=name")
    assert set(both.json()["data"][0]) == {"id", "name", "category", "tags"}
    wrong = await client.get(url + "&fields=name&fields=nope")
    assert wrong.status_code == 400
    assert wrong.json()["detail"].startswith("fields:")
    # Scalars given twice are still refused, never merged.
    for twice in ("&limit=1", "&sort=id&sort=-id", "&q=a&q=b"):
        refused = await client.get(url + twice)
        assert refused.status_code == 400
        assert "given more than once" in refused.json()["detail"]


@pytest.fixture(scope="module")
def app(database_url: str, redis_url: str) -> Iterator[Starlette]:
    """An app on this module's database, shared with Schemathesis' in-process client."""

    run_sql(database_url, SEED)
    app = create_app(
        app_settings(
            database_url,
            redis_url,
            rate_limit_per_minute=1_000_000,
            login_failures_per_address=1_000_000,
        )
    )
    MODULE_APP.app = app
    yield app
    # Schemathesis keeps the lifespan running for the whole process; end it with the module.
    schemathesis_asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def admin_headers() -> dict[str, str]:
    defaults = Settings()
    issuer = TokenIssuer(
        TEST_JWT_SECRET,
        issuer=defaults.jwt_issuer,
        audience=defaults.jwt_audience,
        ttl=defaults.access_token_ttl,
    )
    return {"Authorization": f"Bearer {issuer.issue(1, 'admin')}"}


class _ModuleApp:
    """The ASGI app Schemathesis calls in-process: the module's app, once the fixture made it.

    The document is built from declarations, with no server, so the schema (and a test per
    operation) exists at import time; the app needs this module's database, which exists
    only once fixtures run.
    """

    app: Starlette | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the `app` fixture has not run"
        await self.app(scope, receive, send)


MODULE_APP = _ModuleApp()
schema = schemathesis.openapi.from_dict(openapi_document())
schema.app = MODULE_APP
schema.config.update(base_url="http://testserver")


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.usefixtures("app")
def test_the_server_does_what_the_document_says(case: Any, admin_headers: dict[str, str]) -> None:
    # Positive data the server refuses anyway is expected here: an unknown category id, a
    # weak password or a cursor of random text are valid by schema and rightly 4xx.
    case.call_and_validate(
        headers=admin_headers,
        excluded_checks=[positive_data_acceptance],
    )


# /docs ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_docs_page_loads_only_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r'(?:src|href|url)[=:]\s*"([^"]+)"', page.text)
    assert urls, "the page references its assets"
    for url in urls:
        assert url.startswith("/"), f"{url} would need the network"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
    assert (await client.get("/docs/assets/index.html")).status_code == 404


@pytest.mark.anyio
async def test_openapi_json_is_served_with_an_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/openapi.json")
    assert first.status_code == 200
    assert first.json() == openapi_document()
    again = await client.get("/openapi.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304

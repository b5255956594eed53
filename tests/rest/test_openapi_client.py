"""A client generated from /openapi.json by openapi-python-client, used unedited.

The document is fetched from a real `gateway serve`, the client is generated from it
exactly as a user would (no warnings: every operation and schema parsed), and its code
lists products, reads one, registers, signs in and places an order against that server,
with typed models in and out. Array query parameters go out the way such clients send
them, the name repeated (`fields=name&fields=price`).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.conftest import TEST_JWT_SECRET, run_sql
from tests.processes import Served, base_env

pytestmark = pytest.mark.slow

SEED = """
INSERT INTO categories (slug, name) VALUES ('lamps', 'Lamps');
INSERT INTO products (sku, name, description, price, stock, category_id)
SELECT 'GEN-' || n, 'Lamp ' || n, 'A lamp.', n + 0.5, 10, 1 FROM generate_series(1, 30) n;
"""

PACKAGE = "gateway_generated_client"


@pytest.fixture(scope="module")
def served(database_url: str, redis_url: str) -> Iterator[Served]:
    run_sql(database_url, SEED)
    env = base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:{uuid.uuid4().hex[:8]}",
        DB_POOL_MIN_SIZE="0",
    )
    server = Served(env)
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def client_package(
    served: Served, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("generated")
    document = httpx.get(served.url + "/openapi.json")
    assert document.status_code == 200
    (folder / "openapi.json").write_bytes(document.content)
    # No post hooks: the code is used exactly as the generator writes it.
    (folder / "config.yaml").write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(folder / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(folder / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # A schema or response the generator cannot use comes out as a warning and a client
    # with pieces missing (duplicate titles once cost 11 GET operations their answers).
    assert "Warning" not in output and "WARNING" not in output, output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_generated_client_lists_reads_registers_signs_in_and_orders(
    served: Served, client_package: ModuleType
) -> None:
    list_products = importlib.import_module(f"{PACKAGE}.api.products.list_products")
    get_product = importlib.import_module(f"{PACKAGE}.api.products.get_product")
    register = importlib.import_module(f"{PACKAGE}.api.accounts.register")
    login = importlib.import_module(f"{PACKAGE}.api.accounts.login")
    place_order = importlib.import_module(f"{PACKAGE}.api.orders.place_order")
    models = importlib.import_module(f"{PACKAGE}.models")

    with client_package.Client(base_url=served.url, raise_on_unexpected_status=True) as client:
        # A list, shaped with an array parameter (sent as fields=name&fields=price).
        fields = [models.ListProductsFieldsItem.NAME, models.ListProductsFieldsItem.PRICE]
        page = list_products.sync(client=client, limit=5, fields=fields)
        assert isinstance(page, models.ListProductsResponse200), page
        assert [item.id for item in page.data] == [1, 2, 3, 4, 5]
        assert page.data[0].name == "Lamp 1" and page.data[0].price == 1.5
        assert page.page.limit == 5 and isinstance(page.page.next_cursor, str)
        assert "sku" not in page.data[0].to_dict()
        # The next page, from the cursor of the first.
        following = list_products.sync(client=client, limit=5, after=page.page.next_cursor)
        assert [item.id for item in following.data] == [6, 7, 8, 9, 10]

        # One product, whole, with its category.
        product = get_product.sync(client=client, id=3)
        assert isinstance(product, models.GetProductResponse200), product
        assert product.data.sku == "GEN-3" and product.data.category.slug == "lamps"
        missing = get_product.sync_detailed(client=client, id=999)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Problem) and missing.parsed.code == "NOT_FOUND"

        # Register, then sign in with the same credentials.
        email = f"gen-{uuid.uuid4().hex[:8]}@example.com"
        registered = register.sync(
            client=client,
            body=models.RegisterInput(
                email=email, password="generated-client-pw", display_name="Generated"
            ),
        )
        assert isinstance(registered, models.RegisterResponse201), registered
        assert registered.data.account.email == email
        session = login.sync(
            client=client, body=models.LoginInput(email=email, password="generated-client-pw")
        )
        assert isinstance(session, models.LoginResponse200), session
        assert session.data.token_type == "Bearer"

        # Place an order as that account, retry-safe with an Idempotency-Key.
        authed = client_package.AuthenticatedClient(
            base_url=served.url, token=session.data.access_token, raise_on_unexpected_status=True
        )
        with authed:
            line = models.OrderLine(product_id=3, quantity=2)
            order = place_order.sync_detailed(
                client=authed,
                body=models.PlaceOrderInput(items=[line]),
                idempotency_key=f"gen-{uuid.uuid4().hex}",
            )
        assert order.status_code == 201
        assert isinstance(order.parsed, models.PlaceOrderResponse201), order.parsed
        placed = order.parsed.data
        assert placed.status == models.OrderOutStatus.PENDING
        assert [(i.product_id, i.quantity, i.unit_price) for i in placed.items] == [(3, 2, 3.5)]
        assert placed.total == 7.0
        assert order.headers["location"] == f"/api/v1/orders/{placed.id}"
        after = get_product.sync(client=client, id=3)
        assert after.data.stock == 8

"""The admin console in Chromium against a real `gateway serve`, as an admin would use it.

One server (the small demo data set, the development accounts) and one browser serve the
module; each test opens its own browser contexts, so each signs in afresh (tokens live in
the page's memory only). Screenshots at 1280 and 390 px go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.cli.backends import DEVELOPMENT_ACCOUNTS
from gateway.settings import PROJECT_ROOT
from tests.browser import chromium
from tests.compare.test_runner import seed_demo
from tests.conftest import TEST_JWT_SECRET
from tests.processes import Served, base_env

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
ADMIN, CUSTOMER, OTHER_CUSTOMER = DEVELOPMENT_ACCOUNTS


@pytest.fixture(scope="module")
def served(database_url: str, redis_url: str) -> Iterator[Served]:
    asyncio.run(seed_demo(database_url))
    env = base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:{uuid.uuid4().hex[:8]}",
        DB_POOL_MIN_SIZE="0",
        GATEWAY_WORKERS="1",
        LOG_LEVEL="warning",
        # Role changes reach the account's tokens within this many seconds.
        SESSION_CHECK_SECONDS="1",
    )
    server = Served(env)
    try:
        yield server
    finally:
        assert server.stop() == 0, server.output()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


class Console:
    """A browser tab on /admin, with the page errors and CSP reports it met."""

    def __init__(self, browser: Any, url: str, width: int = 1280) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.url = url
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.goto(url + "/admin")

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx a fetch gets; the API's refusals are part of the tests.
        expected = message.text.startswith("Failed to load resource: the server responded")
        if message.type == "error" and not expected:
            self.problems.append(message.text)

    def sign_in(self, account: tuple[str, str] = ADMIN) -> None:
        email, password = account
        page = self.page
        # Keyboard only: the email field, Tab to the password, Enter submits.
        page.get_by_label("Email").focus()
        page.keyboard.type(email)
        page.keyboard.press("Tab")
        page.keyboard.type(password)
        page.keyboard.press("Enter")

    def signed_in(self, account: tuple[str, str] = ADMIN) -> Console:
        self.sign_in(account)
        self.page.get_by_role("heading", name="Site administration").wait_for()
        return self

    def go(self, route: str) -> None:
        self.page.evaluate("(route) => { location.hash = route; }", route)

    def status(self, start: str) -> str:
        """The status line, once it starts with `start`."""
        self.page.wait_for_function(
            "(start) => document.getElementById('status').innerText.startsWith(start)", arg=start
        )
        text: str = self.page.locator("#status").inner_text()
        return text

    def heading(self, name: str | re.Pattern[str]) -> None:
        self.page.get_by_role("heading", name=name, level=1).wait_for()

    def close(self) -> None:
        self.context.close()
        assert self.problems == []


def api_token(url: str, account: tuple[str, str] = ADMIN) -> tuple[int, dict[str, str]]:
    email, password = account
    answer = httpx.post(url + "/api/v1/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    return data["account"]["id"], {"Authorization": f"Bearer {data['access_token']}"}


def product(url: str, product_id: int) -> dict[str, Any]:
    answer = httpx.get(f"{url}/api/v1/products/{product_id}")
    assert answer.status_code == 200
    data: dict[str, Any] = answer.json()["data"]
    return data


def column(page: Any, label: str) -> list[str]:
    """The texts of one column of the list table, by its header's label."""
    texts: list[str] = page.eval_on_selector_all(
        f'table.items tbody td[data-label="{label}"]', "cells => cells.map(c => c.innerText)"
    )
    return texts


def test_admin_filters_sorts_pages_and_reprices_what_graphql_then_reads(
    served: Served, browser: Any
) -> None:
    console = Console(browser, served.url).signed_in()
    page = console.page
    # The token lives in the page's memory only.
    assert page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]") == [
        0,
        0,
        "",
    ]
    page.get_by_role("navigation", name="Resources").get_by_role("link", name="Products").click()
    console.heading("Products")
    assert page.locator(".count").inner_text().endswith("200 in all")

    # Filter: full-text search and in-stock only; the list, its total and its address follow.
    page.get_by_label("Search").fill("lamp")
    page.get_by_label("In stock").select_option("true")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function("() => location.hash.includes('q=lamp')")
    page.locator(".list-body:not([aria-busy])").wait_for()
    count = re.search(r"(\d+) in all", page.locator(".count").inner_text())
    assert count is not None
    total = int(count.group(1))
    assert 0 < total < 200
    assert all(int(s) > 0 for s in column(page, "Stock"))

    # Sort by clicking a column header (a button, so the keyboard reaches it).
    page.get_by_role("button", name="Price").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash.includes('sort=price')")
    page.locator('th[aria-sort="ascending"]').wait_for()
    page.locator(".list-body:not([aria-busy])").wait_for()
    prices = [float(p.replace(",", "")) for p in column(page, "Price")]
    assert prices == sorted(prices) and len(prices) == min(total, 20)
    first_page = column(page, "ID")
    if total > 20:
        page.get_by_role("button", name="Next page").click()
        page.wait_for_function("() => location.hash.includes('after=')")
        page.locator(".list-body:not([aria-busy])").wait_for()
        later = column(page, "ID")
        assert later and not set(later) & set(first_page)
        assert float(column(page, "Price")[0].replace(",", "")) >= prices[-1]
    page.screenshot(path=str(_artifacts() / "admin-products.png"), full_page=True)

    # Edit a price: the detail, the edit form, Save; GraphQL reads the new price.
    product_id = int(first_page[0])
    console.go(f"#/products/{product_id}")
    console.heading(re.compile("^Product: "))
    page.get_by_role("link", name="Edit", exact=True).click()
    console.heading(f"Edit product #{product_id}")
    page.get_by_label("Price").fill("12.34")
    page.get_by_role("button", name="Save").click()
    console.heading(re.compile("^Product: "))
    assert console.status("Saved product").endswith("price 12.34.")
    answer = httpx.post(
        served.url + "/graphql",
        json={
            "query": "query($id: ID!) { product(id: $id) { price } }",
            "variables": {"id": str(product_id)},
        },
    )
    assert answer.json() == {"data": {"product": {"price": 12.34}}}
    console.close()


def test_edits_in_two_tabs_meet_a_412_and_the_second_is_reapplied(
    served: Served, browser: Any
) -> None:
    product_id = 7
    before = product(served.url, product_id)
    first = Console(browser, served.url).signed_in()
    second = Console(browser, served.url).signed_in()
    for tab in (first, second):
        tab.go(f"#/products/{product_id}/edit")
        tab.heading(f"Edit product #{product_id}")
    second.page.get_by_label("Stock").fill(str(before["stock"] + 5))
    second.page.get_by_role("button", name="Save").click()
    second.heading(re.compile("^Product: "))

    # The first tab still holds the ETag it read: its save is refused and explained.
    first.page.get_by_label("Price").fill("77.70")
    first.page.get_by_role("button", name="Save").click()
    panel = first.page.get_by_role("alert").filter(has_text="Changed since you opened it")
    panel.wait_for()
    stock_row = panel.locator('tr[data-field="stock"]')
    assert stock_row.locator("td.changed").inner_text() == str(before["stock"] + 5)
    assert panel.locator('tr[data-field="price"] td').nth(2).inner_text() == "77.70"
    assert product(served.url, product_id)["price"] == before["price"]
    first.page.screenshot(path=str(_artifacts() / "admin-conflict.png"), full_page=True)

    first.page.get_by_role("button", name="Re-apply my changes").click()
    first.heading(re.compile("^Product: "))
    after = product(served.url, product_id)
    # Both edits hold: the other tab's stock, and this tab's price re-applied on top of it.
    assert (after["price"], after["stock"]) == (77.7, before["stock"] + 5)
    first.close()
    second.close()


def test_validation_errors_show_by_their_fields_and_a_double_click_creates_one_tag(
    served: Served, browser: Any
) -> None:
    console = Console(browser, served.url).signed_in()
    page = console.page
    console.go("#/tags/new")
    console.heading("New tag")
    name = page.get_by_label("Name")
    name.fill("Not A Slug")
    page.get_by_role("button", name="Create tag").click()
    error = page.locator('[data-field="name"] .error')
    error.wait_for()
    assert "lowercase" in error.inner_text()
    assert name.get_attribute("aria-invalid") == "true"
    assert name.evaluate("e => e === document.activeElement")

    posts: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.headers)
            if r.method == "POST" and r.url.endswith("/api/v1/tags")
            else None
        ),
    )
    replayed: list[str | None] = []
    page.on(
        "response",
        lambda r: (
            replayed.append(r.headers.get("idempotent-replayed"))
            if r.request.method == "POST" and r.url.endswith("/api/v1/tags")
            else None
        ),
    )
    tag = f"console-{uuid.uuid4().hex[:8]}"
    name.fill(tag)
    page.get_by_role("button", name="Create tag").dblclick()
    console.heading(f"Tag: {tag}")
    console.status("Created")
    page.wait_for_timeout(300)
    assert len(posts) == 2, posts
    assert posts[0]["idempotency-key"] == posts[1]["idempotency-key"]
    assert sorted(replayed, key=str) == [None, "true"]
    tags = httpx.get(served.url + "/api/v1/tags", params={"limit": 100}).json()["data"]
    assert [t["name"] for t in tags].count(tag) == 1
    console.close()


def test_a_customer_is_told_the_console_is_for_admins_only(served: Served, browser: Any) -> None:
    console = Console(browser, served.url)
    console.sign_in(CUSTOMER)
    refusal = console.page.get_by_role("alert").filter(has_text="Admins only")
    refusal.wait_for()
    assert f"{CUSTOMER[0]} is a customer account" in refusal.inner_text()
    assert console.page.locator("#nav").is_hidden()
    assert console.page.get_by_label("Email").is_visible()
    console.close()


def test_an_admin_made_a_customer_is_signed_out_of_the_console(
    served: Served, browser: Any
) -> None:
    _, admin = api_token(served.url)
    email, password = f"soon-{uuid.uuid4().hex[:8]}@example.com", "a-long-enough-password"
    registered = httpx.post(
        served.url + "/api/v1/auth/register",
        json={"email": email, "password": password, "display_name": "Soon Gone"},
    )
    assert registered.status_code == 201, registered.text
    user_id = registered.json()["data"]["account"]["id"]
    role = f"{served.url}/api/v1/users/{user_id}"
    assert httpx.patch(role, json={"role": "admin"}, headers=admin).status_code == 200
    console = Console(browser, served.url).signed_in((email, password))
    assert httpx.patch(role, json={"role": "customer"}, headers=admin).status_code == 200
    # Within SESSION_CHECK_SECONDS the console's token stops working; its refresh then
    # brings a customer's token, which the console does not keep.
    console.page.wait_for_timeout(1500)
    console.go("#/products")
    notice = console.page.locator(".notice", has_text="admins only")
    notice.wait_for()
    assert f"{email} is a customer account" in notice.inner_text()
    assert console.page.get_by_role("heading", name="Sign in").is_visible()
    console.close()


def test_orders_move_only_as_allowed_and_the_catalogue_tasks_work(
    served: Served, browser: Any
) -> None:
    _, admin = api_token(served.url)
    console = Console(browser, served.url).signed_in()
    page = console.page

    # An order: only the moves the API allows from its status are offered.
    pending = httpx.get(
        served.url + "/api/v1/orders", params={"status": "pending", "limit": 1}, headers=admin
    )
    order_id = pending.json()["data"][0]["id"]
    console.go(f"#/orders/{order_id}")
    console.heading(f"Order: #{order_id}")
    moves = page.locator(".toolbar button", has_text="Mark ").all_inner_texts()
    assert sorted(moves) == ["Mark cancelled", "Mark paid"]
    page.get_by_role("button", name="Mark paid").click()
    page.get_by_role("button", name="Mark shipped").wait_for()
    order = httpx.get(f"{served.url}/api/v1/orders/{order_id}", headers=admin).json()["data"]
    assert order["status"] == "paid"

    # Restock two products at once from the list.
    before = [product(served.url, i)["stock"] for i in (1, 2)]
    console.go("#/products")
    console.heading("Products")
    for product_id in (1, 2):
        page.locator(f'td.select input[value="{product_id}"]').check()
    bulk = page.get_by_role("region", name="Change the selected rows")
    assert bulk.locator(".selected").inner_text() == "2 selected"
    bulk.get_by_label("Field").select_option("stock")
    bulk.get_by_label("Change").select_option("add")
    bulk.get_by_label("Value").fill("5")
    bulk.get_by_role("button", name="Apply to selected").click()
    console.status("Updated 2 of 2.")
    assert [product(served.url, i)["stock"] for i in (1, 2)] == [s + 5 for s in before]

    # Move a category under another one of the tree.
    console.go("#/categories/7/edit")
    console.heading("Edit category #7")
    parent = page.get_by_label("Parent id")
    page.wait_for_function("() => document.querySelectorAll('select option').length > 5")
    parent.select_option(label="Outdoors")
    page.get_by_role("button", name="Save").click()
    console.heading(re.compile("^Category: "))
    assert httpx.get(served.url + "/api/v1/categories/7").json()["data"]["parent_id"] == 2

    # Delete a review from its product's list.
    review_id = httpx.get(served.url + "/api/v1/products/3/reviews").json()["data"][0]["id"]
    console.go("#/products/3")
    console.heading(re.compile("^Product: "))
    row = page.locator(
        "section.child tr", has=page.locator(f'td[data-label="ID"]:text-is("{review_id}")')
    )
    row.get_by_role("button", name=re.compile("^Delete")).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    console.status("Deleted")
    assert httpx.get(f"{served.url}/api/v1/reviews/{review_id}").status_code == 404

    # Look a user up and make them an admin: their next sign-in is an admin's.
    user_id, _ = api_token(served.url, OTHER_CUSTOMER)
    console.go("#/users")
    console.heading("Users")
    page.get_by_label("User id").fill(str(user_id))
    page.get_by_role("button", name="Open").click()
    console.heading(re.compile("^User: "))
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Save").click()
    console.heading(re.compile("^User: "))
    assert console.status("Saved user").endswith("role admin.")
    _, promoted = api_token(served.url, OTHER_CUSTOMER)
    assert (
        httpx.get(served.url + "/api/v1/users/me", headers=promoted).json()["data"]["role"]
        == "admin"
    )
    console.close()


def test_every_admin_operation_has_a_control_and_the_phone_layout_fits(
    served: Served, browser: Any
) -> None:
    document = httpx.get(served.url + "/openapi.json").json()
    admin = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if {"bearerAuth": ["admin"]} in operation["security"]
    }
    console = Console(browser, served.url).signed_in()
    page = console.page
    page.screenshot(path=str(_artifacts() / "admin-home.png"), full_page=True)
    found: set[str] = set()
    routes: list[tuple[str, str | re.Pattern[str]]] = [
        ("#/products", "Products"),
        ("#/products/1", re.compile("^Product: ")),
        ("#/orders", "Orders"),
        ("#/orders/2", re.compile("^Order: ")),
        ("#/categories", "Categories"),
        ("#/categories/3", re.compile("^Category: ")),
        ("#/tags", "Tags"),
        ("#/tags/1", re.compile("^Tag: ")),
        ("#/users/5", re.compile("^User: ")),
    ]
    for route, title in routes:
        console.go(route)
        console.heading(title)
        page.locator("[aria-busy]").first.wait_for(state="detached")
        found |= set(
            page.eval_on_selector_all("[data-operation]", "es => es.map(e => e.dataset.operation)")
        )
    assert admin <= found, admin - found

    narrow = Console(browser, served.url, width=390).signed_in()
    narrow.go("#/products")
    narrow.heading("Products")
    narrow.page.locator(".list-body:not([aria-busy])").wait_for()
    # Nothing overflows sideways on a phone-sized screen.
    assert narrow.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    narrow.page.screenshot(path=str(_artifacts() / "admin-products-narrow.png"), full_page=False)
    narrow.go("#/products/1/edit")
    narrow.heading("Edit product #1")
    assert narrow.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    narrow.page.screenshot(path=str(_artifacts() / "admin-edit-narrow.png"), full_page=False)
    narrow.close()
    console.close()


def _artifacts() -> Any:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

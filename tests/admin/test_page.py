"""The admin console's page, its setting, its safety headers, and what it offers.

The console is a plain client of the REST API generated from /openapi.json; here it is
checked without a server: its module that derives views from the document runs in
Chromium against the document the app serves, and must reach every admin operation.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from gateway.admin import CSP, STATIC
from gateway.rest.docs import openapi_document
from gateway.settings import Settings, SettingsError
from tests.browser import chromium
from tests.conftest import app_client

MODULE_IMPORT = re.compile(r'^import .* from "\./([\w-]+\.js)";$', re.M)


@pytest.mark.anyio
async def test_page_is_served_with_a_strict_content_security_policy(settings: Settings) -> None:
    async with app_client(settings) as http:
        answer = await http.get("/admin")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        policy = answer.headers["content-security-policy"]
        assert policy == CSP
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["connect-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["require-trusted-types-for"] == "'script'"
        assert "unsafe" not in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        page = answer.text
        # No inline script or style: every script is a file, no style element or attribute.
        scripts = re.findall(r"<script\b[^>]*>", page)
        assert scripts == ['<script type="module" src="/admin/static/main.js">']
        assert "<style" not in page and "style=" not in page
        for asset in re.findall(r'(?:src|href)="(/admin/static/[^"]+)"', page):
            served = await http.get(asset)
            assert served.status_code == 200, asset
            assert served.headers["cache-control"] == "no-cache"


@pytest.mark.anyio
async def test_every_module_the_console_imports_is_served(settings: Settings) -> None:
    modules = {path.name for path in STATIC.glob("*.js")}
    wanted = {"main.js"}
    for module in modules:
        wanted |= set(MODULE_IMPORT.findall((STATIC / module).read_text()))
    assert wanted == modules, "an import names a missing module, or a module is unused"
    async with app_client(settings) as http:
        for module in sorted(modules):
            answer = await http.get(f"/admin/static/{module}")
            assert answer.status_code == 200, module
            assert answer.headers["content-type"].startswith("text/javascript"), module


def test_no_module_writes_markup_or_styles() -> None:
    # The CSP's Trusted Types refuse these at run time; this says which line would.
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
        r"\.style\b|setAttribute\(\"style|localStorage|sessionStorage|document\.cookie"
    )
    for module in sorted(STATIC.glob("*.js")):
        for number, line in enumerate(module.read_text().splitlines(), 1):
            assert not forbidden.search(line), f"{module.name}:{number}: {line.strip()}"


@pytest.mark.anyio
async def test_admin_console_false_makes_admin_a_404(settings: Settings) -> None:
    async with app_client(settings, admin_console=False) as http:
        for path in ("/admin", "/admin/static/main.js"):
            answer = await http.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/problem+json"
            assert "content-security-policy" not in answer.headers
        # The API it would have called is there as ever.
        assert (await http.get("/api/v1/tags")).status_code == 200


def test_the_setting_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).admin_console is True
    assert Settings.from_env({"ADMIN_CONSOLE": "false"}).admin_console is False
    assert Settings.from_env({"ADMIN_CONSOLE": "true"}).admin_console is True
    with pytest.raises(SettingsError, match="ADMIN_CONSOLE must be true or false"):
        Settings.from_env({"ADMIN_CONSOLE": "maybe"})


def _operations(document: dict[str, Any]) -> dict[str, list[dict[str, list[str]]]]:
    return {
        operation["operationId"]: operation["security"]
        for item in document["paths"].values()
        for operation in item.values()
    }


def test_every_admin_operation_is_reachable_from_the_console() -> None:
    document = openapi_document()
    operations = _operations(document)
    admin = {name for name, security in operations.items() if {"bearerAuth": ["admin"]} in security}
    assert len(admin) >= 10, admin
    with chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("http://console.test/**", _serve_static)
        page.goto("http://console.test/")
        found = page.evaluate(
            """async (doc) => {
                const { plan } = await import("/static/plan.js");
                const { Document } = await import("/static/openapi.js");
                const made = plan(doc);
                return {
                    rendered: Object.fromEntries(made.rendered),
                    omitted: Object.fromEntries(made.omitted),
                    admin: new Document(doc).operations().filter((o) => o.admin).map((o) => o.id),
                    session: Object.keys(made.session),
                    resources: Object.fromEntries([...made.resources].map(([name, r]) => [name, {
                        list: r.collection.list?.id ?? null,
                        create: r.collection.create?.id ?? null,
                        read: r.item.read?.id ?? null,
                        update: r.item.update?.id ?? null,
                        replace: r.item.replace?.id ?? null,
                        remove: r.item.remove?.id ?? null,
                        children: r.children.map((c) => [c.name, c.resource]),
                        actions: r.actions.map((a) => a.op.id),
                    }])),
                };
            }""",
            document,
        )
    assert errors == []
    # The console reads the admin requirement as the document states it...
    assert set(found["admin"]) == admin
    # ...and renders a control for each of those operations.
    assert admin <= set(found["rendered"]), admin - set(found["rendered"])
    # Nothing is missed silently: what it leaves out is only registration.
    assert set(found["rendered"]) | set(found["omitted"]) == set(operations)
    assert set(found["omitted"]) == {"register"}
    assert sorted(found["session"]) == ["login", "logout", "refresh"]
    resources = found["resources"]
    assert resources["products"] == {
        "list": "list_products",
        "create": "create_product",
        "read": "get_product",
        "update": "update_product",
        "replace": "replace_product",
        "remove": "delete_product",
        "children": [["reviews", "reviews"]],
        "actions": [],
    }
    assert resources["categories"]["children"] == [["products", "products"]]
    assert resources["orders"]["update"] == "set_order_status"
    assert resources["orders"]["actions"] == ["cancel_order"]
    assert resources["users"]["update"] == "set_user_role"
    assert (
        resources["reviews"]["list"] is None and resources["reviews"]["remove"] == "delete_review"
    )


def _serve_static(route: Any) -> None:
    """Answer Chromium's requests for http://console.test/ from the console's own files."""
    path = httpx.URL(route.request.url).path
    if path == "/":
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>t</title>")
        return
    name = path.removeprefix("/static/")
    target = STATIC / name
    if "/" in name or not target.is_file():
        route.fulfill(status=404, body="")
        return
    route.fulfill(status=200, content_type="text/javascript", body=target.read_text())

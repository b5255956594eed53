"""The /compare page, its run endpoint and `gateway compare`, against a real `gateway serve`.

A single-worker server runs each scenario against itself over HTTP (the endpoint awaits
the runner while the same event loop serves the runner's requests). The browser test
drives Debian's Chromium with Playwright and saves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.compare.catalogue import SCENARIOS
from gateway.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_JWT_SECRET, Actors
from tests.processes import Served, base_env
from tests.test_compare import seed_demo

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


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
    )
    server = Served(env)
    try:
        yield server
    finally:
        assert server.stop() == 0, server.output()


def test_page_offers_every_scenario_and_serves_its_assets(served: Served) -> None:
    answer = httpx.get(served.url + "/compare")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    for name in SCENARIOS:
        assert f'<option value="{name}"' in answer.text
    assert '<label for="scenario">' in answer.text
    for asset in ("compare.js", "compare.css"):
        assert httpx.get(f"{served.url}/compare/static/{asset}").status_code == 200
    listed = httpx.get(served.url + "/compare/scenarios").json()["data"]
    assert [s["name"] for s in listed] == list(SCENARIOS)


def test_run_endpoint_measures_the_server_it_runs_on(served: Served) -> None:
    answer = httpx.post(
        served.url + "/compare/run", json={"scenario": "product-page", "repeat": 1}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["target"] == served.url
    by_variant = {v["variant"]: v for v in data["variants"]}
    assert set(by_variant) == {"rest_naive", "rest_tuned", "graphql"}
    assert by_variant["graphql"]["figures"]["requests"] == 1
    assert by_variant["rest_naive"]["figures"]["requests"] > 1
    (variables,) = by_variant["graphql"]["variables"]
    assert set(variables) == {"id"} and variables["id"].isdigit()
    assert all(c["status"] == 200 for v in data["variants"] for c in v["calls"])
    assert data["reading"][0].startswith("GraphQL: 1 request instead of")


def test_run_endpoint_calls_itself_by_the_host_it_was_reached_at(
    served: Served, database_url: str, redis_url: str
) -> None:
    # With an allow-list, the run's own requests must name an allowed host, not the
    # socket address they travel to.
    env = base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:{uuid.uuid4().hex[:8]}",
        DB_POOL_MIN_SIZE="0",
        ALLOWED_HOSTS="localhost",
        LOG_LEVEL="warning",
    )
    strict = Served(env, host="localhost")
    try:
        host = {"Host": f"localhost:{strict.port}"}
        assert httpx.get(strict.url + "/livez").status_code == 400
        answer = httpx.post(
            strict.url + "/compare/run",
            json={"scenario": "search", "repeat": 1},
            headers=host,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        calls = [c for v in answer.json()["data"]["variants"] for c in v["calls"]]
        assert calls and all(c["status"] == 200 for c in calls)
    finally:
        assert strict.stop() == 0, strict.output()


def test_run_endpoint_refuses_what_it_cannot_run(served: Served) -> None:
    url = served.url + "/compare/run"
    unknown = httpx.post(url, json={"scenario": "nope"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "VALIDATION_FAILED")
    assert unknown.json()["errors"][0]["field"] == "scenario"
    too_many = httpx.post(url, json={"scenario": "search", "repeat": 11})
    assert (too_many.status_code, too_many.json()["errors"][0]["field"]) == (400, "repeat")
    assert httpx.post(url, content=b"scenario=search").status_code == 415


def test_run_in_production_is_for_admins_and_charged_to_them(
    served: Served, database_url: str, redis_url: str
) -> None:
    actors = Actors(database_url, Settings())
    admin, customer = asyncio.run(actors.admin()), asyncio.run(actors.customer())
    env = base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        CACHE_PREFIX=f"gwtest:{uuid.uuid4().hex[:8]}",
        DB_POOL_MIN_SIZE="0",
        GATEWAY_ENV="production",
        RATE_LIMIT_PER_MINUTE="200",
        LOG_LEVEL="warning",
    )
    production = Served(env)
    try:
        run_url = production.url + "/compare/run"
        body = {"scenario": "product-page", "repeat": 1}
        anonymous = httpx.post(run_url, json=body, timeout=30)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "UNAUTHENTICATED")
        refused = httpx.post(run_url, json=body, headers=customer.headers, timeout=30)
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")

        def remaining(headers: dict[str, str] | None = None) -> int:
            answer = httpx.get(production.url + "/api/v1/tags", headers=headers or {})
            return int(answer.headers["ratelimit-remaining"])

        anonymous_before = remaining()
        ran = httpx.post(run_url, json=body, headers=admin.headers, timeout=30)
        assert ran.status_code == 200, ran.text
        calls = sum(len(v["calls"]) for v in ran.json()["data"]["variants"])
        # The run's calls came out of the admin's allowance, not this machine's address.
        assert remaining(admin.headers) <= 200 - calls - 1
        assert remaining() == anonymous_before - 1
        # A run larger than what is left of the allowance: 429, not a 502.
        large = httpx.post(
            run_url,
            json={"scenario": "category-tree", "repeat": 10},
            headers=admin.headers,
            timeout=60,
        )
        assert large.status_code == 429, large.text
        assert large.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(large.headers["retry-after"]) <= 60
    finally:
        assert production.stop() == 0, production.output()


def gateway_compare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "compare", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
        env=base_env(LOG_LEVEL="warning"),
    )


def test_cli_prints_markdown_and_json(served: Served) -> None:
    markdown = gateway_compare(
        "--url", served.url, "--scenario", "product-cards", "--repeat", "1", "--format", "markdown"
    )
    assert markdown.returncode == 0, markdown.stderr
    lines = markdown.stdout.splitlines()
    assert lines[0].startswith("| scenario | variant | requests |")
    assert [line.split(" | ")[1] for line in lines[2:]] == ["REST naive", "REST tuned", "GraphQL"]
    assert "compare: product-cards done" in markdown.stderr
    as_json = gateway_compare(
        "--url", served.url, "--scenario", "search", "--repeat", "2", "--format", "json"
    )
    assert as_json.returncode == 0, as_json.stderr
    document = orjson.loads(as_json.stdout)
    (scenario,) = document["scenarios"]
    assert scenario["scenario"]["name"] == "search"
    assert all(len(v["runs"]) == 2 for v in scenario["variants"])
    wrong = gateway_compare("--url", served.url, "--scenario", "nope")
    assert wrong.returncode == 2 and "unknown scenario 'nope'" in wrong.stderr


def test_browser_runs_a_scenario_and_shows_table_and_chart(served: Served) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed (pip install playwright)",
    )
    chromium = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if not chromium:
        pytest.skip("no Chromium browser: apt-get install -y chromium to run the browser test")
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(served.url + "/compare")
            page.get_by_label("Scenario", exact=True).select_option("product-page")
            assert "Round trips" in page.locator("#lesson").inner_text()
            # Keyboard only: from the repeat field, Tab reaches the button, Enter runs it.
            page.get_by_label("Runs per variant").fill("2")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.locator("table.figures").wait_for(timeout=20_000)
            headers = page.locator("table.figures thead th").all_inner_texts()
            assert headers == ["Measure", "REST naive", "REST tuned", "GraphQL"]
            assert page.locator("#chart svg rect.bar").count() == 5 * 3
            assert page.locator(".panel").count() == 3
            assert page.locator("#reading li").first.inner_text().startswith("GraphQL: 1 request")
            assert "product(id: $id)" in page.locator("#documents").inner_text()
            assert page.locator("#status").inner_text().startswith("Done:")
            page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)
            narrow = browser.new_page(viewport={"width": 390, "height": 844})
            narrow.goto(served.url + "/compare")
            narrow.get_by_role("button", name="Run scenario").click()
            narrow.locator("#chart svg").wait_for(timeout=20_000)
            narrow.screenshot(path=str(ARTIFACTS / "compare-narrow.png"), full_page=True)
            # Nothing overflows sideways on a phone-sized screen.
            assert narrow.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        finally:
            browser.close()
    assert problems == []

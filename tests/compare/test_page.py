"""The /compare page, its run endpoint and `gateway compare`, against a real `gateway serve`.

A single-worker server runs each scenario against itself over HTTP (the endpoint awaits
the runner while the same event loop serves the runner's requests). The browser test
drives Debian's Chromium with Playwright and saves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.compare.catalogue import SCENARIOS
from gateway.settings import PROJECT_ROOT, Settings
from tests.compare.test_runner import seed_demo
from tests.conftest import TEST_JWT_SECRET, Actors
from tests.processes import Served, base_env

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


def variants_of(answer: httpx.Response, profile: int = 0) -> list[dict[str, Any]]:
    variants: list[dict[str, Any]] = answer.json()["data"]["scenarios"][0]["profiles"][profile][
        "variants"
    ]
    return variants


def test_run_endpoint_measures_the_server_it_runs_on(served: Served) -> None:
    answer = httpx.post(
        served.url + "/compare/run", json={"scenario": "product-page", "repeat": 1}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["target"] == served.url
    (entry,) = data["scenarios"]
    assert entry["options"]["networks"] == ["loopback"] and entry["options"]["cache"] == "cold"
    by_variant = {v["variant"]: v for v in variants_of(answer)}
    assert set(by_variant) == {"rest_naive", "rest_tuned", "graphql"}
    assert by_variant["graphql"]["figures"]["requests"] == 1
    assert by_variant["rest_naive"]["figures"]["requests"] > 1
    (variables,) = by_variant["graphql"]["variables"]
    assert set(variables) == {"id"} and variables["id"].isdigit()
    assert all(c["status"] == 200 for v in by_variant.values() for c in v["calls"])
    assert entry["profiles"][0]["reading"][0].startswith("GraphQL: 1 request instead of")
    # Cold by default: the server ran SQL for every call, and said which.
    (call,) = by_variant["graphql"]["calls"]
    assert call["sql"] == 1 and call["statements"][0]["name"] == "reads.plan"
    assert data["csv"].startswith("scenario,network,")


def test_run_endpoint_measures_each_network_through_the_shaping_proxy(served: Served) -> None:
    body = {"scenario": "product-page", "repeat": 1, "networks": ["broadband", "loopback"]}
    answer = httpx.post(served.url + "/compare/run", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    (entry,) = answer.json()["data"]["scenarios"]
    assert [p["network"]["name"] for p in entry["profiles"]] == ["loopback", "broadband"]
    loopback, broadband = ({v["variant"]: v for v in variants_of(answer, i)} for i in (0, 1))
    for variant, shaped in broadband.items():
        trips = shaped["figures"]["round_trips"]
        # Each round trip on broadband takes 20 ms, and each pass opens its connections
        # afresh (a handshake: one round trip more); measured, so at least that.
        assert shaped["figures"]["wall_ms"] >= 20 * (trips + 1), variant
        assert all(c["duration_ms"] >= 20 for c in shaped["calls"]), variant
        assert shaped["figures"]["wall_ms"] > loopback[variant]["figures"]["wall_ms"]
    assert broadband["graphql"]["figures"]["round_trips"] == 1
    assert broadband["rest_naive"]["figures"]["round_trips"] >= 3
    assert entry["link"] == (
        "/compare?scenario=product-page&network=loopback%2Cbroadband&cache=cold&repeat=1"
    )
    assert "each round trip costs at least 20 ms" in entry["profiles"][1]["reading"][-1]


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
        calls = [c for v in variants_of(answer) for c in v["calls"]]
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
        calls = sum(len(v["calls"]) for v in variants_of(ran))
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


def test_cli_prints_markdown_json_and_csv(served: Served) -> None:
    markdown = gateway_compare(
        "--url", served.url, "--scenario", "product-cards", "--repeat", "1", "--format", "markdown"
    )
    assert markdown.returncode == 0, markdown.stderr
    lines = markdown.stdout.splitlines()
    assert lines[0] == "**Loopback (no added delay), cold cache**"
    assert lines[2].startswith("| scenario | variant | requests | in a row |")
    assert [line.split(" | ")[1] for line in lines[4:]] == ["REST naive", "REST tuned", "GraphQL"]
    assert "compare: product-cards done" in markdown.stderr
    as_json = gateway_compare(
        "--url", served.url, "--scenario", "search", "--repeat", "2", "--format", "json"
    )
    assert as_json.returncode == 0, as_json.stderr
    document = orjson.loads(as_json.stdout)
    (scenario,) = document["scenarios"]
    assert scenario["scenario"]["name"] == "search"
    assert scenario["command"].startswith("gateway compare --scenario search")
    (profile,) = scenario["profiles"]
    assert all(len(v["runs"]) == 2 for v in profile["variants"])
    as_csv = gateway_compare(
        "--url", served.url, "--scenario", "search", "--repeat", "1", "--format", "csv"
    )
    rows = as_csv.stdout.splitlines()
    assert rows[0].startswith("scenario,network,rtt_ms,mbit,cache_mode,variant,")
    assert [r.split(",")[5] for r in rows[1:]] == ["rest_naive", "rest_tuned", "graphql"]
    wrong = gateway_compare("--url", served.url, "--scenario", "nope")
    assert wrong.returncode == 2 and "unknown scenario 'nope'" in wrong.stderr
    network = gateway_compare("--url", served.url, "--network", "5g")
    assert network.returncode == 2 and "unknown network '5g'" in network.stderr


def test_cli_prints_the_profiles_table(served: Served) -> None:
    ran = gateway_compare(
        "--url",
        served.url,
        "--scenario",
        "product-page",
        "--network",
        "loopback,broadband",
        "--repeat",
        "1",
    )
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert "Loopback (no added delay), cold cache:" in out
    assert "Broadband (20 ms, 50 Mbit/s), cold cache:" in out
    table = out[out.index("Wall time per network profile:") :].splitlines()
    assert table[1].split() == ["scenario", "variant", "Loopback", "Broadband", "(20", "ms)"]
    rows = [re.split(r"\s{2,}", line.strip()) for line in table[3:]]
    assert [row[:2] for row in rows] == [
        ["product-page", "REST naive"],
        ["product-page", "REST tuned"],
        ["product-page", "GraphQL"],
    ]
    # Each cell: the wall time on that network, then the round trips in a row.
    cell = re.compile(r"^[\d,.]+ ms \((\d+)\)$")
    for row in rows:
        assert len(row) == 4 and all(cell.match(c) for c in row[2:]), row
    assert [cell.match(row[3]).group(1) for row in rows] == ["3", "3", "1"]  # type: ignore[union-attr]


def test_cli_runs_your_own_scenario_and_explains_a_syntax_error(
    served: Served, tmp_path: Path
) -> None:
    query = tmp_path / "query.graphql"
    query.write_text("query Tags { tags(first: 5) { edges { node { id name } } } }")
    ran = gateway_compare(
        "--url",
        served.url,
        "--graphql",
        str(query),
        "--rest",
        "/api/v1/tags?limit=5",
        "--repeat",
        "1",
        "--cache",
        "warm",
    )
    assert ran.returncode == 0, ran.stderr
    assert "REST (your requests)" in ran.stdout and "warm cache" in ran.stdout
    query.write_text("query Tags { tags(first: 5 { id } }")
    broken = gateway_compare("--url", served.url, "--graphql", str(query), "--rest", "/api/v1/tags")
    assert broken.returncode == 2
    assert "--graphql: Syntax Error: Expected Name, found '{'. (line 1, column 28)" in broken.stderr


def test_browser_switches_profiles_runs_your_own_scenario_and_shares_it(served: Served) -> None:
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
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(served.url + "/compare")
            page.get_by_label("Scenario", exact=True).select_option("product-page")
            assert "Round trips" in page.locator("#lesson").inner_text()
            # The fast profiles only: loopback (checked by default) and broadband.
            page.get_by_role("checkbox", name="4G").uncheck()
            page.get_by_role("checkbox", name="Broadband").check()
            assert page.get_by_label("Cold").is_checked()
            # Keyboard only: from the repeat field, Tab reaches the button, Enter runs it.
            page.get_by_label("Runs per variant").fill("2")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.locator("#figures-table").wait_for(timeout=30_000)
            headers = page.locator("#figures-table thead th").all_inner_texts()
            assert headers == ["Measure", "REST naive", "REST tuned", "GraphQL"]
            # Wall time per network, side by side; the slowest network chosen is shown.
            profiles = page.locator("table.profiles thead th").all_inner_texts()
            assert profiles == [
                "Variant",
                "Loopback (no added delay)",
                "Broadband (20 ms, 50 Mbit/s)",
            ]
            assert page.locator("table.profiles tbody tr").count() == 3
            caption = page.locator("#figures-table caption")
            assert caption.inner_text().startswith("Broadband (20 ms, 50 Mbit/s), cache cold")
            assert page.locator(".track.ticks").count() > 0  # round trips marked
            assert "each round trip costs at least 20 ms" in page.locator("#reading").inner_text()
            # The profile switch, by keyboard: the figures follow.
            page.get_by_role("radio", name="Loopback (no added delay)").check()
            assert caption.inner_text().startswith("Loopback (no added delay), cache cold")
            assert page.locator(".track.ticks").count() == 0
            assert page.locator("#chart svg rect.bar").count() == 5 * 3
            assert page.locator(".panel").count() == 3
            assert page.locator("#reading li").first.inner_text().startswith("GraphQL: 1 request")
            # What ran: the planner's statement behind a request, one click away.
            summary = page.locator(".panel.v-graphql details.sql summary").first
            assert summary.inner_text() == "1 SQL statement: reads.plan"
            summary.click()
            assert "SELECT" in page.locator(".panel.v-graphql pre.sql").first.inner_text()
            assert "product(id: $id)" in page.locator("#documents").inner_text()
            assert page.locator("#status").inner_text().startswith("Done:")
            assert "network=loopback%2Cbroadband" in page.url
            page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)
            with page.expect_download() as csv_download:
                page.locator("#export-csv").click()
            exported = Path(csv_download.value.path()).read_text()
            assert exported.startswith("scenario,network,rtt_ms,mbit,cache_mode,variant,")
            assert exported.count("\nproduct-page,broadband,20,50,cold,") == 3

            # Your own scenario: a syntax error is explained next to the field.
            page.get_by_label("Scenario", exact=True).select_option("custom")
            query = page.get_by_label("GraphQL query")
            query.fill("query Tags {\n  tags(first: 5 { edges { node { name } } }\n}")
            page.get_by_label("REST requests").fill("/api/v1/tags?limit=5")
            page.get_by_role("button", name="Run scenario").click()
            error = page.locator("#custom-graphql-error")
            error.wait_for(timeout=10_000)
            assert (
                error.inner_text() == "Syntax Error: Expected Name, found '{'. (line 2, column 17)"
            )
            assert query.get_attribute("aria-invalid") == "true"
            assert page.evaluate("document.activeElement.id") == "custom-graphql"
            query.fill("query Tags {\n  tags(first: 5) { edges { node { name } } }\n}")
            page.get_by_role("button", name="Run scenario").click()
            page.locator("#figures-table th", has_text="REST (your requests)").wait_for(
                timeout=30_000
            )
            assert page.locator("#custom-graphql-error").inner_text() == ""
            link = page.locator("#share-link").get_attribute("href")
            assert link is not None and "scenario=custom" in link and "graphql=query+Tags" in link

            # The link reproduces the run: the same options, run again on opening.
            again = browser.new_page(viewport={"width": 1280, "height": 900})
            again.goto(served.url + link)
            again.locator("#figures-table").wait_for(timeout=30_000)
            assert again.get_by_label("GraphQL query").input_value().startswith("query Tags {")
            assert again.get_by_role("checkbox", name="Broadband").is_checked()
            assert not again.get_by_role("checkbox", name="4G").is_checked()
            headers = again.locator("#figures-table thead th").all_inner_texts()
            assert headers == ["Measure", "REST (your requests)", "GraphQL"]

            narrow = browser.new_page(viewport={"width": 390, "height": 844})
            narrow.goto(served.url + "/compare")
            narrow.get_by_role("button", name="Run scenario").click()
            narrow.locator("#chart svg").wait_for(timeout=30_000)
            narrow.screenshot(path=str(ARTIFACTS / "compare-narrow.png"), full_page=True)
            # Nothing overflows sideways on a phone-sized screen.
            assert narrow.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        finally:
            browser.close()
    # The browser reports the one run refused on purpose (the syntax error), nothing else.
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert problems == [refused]

"""Debian's Chromium driven by Playwright, for the tests of pages (never a downloaded browser).

Without Playwright for Python or a Chromium on the machine, a test asking for one skips and
says which is missing (.ci/run installs Chromium).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (a Playwright `Browser`), closed afterwards."""
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed (pip install playwright)",
    )
    executable = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if not executable:
        pytest.skip("no Chromium browser: apt-get install -y chromium to run the browser tests")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            browser.close()

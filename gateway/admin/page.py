"""The /admin page and its static files, served only when ADMIN_CONSOLE is on.

The page is a shell: everything it shows is built in the browser from `/openapi.json` by
the ES modules in `static/`, which call the REST API like any other client (sign-in,
bearer tokens, ETags, Idempotency-Key), so the console can do nothing the API would not
let its user do. The server adds no data to the page and no route of its own beyond it.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.settings import Settings

STATIC = Path(__file__).parent / "static"

# Only this page's own files; no inline script or style, nothing from elsewhere. Trusted
# Types with no policy at all: the modules never write markup as a string (they build
# nodes and set text), and the browser refuses any attempt, so API data cannot become
# script. Forms are handled by the modules; a form the browser would submit itself goes
# nowhere (form-action 'none'), so a password can never end up in a URL.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)

_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _Static(StaticFiles):
    """The console's modules, revalidated on every load (an upgrade never mixes versions)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


async def page(request: Request) -> Response:
    """The console's shell; its modules take over from here."""
    static = request.url_for("admin_static", path="/").path.rstrip("/")
    return HTMLResponse(_PAGE.format(static=static), headers=_HEADERS)


def routes(settings: Settings) -> list[BaseRoute]:
    """The console's routes, or none when ADMIN_CONSOLE is off (then /admin is a 404)."""
    if not settings.admin_console:
        return []
    return [
        Route("/admin", page, methods=["GET"], name="admin"),
        Mount("/admin/static", app=_Static(directory=STATIC), name="admin_static"),
    ]


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Admin · gateway</title>
<link rel="icon" href="{static}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{static}/admin.css">
<script type="module" src="{static}/main.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="masthead">
  <a class="brand" href="#/">gateway <span>admin</span></a>
  <div id="who" class="who"></div>
</header>
<div class="layout">
  <nav id="nav" class="nav" aria-label="Resources" hidden></nav>
  <main id="main" tabindex="-1" data-openapi="/openapi.json">
    <p class="loading">Loading the console…</p>
    <noscript><p>The admin console is a JavaScript client of the REST API; without
    JavaScript, use the API itself (<a href="/docs">/docs</a>).</p></noscript>
  </main>
</div>
<div id="status" class="status" role="status" aria-live="polite"></div>
</body>
</html>
"""

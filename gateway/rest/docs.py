"""/openapi.json and /docs: the generated document, and Swagger UI served from local files.

Swagger UI's files come from the `swagger-ui-py` wheel (Swagger UI 5, which renders
OpenAPI 3.1), so /docs works with no network at all: the page loads nothing but the
assets below and the document.
"""

from __future__ import annotations

import functools
import importlib.util
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from gateway.errors import NotFound
from gateway.http.responses import JSONResponse
from gateway.rest import OPERATIONS
from gateway.rest.openapi import document

ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>gateway REST API</title>
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    // validatorUrl null: the default badge would call validator.swagger.io.
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    });
  </script>
</body>
</html>
"""


def routes(*, public_url: str | None = None) -> list[Route]:
    """The document (built once, here) and the documentation page with its assets."""
    spec = _encoded(public_url)
    folder = _assets_folder()

    async def openapi(request: Request) -> Response:
        return Response(spec, media_type=JSONResponse.media_type)

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            raise NotFound(f"No documentation asset is called {name!r}.")
        return FileResponse(folder / name, media_type=ASSETS[name])

    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", page, methods=["GET"]),
        Route("/docs/assets/{name}", asset, methods=["GET"]),
    ]


def openapi_document(*, public_url: str | None = None) -> dict[str, Any]:
    """The document as /openapi.json serves it (its server: `public_url`, else this host);
    a copy of its own for the caller."""
    found: dict[str, Any] = orjson.loads(_encoded(public_url))
    return found


@functools.lru_cache(maxsize=8)
def _encoded(public_url: str | None) -> bytes:
    """The document's bytes, built once per server URL in a process: the declarations do
    not change while it runs, and an app made again (tests, compare's own server) reuses
    them rather than walk every model's JSON Schema again."""
    return orjson.dumps(document(OPERATIONS, version=_version(), server=public_url))


def _version() -> str:
    try:
        return version("gateway")
    except PackageNotFoundError:
        return "0.0.0"


def _assets_folder() -> Path:
    # find_spec locates the package without importing it (it would pull in jinja2 and yaml).
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: it ships the /docs assets")
    return Path(next(iter(spec.submodule_search_locations))) / "static"

"""The /compare page, and the JSON endpoint it calls to run a scenario against this server.

`POST /compare/run` runs the scenario over real HTTP against the server that received
it: the handler awaits the runner while the same event loop (or another worker) serves
the runner's requests, so one single-worker server measures itself without deadlock.
"""

from __future__ import annotations

import asyncio
import html
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import orjson
from pydantic import Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.bodies import json_body
from gateway.compare import report
from gateway.compare.catalogue import SCENARIOS
from gateway.compare.runner import CompareError, Runner
from gateway.errors import FieldError, Forbidden, GatewayError, RateLimited, ValidationFailed
from gateway.middleware.authentication import CHARGE_HEADER, identity_of, principal_of
from gateway.principal import require_admin
from gateway.responses import JSONResponse, problem_response
from gateway.types import Resources
from gateway.validation import Input, validate

STATIC = Path(__file__).parent / "static"
PAGE_REPEAT = 3
# How long a run's calls may be charged to its caller: longer than any run takes.
_RUN_SECONDS = 600
# The page's own script and styles only: nothing inline, nothing from elsewhere.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class RunInput(Input):
    """What the page asks to run."""

    scenario: str
    repeat: Annotated[int, Field(ge=1, le=10)] = PAGE_REPEAT


class _RunFailed(GatewayError):
    """The scenario could not be run against this server (502: it is the upstream here)."""

    code = "INTERNAL_SERVER_ERROR"
    status = 502
    title = "The scenario could not be run"


async def page(request: Request) -> Response:
    """The page: pick a scenario, run it, see the variants side by side."""
    production = _resources(request).settings.production
    catalogue = [report.describe(s) for s in SCENARIOS.values()]
    options = "\n".join(
        f'<option value="{html.escape(s.name)}"'
        + (" disabled" if production and s.signed_in else "")
        + f">{html.escape(s.title)}"
        + (" (development only)" if production and s.signed_in else "")
        + "</option>"
        for s in SCENARIOS.values()
    )
    # "</" cannot close the data block: JSON escapes it as "<\/" here.
    data = orjson.dumps(catalogue).decode().replace("</", "<\\/")
    body = _PAGE.format(
        options=options,
        catalogue=data,
        run_url=html.escape(request.url_for("compare_run").path),
        static=html.escape(request.url_for("compare_static", path="/").path.rstrip("/")),
        repeat=PAGE_REPEAT,
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": _CSP})


async def scenarios(request: Request) -> Response:
    """The catalogue as JSON: names, titles, needed fields, GraphQL documents."""
    return JSONResponse({"data": [report.describe(s) for s in SCENARIOS.values()]})


async def run(request: Request) -> Response:
    """Run one scenario against this server over HTTP; answer what was measured.

    In production only an admin may (401/403 otherwise). Every call of the run is charged
    to the caller's own allowance: 429 when it runs out. 400 VALIDATION_FAILED for an
    unknown scenario or a repeat outside 1..10; 403 FORBIDDEN in production for scenarios
    that sign in (they use demo accounts and write); 502 when a call of the scenario fails.
    """
    resources = _resources(request)
    if resources.settings.production:
        # Each run makes this server send itself hundreds of requests: not for anyone.
        require_admin(principal_of(request.scope))
    wanted = validate(RunInput, await json_body(request))
    scenario = SCENARIOS.get(wanted.scenario)
    if scenario is None:
        names = ", ".join(SCENARIOS)
        raise ValidationFailed([FieldError("scenario", f"unknown scenario; one of {names}")])
    if scenario.signed_in and resources.settings.production:
        raise Forbidden("This scenario signs in and writes; it runs only in development.")
    base = own_url(request.scope)
    # The run's calls are charged to whoever asked for it, not to this server's own address.
    seal = resources.tokens.charge_seal(identity_of(request.scope), ttl=_RUN_SECONDS)
    refusals: list[httpx.Response] = []

    async def note_refusal(response: httpx.Response) -> None:
        if response.status_code == 429:
            refusals.append(response)

    state = request.app.state
    if not hasattr(state, "compare_lock"):
        state.compare_lock = asyncio.Lock()
    # The socket's own address, but the Host this request named: ALLOWED_HOSTS let that in.
    host = {"Host": request.headers["host"]} if "host" in request.headers else {}
    # One run at a time: concurrent runs would time each other, not the API.
    async with (
        state.compare_lock,
        httpx.AsyncClient(
            base_url=base,
            timeout=30,
            headers={**host, CHARGE_HEADER.decode(): seal},
            event_hooks={"response": [note_refusal]},
        ) as http,
    ):
        if not hasattr(state, "compare_sessions"):
            state.compare_sessions = {}
        # The sessions outlive the run, so repeated runs do not sign in again and again.
        runner = Runner(http, sessions=state.compare_sessions, request_ids=_request_ids(request))
        try:
            result = await runner.run(scenario, wanted.repeat)
        except (CompareError, httpx.HTTPError) as exc:
            if refusals:
                retry = refusals[0].headers.get("retry-after", "")
                raise RateLimited(
                    int(retry) if retry.isdigit() else 60,
                    "The run's requests count against your rate limit, and it ran out; "
                    "lower `repeat` or wait.",
                ) from None
            return problem_response(_RunFailed(str(exc) or type(exc).__name__))
    return JSONResponse({"data": {**report.scenario_dict(result), "target": base}})


def own_url(scope: Scope) -> str:
    """The address this connection reached, to call the server back on.

    `server` is the local end of the accepted socket, so it is reachable from here even
    when the server binds 0.0.0.0 or sits behind a proxy (which terminates TLS, so the
    socket speaks plain HTTP).
    """
    server = scope.get("server")
    if not server or server[1] is None:
        raise _RunFailed("This server is not reachable over TCP from itself (a Unix socket?).")
    host, port = server
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def _request_ids(request: Request) -> Iterator[str]:
    # The runner's requests carry the page request's id plus a number, so the access log
    # ties them to the run that made them.
    parent = request.headers.get("x-request-id") or "compare"
    return (f"{parent[:100]}.{n}" for n in itertools.count(1))


def _resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


ROUTES: list[BaseRoute] = [
    Route("/compare", page, methods=["GET"], name="compare"),
    Route("/compare/scenarios", scenarios, methods=["GET"], name="compare_scenarios"),
    Route("/compare/run", run, methods=["POST"], name="compare_run"),
    Mount("/compare/static", app=StaticFiles(directory=STATIC), name="compare_static"),
]

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Compare REST and GraphQL · gateway</title>
<link rel="icon" href="{static}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{static}/compare.css">
<script src="{static}/compare.js" defer></script>
</head>
<body>
<header class="masthead">
  <h1>Compare REST and GraphQL</h1>
  <p>Pick a task and run it against this gateway, three ways: <strong>REST naive</strong>
  (plain resources, following links), <strong>REST tuned</strong> (<code>fields</code> and
  <code>include</code>) and <strong>GraphQL</strong>. Every figure is measured from real
  HTTP requests; nothing is estimated.</p>
</header>
<main>
  <form id="run-form" class="controls" data-run-url="{run_url}">
    <div class="field">
      <label for="scenario">Scenario</label>
      <select id="scenario" name="scenario" aria-describedby="lesson">
{options}
      </select>
    </div>
    <div class="field narrow">
      <label for="repeat">Runs per variant</label>
      <input id="repeat" name="repeat" type="number" min="1" max="10" value="{repeat}"
        inputmode="numeric">
    </div>
    <button id="run" type="submit">Run scenario</button>
  </form>
  <section class="about" aria-labelledby="about-title">
    <h2 id="about-title" class="visually-hidden">About this scenario</h2>
    <p id="lesson"></p>
    <p id="needs"></p>
  </section>
  <p id="status" role="status" aria-live="polite"></p>
  <noscript><p>This page runs the scenarios with JavaScript; the CLI
  <code>gateway compare</code> prints the same figures.</p></noscript>
  <div id="results" hidden>
    <section aria-labelledby="reading-title">
      <h2 id="reading-title" tabindex="-1">What it shows</h2>
      <ul id="reading" class="reading"></ul>
    </section>
    <section aria-labelledby="figures-title">
      <h2 id="figures-title">Figures</h2>
      <div class="table-wrap" id="figures"></div>
      <p class="hint">Server time adds up every request's <code>Server-Timing</code>; wall
      time is what the client waited from its first request to its last answer. Over-fetch
      is the share of JSON received that the fields above did not need.</p>
      <div id="legend" class="legend"></div>
      <div id="chart" class="chart"></div>
    </section>
    <section aria-labelledby="waterfall-title">
      <h2 id="waterfall-title">Requests, as a waterfall</h2>
      <p class="hint">Each bar is one HTTP request on a shared time scale; requests that do
      not depend on each other go out together (at most six at a time, like a browser).</p>
      <div id="waterfalls" class="waterfalls"></div>
    </section>
    <section aria-labelledby="graphql-title">
      <h2 id="graphql-title">The GraphQL document</h2>
      <div id="documents"></div>
    </section>
  </div>
</main>
<script type="application/json" id="catalogue">{catalogue}</script>
</body>
</html>
"""

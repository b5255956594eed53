"""The /compare page, and the JSON endpoints it and the runner call on this server.

`POST /compare/run` runs a scenario over real HTTP against the server that received it:
the handler awaits the runner while the same event loop (or another worker) serves the
runner's requests, so one single-worker server measures itself without deadlock. On a
shaped network profile the runner's requests go through a shaping proxy it starts in
this process for the run. `POST /compare/seal` hands a runner elsewhere (the CLI) the
seal that marks its calls as a compare run's own; `POST /compare/statements` answers,
to a holder of such a seal, what those calls ran.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import orjson
from pydantic import Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.compare import custom, report
from gateway.compare.catalogue import SCENARIOS
from gateway.compare.network import PROFILES
from gateway.compare.options import RunOptions
from gateway.compare.results import ScenarioResult
from gateway.compare.runner import CompareError, Runner
from gateway.compare.scenarios import Scenario
from gateway.errors import FieldError, Forbidden, GatewayError, RateLimited, ValidationFailed
from gateway.http.bodies import json_body
from gateway.http.identity import CHARGE_HEADER, identity_of, principal_of
from gateway.http.responses import JSONResponse, problem_response
from gateway.principal import require_admin
from gateway.services import traces
from gateway.services.resources import Resources
from gateway.services.validation import Input, validate

STATIC = Path(__file__).parent / "static"
TEMPLATE = (Path(__file__).parent / "templates" / "page.html").read_text()
PAGE_REPEAT = 3
# How long a run's calls may be charged to its caller, and its seals honoured: longer
# than any run takes.
_RUN_SECONDS = 900
# The page's own script and styles only: nothing inline, nothing from elsewhere.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_MAX_RECORDS = 500


class CustomInput(Input):
    """Your own scenario: a GraphQL query, its variables, the REST requests (one a line)."""

    graphql: Annotated[str, Field(max_length=custom.MAX_DOCUMENT)]
    rest: Annotated[str, Field(max_length=20_000)]
    variables: dict[str, Any] = Field(default_factory=dict)


class RunInput(Input):
    """What the page asks to run."""

    scenario: str
    repeat: Annotated[int, Field(ge=1, le=10)] = PAGE_REPEAT
    networks: Annotated[list[str], Field(min_length=1, max_length=len(PROFILES))] = Field(
        default_factory=lambda: ["loopback"]
    )
    cache: Literal["cold", "warm"] = "cold"
    custom: CustomInput | None = None


class SealInput(Input):
    """The cache mode a seal is for."""

    cache: Literal["cold", "warm"] = "cold"


class RecordsInput(Input):
    """A compare seal, and the request ids of the calls made with it."""

    seal: Annotated[str, Field(max_length=300)]
    ids: Annotated[list[Annotated[str, Field(max_length=128)]], Field(max_length=_MAX_RECORDS)]


class _RunFailed(GatewayError):
    """The scenario could not be run against this server (502: it is the upstream here)."""

    code = "INTERNAL_SERVER_ERROR"
    status = 502
    title = "The scenario could not be run"


async def page(request: Request) -> Response:
    """The page: pick a scenario and options, run it, see the variants side by side."""
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
    networks = "\n".join(
        f'<label class="choice"><input type="checkbox" name="network" value="{p.name}"'
        + (" checked" if p.name in ("loopback", "4g") else "")
        + f"> {html.escape(p.title)}"
        + (f' <span class="muted">{p.rtt_ms:g} ms, {p.mbit:g} Mbit/s</span>' if p.mbit else "")
        + "</label>"
        for p in PROFILES.values()
    )
    # "</" cannot close the data block: JSON escapes it as "<\/" here.
    data = orjson.dumps(catalogue).decode().replace("</", "<\\/")
    body = TEMPLATE.format(
        options=options,
        networks=networks,
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
    unknown scenario or network, a repeat outside 1..10, or a custom scenario that is not
    a valid query or whose REST requests are not GETs under /api/v1 (`custom.graphql`,
    `custom.rest`: the message says what and where); 403 FORBIDDEN in production for
    scenarios that sign in (they use demo accounts and write); 502 when a call fails.
    """
    resources = _resources(request)
    if resources.settings.production:
        # Each run makes this server send itself hundreds of requests: not for anyone.
        require_admin(principal_of(request.scope))
    wanted = validate(RunInput, await json_body(request))
    options, scenario = _options(wanted)
    if scenario.signed_in and resources.settings.production:
        raise Forbidden("This scenario signs in and writes; it runs only in development.")
    base = own_url(request.scope)
    # The run's calls are charged to whoever asked for it, not to this server's own address.
    charge = resources.tokens.charge_seal(identity_of(request.scope), ttl=_RUN_SECONDS)
    refusals: list[httpx.Response] = []

    async def note_refusal(response: httpx.Response) -> None:
        if response.status_code == 429:
            refusals.append(response)

    async def seal(mode: str) -> str:
        return resources.tokens.compare_seal(mode, ttl=_RUN_SECONDS)

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
            timeout=60,
            headers={**host, CHARGE_HEADER.decode(): charge},
            event_hooks={"response": [note_refusal]},
        ) as http,
    ):
        if not hasattr(state, "compare_sessions"):
            state.compare_sessions = {}
        # The sessions outlive the run, so repeated runs do not sign in again and again.
        runner = Runner(
            http, sessions=state.compare_sessions, request_ids=_request_ids(request), seals=seal
        )
        try:
            results = await measure(runner, scenario, options)
        except (CompareError, httpx.HTTPError) as exc:
            if refusals:
                retry = refusals[0].headers.get("retry-after", "")
                raise RateLimited(
                    int(retry) if retry.isdigit() else 60,
                    "The run's requests count against your rate limit, and it ran out; "
                    "lower `repeat`, measure fewer networks, or wait.",
                ) from None
            return problem_response(_RunFailed(str(exc) or type(exc).__name__))
    document = report.run_document(results, [options], page=request.url_for("compare").path)
    return JSONResponse({"data": document | {"target": base}})


async def measure(runner: Runner, scenario: Scenario, options: RunOptions) -> list[ScenarioResult]:
    """Prepare once, then measure on each network of `options`, in order."""
    fixture = await runner.prepare(scenario)
    return [
        await runner.measure(
            scenario, fixture, options.repeat, network=network, cache=options.cache
        )
        for network in options.profiles
    ]


def _options(wanted: RunInput) -> tuple[RunOptions, Scenario]:
    problems: list[FieldError] = []
    unknown = [n for n in wanted.networks if n not in PROFILES]
    if unknown:
        names = ", ".join(PROFILES)
        problems.append(FieldError("networks", f"unknown network {unknown[0]!r}; one of {names}"))
    networks = tuple(n for n in PROFILES if n in wanted.networks)
    given: custom.Custom | None = None
    scenario = SCENARIOS.get(wanted.scenario)
    if wanted.scenario == custom.NAME:
        if wanted.custom is None:
            problems.append(FieldError("custom", "give the GraphQL query and the REST requests"))
        else:
            given, found = _custom(wanted.custom)
            problems += found
    elif scenario is None:
        names = ", ".join([*SCENARIOS, custom.NAME])
        problems.append(FieldError("scenario", f"unknown scenario; one of {names}"))
    if problems:
        raise ValidationFailed(problems)
    if given is not None:
        scenario = custom.build(given)
    assert scenario is not None
    options = RunOptions(wanted.scenario, networks, wanted.cache, wanted.repeat, given)
    return options, scenario


def _custom(wanted: CustomInput) -> tuple[custom.Custom | None, list[FieldError]]:
    """The custom scenario, or what is wrong with each of its fields."""
    problems: list[FieldError] = []
    steps: tuple[tuple[str, ...], ...] = ()
    try:
        custom.parse_document(wanted.graphql)
    except custom.CustomError as exc:
        problems += [FieldError(f"custom.{f}", m) for f, m in exc.problems]
    try:
        steps = custom.rest_steps(wanted.rest)
    except custom.CustomError as exc:
        problems += [FieldError(f"custom.{f}", m) for f, m in exc.problems]
    if problems:
        return None, problems
    return custom.Custom(wanted.graphql, steps, wanted.variables), []


async def seal(request: Request) -> Response:
    """A compare seal of this server for a runner elsewhere (`gateway compare`): its calls
    carrying it in `X-Gateway-Compare` are traced, and, for "cold", skip the caches.
    Whoever may run compare here may have one: anyone in development, admins in production."""
    resources = _resources(request)
    if resources.settings.production:
        require_admin(principal_of(request.scope))
    wanted = validate(SealInput, await json_body(request))
    value = resources.tokens.compare_seal(wanted.cache, ttl=_RUN_SECONDS)
    return JSONResponse(
        {"data": {"seal": value, "header": "X-Gateway-Compare", "expires_in": _RUN_SECONDS}}
    )


async def statements(request: Request) -> Response:
    """What the calls made with a compare seal ran: per request id, the server's own record
    (statements with their SQL, database time), or null when none is kept. 403 without a
    valid seal: SQL text is for compare runs only."""
    resources = _resources(request)
    wanted = validate(RecordsInput, await json_body(request))
    if resources.tokens.compare_mode(wanted.seal) is None:
        raise Forbidden("Only a compare run, with the seal this server gave it, may read this.")
    ids = list(dict.fromkeys(wanted.ids))
    return JSONResponse({"data": await traces.find(resources, ids)})


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
    # ties them to the run that made them (and the statement records to the calls).
    # A token of the run's own keeps them apart from any other run's (and its records).
    parent = request.headers.get("x-request-id") or "compare"
    run = secrets.token_hex(4)
    return (f"{parent[:80]}.{run}.{n}" for n in itertools.count(1))


def _resources(request: Request) -> Resources:
    resources: Resources = request.state.resources
    return resources


ROUTES: list[BaseRoute] = [
    Route("/compare", page, methods=["GET"], name="compare"),
    Route("/compare/scenarios", scenarios, methods=["GET"], name="compare_scenarios"),
    Route("/compare/run", run, methods=["POST"], name="compare_run"),
    Route("/compare/seal", seal, methods=["POST"], name="compare_seal"),
    Route("/compare/statements", statements, methods=["POST"], name="compare_statements"),
    Mount("/compare/static", app=StaticFiles(directory=STATIC), name="compare_static"),
]

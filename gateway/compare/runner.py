"""Running a scenario for real over HTTP: every variant, several times, reporting medians.

The runner talks to a gateway like any client would (its own, or any `--url`): it signs
in when a scenario needs a customer, prepares the scenario without measuring, then runs
the variants interleaved (naive, tuned, GraphQL, naive, ...) so that drift in the server
affects them alike, and cleans up after each write.

Each run has a network profile and a cache mode:

- **network**: on a shaped profile every measured pass sends its requests through a
  `ShapingProxy` with that profile's round-trip time and bandwidth, on connections of its
  own (at most six, as a browser opens per origin), so each pass starts as a first visit;
- **cache**: "cold" marks every measured call with a cold seal, and the gateway's caches
  neither read nor store for it, so every read runs its SQL; "warm" runs each pass once
  unmeasured first, so the measured pass finds the cache as a busy server's would be.
  A pass named "cold" or "warm" (`cache-cold-warm`) sets its own mode.

Measured calls carry a seal the target signed (`X-Gateway-Compare`), so the target keeps
the statements each one ran; the runner asks for them afterwards, outside the measured time.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx

from gateway.compare.network import LOOPBACK, Profile, ShapingProxy
from gateway.compare.recorder import CONNECTIONS_PER_HOST, CallFailed, HttpCache, Recorder
from gateway.compare.results import Figures, Run, ScenarioResult, VariantResult, typical
from gateway.compare.scenarios import CACHE_MODES, Fixture, Made, Needs, Scenario, dig

Progress = Callable[[str], None]
"""Told after each variant iteration, with a label such as `product-page · GraphQL`."""

Seals = Callable[[str], Awaitable[str | None]]
"""A compare seal of the target for a cache mode ("cold", "warm"), or None if refused."""

# The demo data's customers (README): one reads, the other writes, so the orders the
# write scenarios place (and cancel) never crowd the history the reading one shows.
DEMO_ACCOUNTS = {
    "reader": ("user2@example.com", "customer-dev-password"),
    "writer": ("user3@example.com", "customer-dev-password"),
}

Sessions = dict[str, tuple[str, float]]
"""Account role → (access token, time.monotonic() after which it is not reused)."""

# How long the runner waits for the statement records of its last calls: the target
# writes them just after each answer went out.
_RECORD_WAIT = 2.0


class CompareError(RuntimeError):
    """A scenario could not be run against the target (an HTTP error, missing data)."""


class Runner:
    """Runs scenarios against the gateway behind `http` (an httpx client with a base URL).

    `seals` gives the target's compare seals (by default asked of its /compare/seal);
    without one, a run can be neither cold nor traced.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        accounts: dict[str, tuple[str, str]] | None = None,
        sessions: Sessions | None = None,
        request_ids: Iterator[str] | None = None,
        seals: Seals | None = None,
    ) -> None:
        self.http = http
        self.accounts = accounts or DEMO_ACCOUNTS
        # Kept by the caller across runs (the page), so repeated runs do not sign in again.
        self.sessions: Sessions = {} if sessions is None else sessions
        run = secrets.token_hex(4)
        self.request_ids = request_ids or (f"compare-{run}.{n}" for n in itertools.count(1))
        self._seals = seals or self.fetch_seal
        self._sealed: dict[str, str | None] = {}

    async def run(
        self,
        scenario: Scenario,
        repeat: int = 5,
        progress: Progress | None = None,
        *,
        network: Profile = LOOPBACK,
        cache: str = "cold",
    ) -> ScenarioResult:
        """Prepare, then measure `scenario` `repeat` times per variant."""
        fixture = await self.prepare(scenario)
        return await self.measure(scenario, fixture, repeat, progress, network=network, cache=cache)

    async def prepare(self, scenario: Scenario) -> Fixture:
        """Sign in if needed and find what the plans need; measures nothing."""
        fixture: Fixture = {}
        role = _role(scenario)
        if role is not None:
            session = self.sessions.get(role)
            if session is None or session[1] <= time.monotonic():
                self.sessions[role] = await self.sign_in(*self.accounts[role])
        if scenario.prepare is not None:
            try:
                await scenario.prepare(self._plain(scenario), fixture)
            except (CallFailed, LookupError, KeyError, IndexError) as exc:
                raise CompareError(f"{scenario.name}: cannot prepare: {exc}") from exc
        return fixture

    async def measure(
        self,
        scenario: Scenario,
        fixture: Fixture,
        repeat: int = 5,
        progress: Progress | None = None,
        *,
        network: Profile = LOOPBACK,
        cache: str = "cold",
    ) -> ScenarioResult:
        """Run every variant `repeat` times, interleaved; cleanup after each iteration."""
        if cache not in CACHE_MODES:
            raise CompareError(f"unknown cache mode {cache!r}; one of {', '.join(CACHE_MODES)}")
        modes = {_mode(p, cache) for p in scenario.passes}
        seals = {mode: await self.seal(mode) for mode in sorted(modes)}
        if "cold" in modes and seals["cold"] is None:
            raise CompareError(
                "the target gave no compare seal, so it cannot be measured cold: it lets "
                "only those run compare who may (anyone in development, admins in "
                "production); measure it warm instead"
            )
        runs: dict[tuple[str, str], list[Run]] = {}
        async with _Network(self.http, network) as shaped:
            for _ in range(repeat):
                for variant in scenario.variants:
                    made: Made = {}
                    if scenario.begin is not None:
                        scenario.begin(fixture, made)
                    http_cache = HttpCache() if scenario.visits_at else None
                    try:
                        for number, pass_ in enumerate(scenario.passes):
                            if http_cache is not None:
                                http_cache.clock = scenario.visits_at[number]
                            mode = _mode(pass_, cache)
                            if mode == "warm":
                                await self._warm_up(scenario, variant, fixture, made)
                            run = await self._pass(
                                scenario,
                                variant,
                                fixture,
                                made,
                                http=await shaped.client(),
                                seal=seals[mode],
                                http_cache=http_cache,
                            )
                            runs.setdefault((variant, pass_), []).append(run)
                    except CallFailed as exc:
                        title = scenario.title_of(variant)
                        raise CompareError(f"{scenario.name} ({title}): {exc}") from exc
                    finally:
                        await self._cleanup(scenario, fixture, made)
                    if progress is not None:
                        progress(f"{scenario.name} · {scenario.title_of(variant)}")
        variants = []
        for (variant, pass_), found in runs.items():
            found = await self._with_statements(found, seals[_mode(pass_, cache)])
            variants.append(VariantResult(variant, pass_, found, scenario.title_of(variant)))
        return ScenarioResult(scenario, repeat, variants, network, cache)

    async def seal(self, mode: str) -> str | None:
        """The target's compare seal for `mode`, asked for once per runner."""
        if mode not in self._sealed:
            self._sealed[mode] = await self._seals(mode)
        return self._sealed[mode]

    async def fetch_seal(self, mode: str) -> str | None:
        """Ask the target's /compare/seal (None when it refuses or has none)."""
        answer = await self.http.post("/compare/seal", json={"cache": mode})
        if answer.status_code != 200:
            return None
        seal = answer.json()["data"]["seal"]
        return str(seal)

    async def sign_in(self, email: str, password: str) -> tuple[str, float]:
        """A session of this account, else of a freshly registered one (other data sets)."""
        answer = await self.http.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        if answer.status_code == 401:
            email = f"compare-{secrets.token_hex(6)}@example.com"
            body = {
                "email": email,
                "password": secrets.token_urlsafe(18),
                "display_name": "Compare runner",
            }
            answer = await self.http.post("/api/v1/auth/register", json=body)
        if answer.status_code >= 400:
            raise CompareError(f"cannot sign in as {email}: HTTP {answer.status_code}")
        session = answer.json()["data"]
        # A minute's margin, so a token never expires in the middle of a run.
        return session["access_token"], time.monotonic() + session["expires_in"] - 60

    async def _cleanup(self, scenario: Scenario, fixture: Fixture, made: Made) -> None:
        if scenario.cleanup is None or not made:
            return
        try:
            await scenario.cleanup(self._plain(scenario), fixture, made)
        except CallFailed as exc:
            raise CompareError(f"{scenario.name}: cleanup failed: {exc}") from exc

    def _plain(self, scenario: Scenario) -> Recorder:
        return self._recorder(scenario, {}, self.http)

    def _recorder(
        self,
        scenario: Scenario,
        needs: Needs,
        http: httpx.AsyncClient,
        seal: str | None = None,
        http_cache: HttpCache | None = None,
    ) -> Recorder:
        role = _role(scenario)
        token = self.sessions[role][0] if role is not None else None
        return Recorder(
            http,
            needs=needs,
            token=token,
            request_ids=self.request_ids,
            seal=seal,
            http_cache=http_cache,
        )

    async def _warm_up(
        self, scenario: Scenario, variant: str, fixture: Fixture, made: Made
    ) -> None:
        """One unmeasured pass on the same data, so the measured one finds the cache warm."""
        warm = dict(made)
        try:
            await self._pass(scenario, variant, fixture, warm, http=self.http, seal=None)
        finally:
            if warm.keys() != made.keys():
                await self._cleanup(scenario, fixture, {k: warm[k] for k in warm.keys() - made})

    async def _pass(
        self,
        scenario: Scenario,
        variant: str,
        fixture: Fixture,
        made: Made,
        *,
        http: httpx.AsyncClient,
        seal: str | None,
        http_cache: HttpCache | None = None,
    ) -> Run:
        recorder = self._recorder(scenario, scenario.needs, http, seal, http_cache)
        variables: list[dict[str, Any]] = []
        began = time.perf_counter()
        try:
            if variant in ("rest_naive", "rest"):
                await scenario.naive(recorder, fixture, made)
            elif variant == "rest_tuned" and scenario.tuned is not None:
                await scenario.tuned(recorder, fixture, made)
            elif variant in ("graphql", "graphql_get"):
                method = "GET" if variant == "graphql_get" else "POST"
                for operation in scenario.graphql:
                    values = operation.resolved(fixture, made)
                    variables.append(values)
                    data = await recorder.graphql(operation.document, values, method=method)
                    for key, path in operation.keep.items():
                        made[key] = dig(data, path)
            else:
                raise CompareError(f"{scenario.name}: no plan for the variant {variant!r}")
            wall_ms = (time.perf_counter() - began) * 1000
        finally:
            if http is not self.http:
                await http.aclose()
        calls = recorder.calls
        return Run(calls, Figures.of(calls, wall_ms, recorder.from_cache), variables)

    async def _with_statements(self, runs: list[Run], seal: str | None) -> list[Run]:
        """The runs, the typical one's calls with the statements the target recorded."""
        shown = typical(runs)
        ids = [c.request_id for c in shown.calls if c.request_id]
        if seal is None or not ids:
            return runs
        records = await self._records(ids, seal)
        calls = []
        for call in shown.calls:
            record = records.get(call.request_id)
            if record is not None:
                call = replace(
                    call, statements=record["statements"], statements_omitted=record["omitted"]
                )
            calls.append(call)
        return [replace(r, calls=calls) if r is shown else r for r in runs]

    async def _records(self, ids: list[str], seal: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        deadline = time.monotonic() + _RECORD_WAIT
        while True:
            wanted = [i for i in ids if i not in found]
            answer = await self.http.post("/compare/statements", json={"seal": seal, "ids": wanted})
            if answer.status_code != 200:
                return found  # an older gateway, or no cache to keep records in
            found.update({k: v for k, v in answer.json()["data"].items() if v is not None})
            if len(found) == len(ids) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)


class _Network:
    """Clients for measured passes: the runner's own on loopback; on a shaped profile, a
    fresh one per pass (at most six connections) through a shaping proxy to the target."""

    def __init__(self, http: httpx.AsyncClient, profile: Profile) -> None:
        self.http = http
        self.profile = profile
        self.proxy: ShapingProxy | None = None

    async def __aenter__(self) -> _Network:
        if not self.profile.shaped:
            return self
        url = self.http.base_url
        upstream = (url.host, url.port or (443 if url.scheme == "https" else 80))
        if url.scheme != "http":
            raise CompareError("network profiles measure plain-HTTP targets only")
        try:
            _, writer = await asyncio.open_connection(*upstream)
        except OSError as exc:
            raise CompareError(
                f"network profiles need the target on TCP; {url} is not reachable: {exc}"
            ) from exc
        writer.close()
        self.proxy = await ShapingProxy(upstream, self.profile).__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proxy is not None:
            await self.proxy.__aexit__(*exc)

    async def client(self) -> httpx.AsyncClient:
        if self.proxy is None:
            return self.http
        headers = httpx.Headers(self.http.headers)
        if "host" not in headers:
            # The target's name, not the proxy's: its ALLOWED_HOSTS judge it.
            headers["Host"] = self.http.base_url.netloc.decode("ascii")
        return httpx.AsyncClient(
            base_url=self.proxy.url,
            headers=headers,
            timeout=self.http.timeout,
            # The caller's hooks (the page notes 429s from them), on every pass.
            event_hooks=self.http.event_hooks,
            limits=httpx.Limits(
                max_connections=CONNECTIONS_PER_HOST,
                max_keepalive_connections=CONNECTIONS_PER_HOST,
            ),
        )


def _mode(pass_: str, cache: str) -> str:
    return pass_ if pass_ in CACHE_MODES else cache


def _role(scenario: Scenario) -> str | None:
    """Which demo account a scenario runs as, if any."""
    if not scenario.signed_in:
        return None
    return "writer" if scenario.writes else "reader"

"""Running a scenario for real over HTTP: every variant, several times, reporting medians.

The runner talks to a gateway like any client would (its own, or any `--url`): it signs
in when a scenario needs a customer, prepares the scenario without measuring, then runs
the variants interleaved (naive, tuned, GraphQL, naive, ...) so that drift in the server
affects them alike, and cleans up after each write.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from gateway.compare.recorder import Call, CallFailed, Recorder
from gateway.compare.scenarios import (
    VARIANT_TITLES,
    VARIANTS,
    Fixture,
    Made,
    Needs,
    Scenario,
    dig,
)

Progress = Callable[[str], None]
"""Told after each variant iteration, with a label such as `product-page · GraphQL`."""

# The demo data's customers (README): one reads, the other writes, so the orders the
# write scenarios place (and cancel) never crowd the history the reading one shows.
DEMO_ACCOUNTS = {
    "reader": ("user2@example.com", "customer-dev-password"),
    "writer": ("user3@example.com", "customer-dev-password"),
}

Sessions = dict[str, tuple[str, float]]
"""Account role → (access token, time.monotonic() after which it is not reused)."""


class CompareError(RuntimeError):
    """A scenario could not be run against the target (an HTTP error, missing data)."""


@dataclass(frozen=True, slots=True)
class Figures:
    """What one pass of a variant cost, summed over its calls (or medians over runs)."""

    requests: int
    request_bytes: int
    response_bytes: int
    sql: int
    cache: dict[str, int]
    server_ms: float
    wall_ms: float
    overfetch: float  # 0..1: share of received JSON bytes the task did not need

    @classmethod
    def of(cls, calls: list[Call], wall_ms: float) -> Figures:
        received = sum(c.json_bytes for c in calls)
        needed = sum(c.needed_bytes for c in calls)
        cache: dict[str, int] = {}
        for call in calls:
            cache[call.cache] = cache.get(call.cache, 0) + 1
        return cls(
            requests=len(calls),
            request_bytes=sum(c.request_bytes for c in calls),
            response_bytes=sum(c.response_bytes for c in calls),
            sql=sum(c.sql for c in calls),
            cache=cache,
            server_ms=sum(c.server_ms for c in calls),
            wall_ms=wall_ms,
            overfetch=1 - needed / received if received else 0.0,
        )

    @classmethod
    def median(cls, runs: list[Run]) -> Figures:
        def low(name: str) -> int:
            return int(statistics.median_low(getattr(r.figures, name) for r in runs))

        def mid(name: str) -> float:
            return float(statistics.median(getattr(r.figures, name) for r in runs))

        return cls(
            requests=low("requests"),
            request_bytes=low("request_bytes"),
            response_bytes=low("response_bytes"),
            sql=low("sql"),
            cache=typical(runs).figures.cache,
            server_ms=mid("server_ms"),
            wall_ms=mid("wall_ms"),
            overfetch=mid("overfetch"),
        )


@dataclass(frozen=True, slots=True)
class Run:
    """One pass of one variant: its calls, their sum, and the GraphQL variables it sent."""

    calls: list[Call]
    figures: Figures
    variables: list[dict[str, Any]] = field(default_factory=list)


def typical(runs: list[Run]) -> Run:
    """The run of median wall time: the one whose waterfall stands for the variant."""
    return sorted(runs, key=lambda r: r.figures.wall_ms)[(len(runs) - 1) // 2]


@dataclass(frozen=True, slots=True)
class VariantResult:
    """A variant (in one pass) over all its runs."""

    variant: str
    pass_: str
    runs: list[Run]

    @property
    def title(self) -> str:
        name = VARIANT_TITLES[self.variant]
        return f"{name} · {self.pass_}" if self.pass_ else name

    @property
    def figures(self) -> Figures:
        return Figures.median(self.runs)

    def as_dict(self) -> dict[str, Any]:
        shown = typical(self.runs)
        return {
            "variant": self.variant,
            "pass": self.pass_,
            "title": self.title,
            "figures": asdict(self.figures),
            "calls": [c.as_dict() for c in shown.calls],
            "variables": shown.variables,
            "runs": [asdict(r.figures) for r in self.runs],
        }


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """Everything measured for one scenario."""

    scenario: Scenario
    repeat: int
    variants: list[VariantResult]

    def variant(self, name: str, pass_: str = "") -> VariantResult:
        return next(v for v in self.variants if v.variant == name and v.pass_ == pass_)


class Runner:
    """Runs scenarios against the gateway behind `http` (an httpx client with a base URL)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        accounts: dict[str, tuple[str, str]] | None = None,
        sessions: Sessions | None = None,
        request_ids: Iterator[str] | None = None,
    ) -> None:
        self.http = http
        self.accounts = accounts or DEMO_ACCOUNTS
        # Kept by the caller across runs (the page), so repeated runs do not sign in again.
        self.sessions: Sessions = {} if sessions is None else sessions
        self.request_ids = request_ids

    async def run(
        self, scenario: Scenario, repeat: int = 5, progress: Progress | None = None
    ) -> ScenarioResult:
        """Prepare, then measure `scenario` `repeat` times per variant."""
        fixture = await self.prepare(scenario)
        return await self.measure(scenario, fixture, repeat, progress)

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
    ) -> ScenarioResult:
        """Run every variant `repeat` times, interleaved; cleanup after each iteration."""
        runs: dict[tuple[str, str], list[Run]] = {}
        for _ in range(repeat):
            for variant in VARIANTS:
                made: Made = {}
                if scenario.begin is not None:
                    scenario.begin(fixture, made)
                try:
                    for pass_ in scenario.passes:
                        run = await self._pass(scenario, variant, fixture, made)
                        runs.setdefault((variant, pass_), []).append(run)
                except CallFailed as exc:
                    title = VARIANT_TITLES[variant]
                    raise CompareError(f"{scenario.name} ({title}): {exc}") from exc
                finally:
                    await self._cleanup(scenario, fixture, made)
                if progress is not None:
                    progress(f"{scenario.name} · {VARIANT_TITLES[variant]}")
        variants = [VariantResult(v, p, r) for (v, p), r in runs.items()]
        return ScenarioResult(scenario, repeat, variants)

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
        return self._recorder(scenario, {})

    def _recorder(self, scenario: Scenario, needs: Needs) -> Recorder:
        role = _role(scenario)
        token = self.sessions[role][0] if role is not None else None
        return Recorder(self.http, needs=needs, token=token, request_ids=self.request_ids)

    async def _pass(self, scenario: Scenario, variant: str, fixture: Fixture, made: Made) -> Run:
        recorder = self._recorder(scenario, scenario.needs)
        variables: list[dict[str, Any]] = []
        began = time.perf_counter()
        if variant == "rest_naive":
            await scenario.naive(recorder, fixture, made)
        elif variant == "rest_tuned":
            await scenario.tuned(recorder, fixture, made)
        else:
            for operation in scenario.graphql:
                values = operation.resolved(fixture, made)
                variables.append(values)
                data = await recorder.graphql(operation.document, values)
                for key, path in operation.keep.items():
                    made[key] = dig(data, path)
        wall_ms = (time.perf_counter() - began) * 1000
        calls = recorder.calls
        return Run(calls, Figures.of(calls, wall_ms), variables)


def _role(scenario: Scenario) -> str | None:
    """Which demo account a scenario runs as, if any."""
    if not scenario.signed_in:
        return None
    return "writer" if scenario.writes else "reader"

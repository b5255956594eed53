"""What a run measured: figures per pass, variants over their runs, a scenario per network."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from gateway.compare.network import LOOPBACK, Profile
from gateway.compare.recorder import Call
from gateway.compare.scenarios import Scenario


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
    db_ms: float = 0.0
    # The longest chain of calls each sent only after another one's answer came (waiting
    # for it, or for a free connection): the round trips a client waits for in a row.
    round_trips: int = 0
    # Answers the client's own HTTP cache gave, fresh, without any request.
    from_cache: int = 0

    @classmethod
    def of(cls, calls: list[Call], wall_ms: float, from_cache: int = 0) -> Figures:
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
            db_ms=sum(c.db_ms for c in calls),
            round_trips=sequential(calls),
            from_cache=from_cache,
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
            db_ms=mid("db_ms"),
            round_trips=low("round_trips"),
            from_cache=low("from_cache"),
        )


def sequential(calls: list[Call]) -> int:
    """The longest chain of calls in which each began after the one before it ended."""
    depth: list[int] = []
    ordered = sorted(calls, key=lambda c: c.start_ms)
    for i, call in enumerate(ordered):
        before = [depth[j] for j in range(i) if ordered[j].end_ms <= call.start_ms]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


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
    name: str = ""  # the variant's title in its scenario

    @property
    def title(self) -> str:
        return f"{self.name} · {self.pass_}" if self.pass_ else self.name

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
    """Everything measured for one scenario on one network, in one cache mode."""

    scenario: Scenario
    repeat: int
    variants: list[VariantResult]
    network: Profile = LOOPBACK
    cache: str = "cold"

    def variant(self, name: str, pass_: str = "") -> VariantResult:
        return next(v for v in self.variants if v.variant == name and v.pass_ == pass_)

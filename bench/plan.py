"""The plan of a benchmark run: which servers start, in what order, and what each runs.

One server start per phase, so start-up costs are paid once per configuration:

1. the gateway, cache on, with the main number of workers: every workload at the main
   concurrency, then the scaling workloads at the other concurrencies;
2. the floor app, same workers and concurrency;
3. the gateway, cache off: every workload the cache can change;
4. the gateway with each other worker count: the scaling workloads.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Literal

from bench.workloads import ORDER

Group = Literal["main", "connections", "workers"]
Cache = Literal["on", "off"]


@dataclass(frozen=True, slots=True)
class Options:
    """How long, how hard and what to run; every field is a command-line flag."""

    duration: int = 10
    warmup: int = 2
    connections: int = 64
    workers: int = 1
    scaling_workers: tuple[int, ...] = (1, 2, 4)
    scaling_connections: tuple[int, ...] = (16, 64, 256)
    scaling_workloads: tuple[str, ...] = ("rest.detail.hit", "graphql.page")
    only: tuple[str, ...] = ()
    cache_off: bool = True


@dataclass(frozen=True, slots=True)
class Step:
    """One measured run on the phase's server."""

    workload: str
    connections: int
    group: Group


@dataclass(frozen=True, slots=True)
class Phase:
    """One server start and the runs made against it."""

    server: Literal["gateway", "floor"]
    cache: Cache | None
    workers: int
    steps: tuple[Step, ...]

    @property
    def label(self) -> str:
        cache = f", cache {self.cache}" if self.cache else ""
        plural = "s" if self.workers > 1 else ""
        return f"{self.server}{cache}, {self.workers} worker{plural}"


FLOORS = ("floor", "floor.starlette")
"""The baselines served by bench/floor.py rather than by the gateway."""


def selected(options: Options) -> list[str]:
    """The workloads `--only` keeps (all by default), in report order."""
    if not options.only:
        return list(ORDER)
    return [name for name in ORDER if any(fnmatch.fnmatch(name, p) for p in options.only)]


def plan(options: Options, *, cache_switch: bool) -> list[Phase]:
    """The phases to run; `cache_switch` says whether the gateway can turn its cache off."""
    names = selected(options)
    gateway_names = [name for name in names if name not in FLOORS]
    scaling = [name for name in options.scaling_workloads if name in gateway_names]
    main = options.connections
    phases: list[Phase] = []
    first = [Step(name, main, "main") for name in gateway_names]
    first += [
        Step(name, c, "connections")
        for name in scaling
        for c in options.scaling_connections
        if c != main
    ]
    if first:
        phases.append(Phase("gateway", "on", options.workers, tuple(first)))
    for name in FLOORS:
        if name in names:
            phases.append(Phase("floor", None, options.workers, (Step(name, main, "main"),)))
    if options.cache_off and cache_switch and gateway_names:
        steps = tuple(Step(name, main, "main") for name in gateway_names)
        phases.append(Phase("gateway", "off", options.workers, steps))
    for workers in options.scaling_workers:
        if workers != options.workers and scaling:
            steps = tuple(Step(name, main, "workers") for name in scaling)
            phases.append(Phase("gateway", "on", workers, steps))
    return phases


def run_count(phases: list[Phase]) -> int:
    return sum(len(phase.steps) for phase in phases)

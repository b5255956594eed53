"""Rendering measured scenarios: a plain-words reading, JSON, CSV, and text or Markdown tables.

Over 400 lines: one rendering per output format of the same results.

A run measures scenarios on one or more network profiles; results come as one
`ScenarioResult` per scenario and profile. Tables are printed one per profile, then one
table of wall time per profile side by side.
"""

from __future__ import annotations

import csv as csvlib
import io
from collections.abc import Callable, Sequence
from typing import Any

from gateway.compare.network import PROFILES, Profile
from gateway.compare.options import RunOptions
from gateway.compare.results import Figures, ScenarioResult, VariantResult, typical
from gateway.compare.scenarios import Scenario

COLUMNS = (
    "scenario",
    "variant",
    "requests",
    "in a row",
    "sent",
    "received",
    "SQL",
    "DB",
    "cache",
    "server",
    "wall",
    "over-fetch",
)
_TEXT_COLUMNS = {0, 1, 8}
CSV_COLUMNS = (
    "scenario",
    "network",
    "rtt_ms",
    "mbit",
    "cache_mode",
    "variant",
    "pass",
    "title",
    "repeat",
    "requests",
    "round_trips",
    "request_bytes",
    "response_bytes",
    "sql",
    "db_ms",
    "server_ms",
    "wall_ms",
    "overfetch",
    "cache",
)
# How a variant is named where a sentence compares it with GraphQL.
_SHORT = {"rest_naive": "naive", "rest_tuned": "tuned", "rest": "REST", "graphql_get": "GET"}


def reading(result: ScenarioResult) -> list[str]:
    """What the figures say, in a few sentences (GraphQL against the other variants; for
    visits of a page with an HTTP cache, what each visit cost each variant)."""
    scenario = result.scenario
    lines: list[str] = []
    if scenario.visits_at:
        lines += [_visit_phrase(result, visit) for visit in scenario.passes]
        if result.network.shaped:
            lines.append(
                f"On {result.network.label} each round trip costs at least "
                f"{result.network.rtt_ms:g} ms: what the client's cache saves is round trips."
            )
        return lines
    passes = scenario.passes
    for pass_ in passes:
        by_name = {v.variant: v.figures for v in result.variants if v.pass_ == pass_}
        graph = by_name.get("graphql")
        others = {name: f for name, f in by_name.items() if name != "graphql"}
        prefix = f"{pass_.capitalize()}, GraphQL" if pass_ else "GraphQL"
        if graph is not None and others:
            parts = [
                _count_phrase(graph.requests, others, lambda f: f.requests, "request"),
                _bytes_phrase(graph, others, scenario),
                _count_phrase(graph.sql, others, lambda f: f.sql, "SQL statement"),
            ]
            lines.append(f"{prefix}: " + "; ".join(parts) + ".")
        lines.append(_winners({scenario.title_of(n): f for n, f in by_name.items()}))
        if result.network.shaped:
            lines.append(_network_phrase(result, by_name))
    if set(passes) == {"cold", "warm"}:
        lines.append(_cache_phrase(result, "cold", "warm"))
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _count_phrase(
    graph: int, others: dict[str, Figures], value: Callable[[Figures], int], word: str
) -> str:
    counts = {name: value(f) for name, f in others.items()}
    if all(n == graph for n in counts.values()):
        both = set(counts) == {"rest_naive", "rest_tuned"}
        return f"{_plural(graph, word)}, like " + ("both REST variants" if both else "the others")
    if len(set(counts.values())) == 1:
        return f"{_plural(graph, word)} instead of {next(iter(counts.values()))}"
    listed = " or ".join(f"{n} ({_SHORT.get(name, name)})" for name, n in counts.items())
    return f"{_plural(graph, word)} instead of {listed}"


def _total(f: Figures) -> int:
    return f.request_bytes + f.response_bytes


def _bytes_phrase(graph: Figures, others: dict[str, Figures], scenario: Scenario) -> str:
    def versus(rest: Figures, name: str) -> str:
        if _total(rest) == 0:
            return f"no bytes for {name}"
        change = (_total(rest) - _total(graph)) / _total(rest)
        if abs(change) < 0.005:
            return f"as many bytes as {name}"
        more_or_fewer = "fewer" if change > 0 else "more"
        return f"{abs(change):.0%} {more_or_fewer} bytes than {name}"

    return ", ".join(versus(f, scenario.title_of(name)) for name, f in others.items())


def _winners(figures: dict[str, Figures]) -> str:
    def best(key: Callable[[Figures], float], close: float = 0.0) -> str:
        low = min(key(f) for f in figures.values())
        names = [t for t, f in figures.items() if key(f) <= low * (1 + close) + 1e-9]
        if len(names) == len(figures):
            return f"all {len(figures)} (tie)" if len(figures) > 2 else "both (tie)"
        return " and ".join(names) + (" (tie)" if len(names) > 1 else "")

    return (
        f"Fewest requests: {best(lambda f: f.requests)}; "
        f"fewest bytes: {best(lambda f: _total(f))}; "
        f"fewest SQL statements: {best(lambda f: f.sql)}; "
        # Within 10% is a tie: wall times on a busy machine wobble by that much.
        f"fastest: {best(lambda f: f.wall_ms, close=0.10)}."
    )


def _network_phrase(result: ScenarioResult, by_name: dict[str, Figures]) -> str:
    parts = [
        f"{result.scenario.title_of(name)} {f.wall_ms:,.0f} ms "
        f"({_plural(f.round_trips, 'round trip')} in a row)"
        for name, f in by_name.items()
    ]
    return (
        f"On {result.network.label}, each round trip costs at least {result.network.rtt_ms:g} ms: "
        + ("; ".join(parts) + ".")
    )


def _cache_phrase(result: ScenarioResult, cold: str, warm: str) -> str:
    parts = []
    for variant in result.scenario.variants:
        before = result.variant(variant, cold).figures
        after = result.variant(variant, warm).figures
        parts.append(
            f"{result.scenario.title_of(variant)} {before.sql} → {after.sql} SQL "
            f"(X-Cache {cache_text(before.cache)} → {cache_text(after.cache)})"
        )
    return f"From {cold} to {warm}: " + "; ".join(parts) + "."


def _visit_phrase(result: ScenarioResult, visit: str) -> str:
    parts = []
    for variant in result.scenario.variants:
        found = result.variant(variant, visit)
        figures = found.figures
        unchanged = sum(1 for c in typical(found.runs).calls if c.status == 304)
        said = _plural(figures.requests, "request")
        notes = []
        if figures.from_cache:
            notes.append(f"{figures.from_cache} answers fresh in the client's cache")
        if unchanged:
            notes.append(f"{unchanged} answered 304")
        if notes:
            said += f" ({', '.join(notes)})"
        parts.append(
            f"{result.scenario.title_of(variant)} {said}, "
            f"{size(figures.response_bytes)} received, {_ms(figures.wall_ms)}"
        )
    return f"{visit.capitalize()}: " + "; ".join(parts) + "."


def cache_text(cache: dict[str, int]) -> str:
    """`{"HIT": 3, "none": 1}` → `3 HIT, 1 none`; a single outcome alone: `HIT`; no
    request at all: `-`."""
    if not cache:
        return "-"
    if len(cache) == 1:
        return next(iter(cache))
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(cache.items()))


def size(n: float) -> str:
    """Bytes for people: `812 B`, `3.4 kB`, `1.2 MB` (decimal units)."""
    # The bounds are where the rounded figure reaches the next unit (not "1000.0 kB").
    if n < 999.5:
        return f"{n:.0f} B"
    if n < 999_950:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def _ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _row(result: ScenarioResult, variant: VariantResult) -> list[str]:
    f = variant.figures
    return [
        result.scenario.name,
        variant.title,
        str(f.requests),
        str(f.round_trips),
        size(f.request_bytes),
        size(f.response_bytes),
        str(f.sql),
        _ms(f.db_ms),
        cache_text(f.cache),
        _ms(f.server_ms),
        _ms(f.wall_ms),
        f"{f.overfetch:.0%}",
    ]


def _by_network(results: Sequence[ScenarioResult]) -> list[tuple[Profile, list[ScenarioResult]]]:
    groups: dict[str, list[ScenarioResult]] = {}
    for result in results:
        groups.setdefault(result.network.name, []).append(result)
    return [(groups[name][0].network, groups[name]) for name in _order(groups)]


def _order(names: Sequence[str] | dict[str, Any]) -> list[str]:
    known = list(PROFILES)
    return sorted(names, key=lambda n: known.index(n) if n in known else len(known))


def heading(network: Profile, results: Sequence[ScenarioResult]) -> str:
    """`4G (60 ms, 10 Mbit/s), cold cache`."""
    modes = sorted({r.cache for r in results})
    return f"{network.label}, {' and '.join(modes)} cache"


def markdown(results: Sequence[ScenarioResult]) -> str:
    """One GitHub-flavoured Markdown table per network profile, numbers right-aligned,
    then wall time per profile when there are several."""
    align = ["---", "---"] + ["--:"] * 6 + ["---"] + ["--:"] * 3
    out: list[str] = []
    for network, group in _by_network(results):
        out += [f"**{heading(network, group)}**", ""]
        out += ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(align) + "|"]
        out += ["| " + " | ".join(_row(r, v)) + " |" for r in group for v in r.variants]
        out.append("")
    walls = _wall_rows(results)
    if walls is not None:
        head, rows = walls
        out += ["**Wall time per network profile**", ""]
        out += ["| " + " | ".join(head) + " |", "|---|---|" + "--:|" * (len(head) - 2)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def _aligned(rows: list[list[str]], text_columns: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: list[str]) -> str:
        cells = [
            cell.ljust(w) if i in text_columns else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(rows[0]), "  ".join("-" * w for w in widths), *(line(r) for r in rows[1:])]


def table(results: Sequence[ScenarioResult]) -> str:
    """Aligned text tables, one per network profile with each scenario's reading, then
    the profiles table (wall time per profile) when more than one was measured."""
    out: list[str] = []
    for network, group in _by_network(results):
        rows = [list(COLUMNS), *(_row(r, v) for r in group for v in r.variants)]
        out += [f"{heading(network, group)}:", *_aligned(rows, _TEXT_COLUMNS)]
        for result in group:
            out += ["", f"{result.scenario.name}:"] + [f"  {s}" for s in reading(result)]
        out.append("")
    out += profiles_table(results)
    return "\n".join(out).rstrip("\n") + "\n"


def profiles_table(results: Sequence[ScenarioResult]) -> list[str]:
    """Wall time per scenario and variant, one column per network profile measured."""
    walls = _wall_rows(results)
    if walls is None:
        return []
    head, rows = walls
    return ["Wall time per network profile:", *_aligned([head, *rows], {0, 1}), ""]


def _wall_rows(results: Sequence[ScenarioResult]) -> tuple[list[str], list[list[str]]] | None:
    groups = _by_network(results)
    if len(groups) < 2:
        return None
    head = ["scenario", "variant"] + [
        f"{n.title} ({n.rtt_ms:g} ms)" if n.shaped else n.title for n, _ in groups
    ]
    walls: dict[tuple[str, str], dict[str, str]] = {}
    for network, group in groups:
        for result in group:
            for variant in result.variants:
                cell = f"{_ms(variant.figures.wall_ms)} ({variant.figures.round_trips})"
                walls.setdefault((result.scenario.name, variant.title), {})[network.name] = cell
    rows = [
        [scenario, title] + [cells.get(n.name, "-") for n, _ in groups]
        for (scenario, title), cells in walls.items()
    ]
    return head, rows


def csv(results: Sequence[ScenarioResult]) -> str:
    """The figures (medians), one row per scenario, network, variant and pass."""
    out = io.StringIO()
    writer = csvlib.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in results:
        network = result.network
        for variant in result.variants:
            f = variant.figures
            writer.writerow(
                [
                    result.scenario.name,
                    network.name,
                    f"{network.rtt_ms:g}",
                    "" if network.mbit is None else f"{network.mbit:g}",
                    result.cache,
                    variant.variant,
                    variant.pass_,
                    variant.title,
                    result.repeat,
                    f.requests,
                    f.round_trips,
                    f.request_bytes,
                    f.response_bytes,
                    f.sql,
                    f"{f.db_ms:.2f}",
                    f"{f.server_ms:.2f}",
                    f"{f.wall_ms:.2f}",
                    f"{f.overfetch:.4f}",
                    cache_text(f.cache),
                ]
            )
    return out.getvalue()


def run_document(
    results: Sequence[ScenarioResult], options: Sequence[RunOptions], *, page: str = "/compare"
) -> dict[str, Any]:
    """A run as JSON: per scenario its options, the page link and the command that run it
    again, and its figures on each network; then all figures as CSV."""
    by_name = {o.scenario: o for o in options}
    entries: dict[str, dict[str, Any]] = {}
    for result in results:
        name = result.scenario.name
        entry = entries.get(name)
        if entry is None:
            chosen = by_name[name]
            entry = entries[name] = {
                "scenario": describe(result.scenario),
                "options": chosen.as_dict(),
                "link": f"{page}?{chosen.query()}",
                "command": chosen.command(),
                "profiles": [],
            }
        entry["profiles"].append(
            {k: v for k, v in scenario_dict(result).items() if k != "scenario"}
        )
    return {"scenarios": list(entries.values()), "csv": csv(results)}


def scenario_dict(result: ScenarioResult) -> dict[str, Any]:
    """One scenario's measurements on one network as JSON-ready data (what the page draws)."""
    return {
        "scenario": describe(result.scenario),
        "network": result.network.as_dict() | {"label": result.network.label},
        "cache": result.cache,
        "repeat": result.repeat,
        "variants": [v.as_dict() for v in result.variants],
        "reading": reading(result),
    }


def describe(scenario: Scenario) -> dict[str, Any]:
    """A scenario as the page lists it: its words, needed fields and GraphQL documents."""
    return {
        "name": scenario.name,
        "title": scenario.title,
        "lesson": scenario.lesson,
        "needs": {entity: sorted(fields) for entity, fields in scenario.needs.items()},
        "graphql": [op.document for op in scenario.graphql],
        "variants": [{"variant": v, "title": scenario.title_of(v)} for v in scenario.variants],
        "signed_in": scenario.signed_in,
        "writes": scenario.writes,
        "passes": [p for p in scenario.passes if p],
        "own_cache_modes": set(scenario.passes) == {"cold", "warm"},
    }

"""Rendering measured scenarios: a plain-words reading, JSON, and text or Markdown tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gateway.compare.runner import Figures, ScenarioResult, VariantResult
from gateway.compare.scenarios import VARIANT_TITLES, Scenario

COLUMNS = (
    "scenario",
    "variant",
    "requests",
    "sent",
    "received",
    "SQL",
    "cache",
    "server",
    "wall",
    "over-fetch",
)


def reading(result: ScenarioResult) -> list[str]:
    """What the figures say, in a few sentences (GraphQL against both REST variants)."""
    lines: list[str] = []
    passes = result.scenario.passes
    for pass_ in passes:
        naive = result.variant("rest_naive", pass_).figures
        tuned = result.variant("rest_tuned", pass_).figures
        graph = result.variant("graphql", pass_).figures
        prefix = f"{pass_.capitalize()} cache, GraphQL" if pass_ else "GraphQL"
        parts = [
            _count_phrase(graph.requests, naive.requests, tuned.requests, "request"),
            _bytes_phrase(graph, naive, tuned),
            _count_phrase(graph.sql, naive.sql, tuned.sql, "SQL statement"),
        ]
        lines.append(f"{prefix}: " + "; ".join(parts) + ".")
        lines.append(_winners({"rest_naive": naive, "rest_tuned": tuned, "graphql": graph}))
    if len(passes) > 1:
        lines.append(_cache_phrase(result, passes[0], passes[-1]))
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _count_phrase(graph: int, naive: int, tuned: int, word: str) -> str:
    if graph == naive == tuned:
        return f"{_plural(graph, word)}, like both REST variants"
    if naive == tuned:
        return f"{_plural(graph, word)} instead of {naive}"
    return f"{_plural(graph, word)} instead of {naive} (naive) or {tuned} (tuned)"


def _total(f: Figures) -> int:
    return f.request_bytes + f.response_bytes


def _bytes_phrase(graph: Figures, naive: Figures, tuned: Figures) -> str:
    def versus(rest: Figures, name: str) -> str:
        if _total(rest) == 0:
            return f"no bytes for {name}"
        change = (_total(rest) - _total(graph)) / _total(rest)
        if abs(change) < 0.005:
            return f"as many bytes as {name}"
        more_or_fewer = "fewer" if change > 0 else "more"
        return f"{abs(change):.0%} {more_or_fewer} bytes than {name}"

    return f"{versus(naive, 'REST naive')}, {versus(tuned, 'REST tuned')}"


def _winners(figures: dict[str, Figures]) -> str:
    def best(key: Callable[[Figures], float], close: float = 0.0) -> str:
        low = min(key(f) for f in figures.values())
        names = [
            VARIANT_TITLES[v] for v, f in figures.items() if key(f) <= low * (1 + close) + 1e-9
        ]
        if len(names) == len(figures):
            return "all three (tie)"
        return " and ".join(names) + (" (tie)" if len(names) > 1 else "")

    return (
        f"Fewest requests: {best(lambda f: f.requests)}; "
        f"fewest bytes: {best(lambda f: _total(f))}; "
        f"fewest SQL statements: {best(lambda f: f.sql)}; "
        # Within 10% is a tie: wall times on a busy machine wobble by that much.
        f"fastest: {best(lambda f: f.wall_ms, close=0.10)}."
    )


def _cache_phrase(result: ScenarioResult, cold: str, warm: str) -> str:
    parts = []
    for variant in ("rest_naive", "rest_tuned", "graphql"):
        before = result.variant(variant, cold).figures
        after = result.variant(variant, warm).figures
        parts.append(
            f"{VARIANT_TITLES[variant]} {before.sql} → {after.sql} SQL "
            f"(X-Cache {cache_text(before.cache)} → {cache_text(after.cache)})"
        )
    return f"From {cold} to {warm}: " + "; ".join(parts) + "."


def cache_text(cache: dict[str, int]) -> str:
    """`{"HIT": 3, "none": 1}` → `3 HIT, 1 none`; a single outcome alone: `HIT`."""
    if len(cache) == 1:
        return next(iter(cache))
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(cache.items()))


def size(n: float) -> str:
    """Bytes for people: `812 B`, `3.4 kB`, `1.2 MB` (decimal units)."""
    if n < 1000:
        return f"{n:.0f} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def _row(result: ScenarioResult, variant: VariantResult) -> list[str]:
    f = variant.figures
    return [
        result.scenario.name,
        variant.title,
        str(f.requests),
        size(f.request_bytes),
        size(f.response_bytes),
        str(f.sql),
        cache_text(f.cache),
        f"{f.server_ms:.1f} ms",
        f"{f.wall_ms:.1f} ms",
        f"{f.overfetch:.0%}",
    ]


def _rows(results: Sequence[ScenarioResult]) -> list[list[str]]:
    return [_row(r, v) for r in results for v in r.variants]


def markdown(results: Sequence[ScenarioResult]) -> str:
    """A GitHub-flavoured Markdown table, numbers right-aligned."""
    align = ["---", "---"] + ["--:"] * 4 + ["---"] + ["--:"] * 3
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    return "\n".join(lines) + "\n"


def table(results: Sequence[ScenarioResult]) -> str:
    """An aligned text table, then each scenario's reading."""
    rows = [list(COLUMNS), *_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    text_columns = {0, 1, 6}

    def line(row: list[str]) -> str:
        cells = [
            cell.ljust(w) if i in text_columns else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    out = [line(rows[0]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in rows[1:]]
    for result in results:
        out += ["", f"{result.scenario.name}:"] + [f"  {s}" for s in reading(result)]
    return "\n".join(out) + "\n"


def scenario_dict(result: ScenarioResult) -> dict[str, Any]:
    """One scenario's measurements as JSON-ready data (what the page draws)."""
    return {
        "scenario": describe(result.scenario),
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
        "signed_in": scenario.signed_in,
        "writes": scenario.writes,
        "passes": [p for p in scenario.passes if p],
    }

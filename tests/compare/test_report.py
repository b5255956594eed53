"""Renderings of measured results: the plain-words reading, text and Markdown tables, CSV
(with quoting), the profiles table, and the JSON documents the page and `--format json` use.

Results are built from calls with known figures, so every rendering can be checked exactly.
"""

from __future__ import annotations

import csv
import io

from gateway.compare import report
from gateway.compare.catalogue import SCENARIOS
from gateway.compare.network import LOOPBACK, PROFILES, Profile
from gateway.compare.options import RunOptions
from gateway.compare.recorder import Call
from gateway.compare.results import Figures, Run, ScenarioResult, VariantResult

FOUR_G = PROFILES["4g"]


def calls(n: int, *, sql: int = 1, cache: str = "MISS", received: int = 400) -> list[Call]:
    """`n` calls one after another, 10 ms each."""
    return [
        Call(
            method="GET",
            path=f"/api/v1/products/{i}",
            status=200,
            label="",
            start_ms=10.0 * i,
            duration_ms=10.0,
            request_bytes=100,
            response_bytes=received + 100,
            sql=sql,
            cache=cache,
            server_ms=2.0,
            json_bytes=received,
            needed_bytes=received // 4,
        )
        for i in range(n)
    ]


def variant(name: str, n: int, wall_ms: float, pass_: str = "", **kw: object) -> VariantResult:
    made = calls(n, **kw)  # type: ignore[arg-type]
    title = SCENARIOS["product-page"].title_of(name)
    return VariantResult(name, pass_, [Run(made, Figures.of(made, wall_ms))], title)


def product_page(network: Profile = LOOPBACK, graphql_wall: float = 10.0) -> ScenarioResult:
    return ScenarioResult(
        SCENARIOS["product-page"],
        1,
        [
            variant("rest_naive", 4, 40.0),
            variant("rest_tuned", 2, 20.0),
            variant("graphql", 1, graphql_wall),
        ],
        network,
    )


def test_reading_compares_graphql_with_each_rest_variant() -> None:
    assert report.reading(product_page()) == [
        "GraphQL: 1 request instead of 4 (naive) or 2 (tuned); 75% fewer bytes than REST naive, "
        "50% fewer bytes than REST tuned; 1 SQL statement instead of 4 (naive) or 2 (tuned).",
        "Fewest requests: GraphQL; fewest bytes: GraphQL; fewest SQL statements: GraphQL; "
        "fastest: GraphQL.",
    ]


def test_reading_calls_close_wall_times_a_tie_and_explains_a_shaped_network() -> None:
    # 21 ms is within 10% of REST tuned's 20 ms: a tie, not a win.
    lines = report.reading(product_page(FOUR_G, graphql_wall=21.0))
    assert lines[1].endswith("fastest: REST tuned and GraphQL (tie).")
    assert lines[2] == (
        "On 4G (60 ms, 10 Mbit/s), each round trip costs at least 60 ms: REST naive 40 ms "
        "(4 round trips in a row); REST tuned 20 ms (2 round trips in a row); GraphQL 21 ms "
        "(1 round trip in a row)."
    )


def test_reading_says_like_when_every_variant_agrees() -> None:
    same = ScenarioResult(
        SCENARIOS["product-cards"],
        1,
        [variant(v, 1, 10.0, sql=0, cache="HIT") for v in ("rest_naive", "rest_tuned", "graphql")],
    )
    first, second = report.reading(same)
    assert first == (
        "GraphQL: 1 request, like both REST variants; as many bytes as REST naive, as many "
        "bytes as REST tuned; 0 SQL statements, like both REST variants."
    )
    assert second == (
        "Fewest requests: all 3 (tie); fewest bytes: all 3 (tie); "
        "fewest SQL statements: all 3 (tie); fastest: all 3 (tie)."
    )


def test_reading_of_cold_and_warm_passes_ends_with_what_the_cache_saved() -> None:
    scenario = SCENARIOS["cache-cold-warm"]
    variants = []
    for name in scenario.variants:
        variants.append(variant(name, 2, 20.0, "cold", sql=1, cache="BYPASS"))
        variants.append(variant(name, 2, 5.0, "warm", sql=0, cache="HIT"))
    lines = report.reading(ScenarioResult(scenario, 1, variants))
    assert lines[0].startswith("Cold, GraphQL: 2 requests, like both REST variants;")
    assert lines[2].startswith("Warm, GraphQL: ")
    assert lines[-1] == (
        "From cold to warm: REST naive 2 → 0 SQL (X-Cache BYPASS → HIT); "
        "REST tuned 2 → 0 SQL (X-Cache BYPASS → HIT); GraphQL 2 → 0 SQL (X-Cache BYPASS → HIT)."
    )


def test_cache_text_and_sizes_for_people() -> None:
    assert report.cache_text({}) == "-"
    assert report.cache_text({"HIT": 3}) == "HIT"
    assert report.cache_text({"none": 1, "HIT": 3, "MISS": 2}) == "3 HIT, 2 MISS, 1 none"
    sizes = (0, 999, 999.5, 1000, 3449, 999_949, 999_950, 999_999, 1_000_000, 2_345_678)
    assert [report.size(n) for n in sizes] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "1.0 kB",
        "3.4 kB",
        "999.9 kB",
        # Never "1000.0 kB": a figure that rounds up to the next unit is shown in it.
        "1.0 MB",
        "1.0 MB",
        "1.0 MB",
        "2.3 MB",
    ]


def test_markdown_is_one_table_per_network_then_wall_time_side_by_side() -> None:
    results = [product_page(FOUR_G), product_page(LOOPBACK)]
    assert report.markdown(results).splitlines() == [
        "**Loopback (no added delay), cold cache**",
        "",
        "| " + " | ".join(report.COLUMNS) + " |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|",
        "| product-page | REST naive | 4 | 4 | 400 B | 2.0 kB | 4 | 0.0 ms | MISS | 8.0 ms "
        "| 40.0 ms | 75% |",
        "| product-page | REST tuned | 2 | 2 | 200 B | 1.0 kB | 2 | 0.0 ms | MISS | 4.0 ms "
        "| 20.0 ms | 75% |",
        "| product-page | GraphQL | 1 | 1 | 100 B | 500 B | 1 | 0.0 ms | MISS | 2.0 ms "
        "| 10.0 ms | 75% |",
        "",
        "**4G (60 ms, 10 Mbit/s), cold cache**",
        "",
        "| " + " | ".join(report.COLUMNS) + " |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|",
        "| product-page | REST naive | 4 | 4 | 400 B | 2.0 kB | 4 | 0.0 ms | MISS | 8.0 ms "
        "| 40.0 ms | 75% |",
        "| product-page | REST tuned | 2 | 2 | 200 B | 1.0 kB | 2 | 0.0 ms | MISS | 4.0 ms "
        "| 20.0 ms | 75% |",
        "| product-page | GraphQL | 1 | 1 | 100 B | 500 B | 1 | 0.0 ms | MISS | 2.0 ms "
        "| 10.0 ms | 75% |",
        "",
        "**Wall time per network profile**",
        "",
        "| scenario | variant | Loopback | 4G (60 ms) |",
        "|---|---|--:|--:|",
        "| product-page | REST naive | 40.0 ms (4) | 40.0 ms (4) |",
        "| product-page | REST tuned | 20.0 ms (2) | 20.0 ms (2) |",
        "| product-page | GraphQL | 10.0 ms (1) | 10.0 ms (1) |",
    ]


def test_text_table_aligns_numbers_right_and_words_left() -> None:
    text = report.table([product_page()])
    lines = text.splitlines()
    assert lines[0] == "Loopback (no added delay), cold cache:"
    head, rule, naive, tuned, graphql = lines[1:6]
    assert head.startswith("scenario      variant     requests  in a row")
    assert rule.split("  ")[:3] == ["-" * len("product-page"), "-" * len("REST naive"), "--------"]
    # Every row is as wide as the rule, but for trailing spaces cut off the last column.
    assert {len(line) for line in (head, naive, tuned, graphql)} == {len(rule)}
    assert naive.startswith("product-page  REST naive         4         4")
    assert graphql.startswith("product-page  GraphQL            1         1")
    assert lines[6:9] == ["", "product-page:", "  " + report.reading(product_page())[0]]
    # One network: no profiles table; the text ends with one newline.
    assert "Wall time per network profile" not in text and text.endswith(".\n")
    assert report.profiles_table([product_page()]) == []


def test_the_profiles_table_marks_a_variant_missing_on_a_network() -> None:
    partial = ScenarioResult(
        SCENARIOS["product-page"], 1, [variant("graphql", 1, 90.0)], PROFILES["slow-3g"]
    )
    lines = report.profiles_table([partial, product_page()])
    assert lines[0] == "Wall time per network profile:"
    rows = [line.split("  ") for line in lines[3:-1]]
    # Columns in the catalogue's order of networks, whatever order the results came in.
    assert [[c.strip() for c in row if c.strip()] for row in rows] == [
        ["product-page", "REST naive", "40.0 ms (4)", "-"],
        ["product-page", "REST tuned", "20.0 ms (2)", "-"],
        ["product-page", "GraphQL", "10.0 ms (1)", "90.0 ms (1)"],
    ]
    assert lines[1].split()[-4:] == ["Slow", "3G", "(300", "ms)"]


def test_csv_has_a_row_per_variant_and_quotes_what_needs_it() -> None:
    mixed = product_page(FOUR_G)
    both = calls(1, cache="HIT") + calls(1, cache="MISS")
    mixed.variants[2] = VariantResult(
        "graphql", "", [Run(both, Figures.of(both, 12.345))], "GraphQL"
    )
    text = report.csv([mixed])
    assert text.splitlines()[0] == ",".join(report.CSV_COLUMNS)
    assert text.splitlines()[3] == (
        "product-page,4g,60,10,cold,graphql,,GraphQL,1,2,1,200,1000,2,0.00,4.00,12.35,0.7500,"
        '"1 HIT, 1 MISS"'
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["variant"] for r in rows] == ["rest_naive", "rest_tuned", "graphql"]
    assert rows[2]["cache"] == "1 HIT, 1 MISS"
    assert (
        report.csv([product_page()])
        .splitlines()[1]
        .startswith("product-page,loopback,0,,cold,rest_naive,")
    )


def test_the_run_document_gathers_each_scenarios_profiles_with_its_link_and_command() -> None:
    options = RunOptions("product-page", ("loopback", "4g"), "cold", 1)
    document = report.run_document(
        [product_page(), product_page(FOUR_G)], [options], page="/mounted/compare"
    )
    (entry,) = document["scenarios"]
    assert entry["link"] == (
        "/mounted/compare?scenario=product-page&network=loopback%2C4g&cache=cold&repeat=1"
    )
    assert entry["command"] == options.command() and entry["options"] == options.as_dict()
    assert [p["network"]["name"] for p in entry["profiles"]] == ["loopback", "4g"]
    assert entry["profiles"][1]["network"]["label"] == "4G (60 ms, 10 Mbit/s)"
    assert "scenario" not in entry["profiles"][0]
    assert entry["profiles"][0]["reading"] == report.reading(product_page())
    assert document["csv"] == report.csv([product_page(), product_page(FOUR_G)])


def test_describe_lists_a_scenario_as_the_page_shows_it() -> None:
    described = report.describe(SCENARIOS["http-caching"])
    assert described["variants"] == [
        {"variant": "rest_tuned", "title": "REST GET"},
        {"variant": "graphql", "title": "GraphQL POST"},
        {"variant": "graphql_get", "title": "GraphQL GET"},
    ]
    assert described["passes"] == ["first visit", "within 30 s", "after 30 s"]
    assert described["needs"]["product"] == sorted(described["needs"]["product"])
    assert described["own_cache_modes"] is False
    assert report.describe(SCENARIOS["cache-cold-warm"])["own_cache_modes"] is True
    cards = report.describe(SCENARIOS["product-cards"])
    assert (cards["passes"], cards["signed_in"], cards["writes"]) == ([], False, False)
    assert cards["graphql"] == [SCENARIOS["product-cards"].graphql[0].document]

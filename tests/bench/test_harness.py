"""The benchmark harness's pure parts work, so CI catches a broken harness without load.

Nothing here starts a server or measures a timing (STYLE rule 11): wrk output parsing,
percentiles, the run plan, the workloads' requests, and the report from a fake result.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from bench import documents, floor, pyload, report, targets, wrk
from bench.plan import Options, plan, run_count, selected
from bench.progress import Progress
from bench.stats import LoadResult, latency_summary, percentile
from bench.workloads import DETAIL_DOCUMENT, ORDER, Catalogue, candidates

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8000
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms  300.00us   9.00ms   90.00%
  2000 requests in 2.00s, 1.00MB read
Requests/sec:   1000.00
BENCH_JSON {"requests":2000,"duration_us":2000000,"bytes":1048576,"errors":{"connect":0,"read":1,"write":0,"status":3,"timeout":0},"latency_us":{"p50":1000.0,"p90":1500.0,"p99":4000.0,"p999":8000.0,"mean":1100.0,"max":9000.0},"statuses":{"200":1997,"503":3},"cache":{"HIT":1500,"MISS":500},"query_count_sum":500.0,"query_count_samples":2000}
"""

CATALOGUE = Catalogue(tuple(range(1, 501)), 7, (7, 9, 11), admin_token="token")


def test_wrk_output_is_parsed_into_a_load_result() -> None:
    result = wrk.parse(WRK_OUTPUT)
    assert result.requests == 2000
    assert result.throughput == pytest.approx(1000)
    assert result.latency_ms["p50"] == pytest.approx(1.0)
    assert result.latency_ms["p99"] == pytest.approx(4.0)
    assert result.errors == {"status": 3, "connect": 0, "read": 1, "write": 0, "timeout": 0}
    assert result.error_rate == pytest.approx(4 / 2001)
    assert result.sql_per_request == pytest.approx(0.25)
    assert result.cache_hit_share == pytest.approx(0.75)


def test_wrk_output_without_the_report_line_is_refused() -> None:
    with pytest.raises(ValueError, match="BENCH_JSON"):
        wrk.parse("Running 2s test\nunable to connect to 127.0.0.1:1 Connection refused\n")


def test_lua_strings_keep_every_byte() -> None:
    assert wrk.lua_string(b'GET / HTTP/1.1\r\n"x"\\1') == (
        '"GET / HTTP/1.1\\013\\010\\034x\\034\\0921"'
    )


def test_the_wrk_script_holds_every_call_and_reports_json() -> None:
    workload = candidates(CATALOGUE)["rest.detail.miss"][0]
    script = wrk.script(workload.calls, "127.0.0.1:8000")
    assert script.count("HTTP/1.1\\013\\010Host: 127.0.0.1:8000") == 500
    for hook in ("function request()", "function response(", "function done(", "BENCH_JSON"):
        assert hook in script


def test_percentiles_interpolate_like_numpy() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile(list(range(101)), 99) == pytest.approx(99)
    summary = latency_summary([0.001] * 99 + [0.1])
    assert summary["p50"] == pytest.approx(1.0)
    assert summary["max"] == pytest.approx(100.0)
    assert set(summary) == {"p50", "p90", "p99", "p999", "mean", "max"}


def test_the_full_plan_fits_in_about_ten_minutes() -> None:
    phases = plan(Options(), cache_switch=True)
    assert [(p.server, p.cache, p.workers) for p in phases] == [
        ("gateway", "on", 1),
        ("floor", None, 1),
        ("floor", None, 1),
        ("gateway", "off", 1),
        ("gateway", "on", 2),
        ("gateway", "on", 4),
    ]
    # The bare ASGI floor, then the framework floor: one Starlette route, same body.
    assert [p.steps[0].workload for p in phases if p.server == "floor"] == [
        "floor",
        "floor.starlette",
    ]
    runs = run_count(phases)
    assert runs * (Options().duration + Options().warmup) < 8 * 60
    connections = {s.connections for p in phases for s in p.steps if s.group == "connections"}
    assert connections == {16, 256}


def test_without_a_cache_switch_the_cache_off_phase_is_left_out() -> None:
    phases = plan(Options(only=("rest.*",)), cache_switch=False)
    assert all(p.cache != "off" for p in phases)
    assert selected(Options(only=("rest.*",))) == [n for n in ORDER if n.startswith("rest.")]


def test_workloads_send_what_they_promise() -> None:
    every = candidates(CATALOGUE)
    assert set(every) == set(ORDER)
    miss = every["rest.detail.miss"][0].calls
    assert sorted(int(c.path.rsplit("/", 1)[1]) for c in miss) == list(range(1, 501))
    mix = every["mix"][0].calls
    writes = [c for c in mix if c.method == "PATCH"]
    assert 0.07 < len(writes) / len(mix) < 0.13
    assert all(("Authorization", "Bearer token") in c.headers for c in writes)
    assert all(0 <= orjson.loads(c.body)["stock"] <= 500 for c in writes)
    persisted = every["graphql.persisted"][0]
    query = parse_qs(urlsplit(persisted.calls[0].path).query)
    sent = json.loads(query["extensions"][0])["persistedQuery"]["sha256Hash"]
    assert sent == hashlib.sha256(DETAIL_DOCUMENT.encode()).hexdigest()
    assert orjson.loads(persisted.setup[0].body)["query"] == DETAIL_DOCUMENT
    raw = every["graphql.page"][0].calls[0].raw("h:1")
    head, body = raw.split(b"\r\n\r\n", 1)
    assert f"Content-Length: {len(body)}".encode() in head


def test_the_floor_body_has_the_size_asked_for() -> None:
    for size in (24, 100, 517):
        body = floor.constant_body(size)
        assert len(body) == size
        assert orjson.loads(body)["data"]


def test_the_python_load_generator_reads_responses() -> None:
    async def read() -> tuple[int, dict[str, str], int]:
        reader = asyncio.StreamReader()
        reader.feed_data(b"HTTP/1.1 200 OK\r\nX-Query-Count: 2\r\nContent-Length: 2\r\n\r\n{}")
        reader.feed_data(b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n")
        reader.feed_data(b"2\r\n{}\r\n0\r\n\r\n")
        first = await pyload.read_response(reader)
        second = await pyload.read_response(reader)
        assert second[0] == 404
        return first

    status, headers, size = asyncio.run(read())
    assert (status, headers["x-query-count"], size) == (200, "2", 58)


def _fake_results() -> dict[str, object]:
    def run_of(workload: str, rps: float, **extra: object) -> dict[str, object]:
        record: dict[str, object] = {
            "workload": workload,
            "style": workload.split(".")[0] if "." in workload else "floor",
            "pair": extra.pop("pair", None),
            "variant": "as specified",
            "group": "main",
            "server": "floor" if workload == "floor" else "gateway",
            "cache": None if workload == "floor" else "on",
            "workers": 1,
            "connections": 64,
            "duration_s": 10.0,
            "requests": int(rps * 10),
            "throughput_rps": rps,
            "ops_per_s": rps,
            "calls_per_op": 1,
            "latency_ms": {"p50": 2.0, "p90": 3.0, "p99": 9.5, "p999": 20.0, "mean": 2.5},
            "errors": {"status": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0},
            "error_rate": 0.0,
            "statuses": {"200": int(rps * 10)},
            "sql_per_request": 1.0,
            "cache_outcomes": {"HIT": 9, "MISS": 1},
            "cache_hit_share": 0.9,
            "rss_peak_mb": [96.0],
            "cpu_ms_per_request": 0.4,
        }
        record.update(extra)
        return record

    crowded = run_of("rest.detail.hit", 1500, group="connections", connections=256)
    crowded["errors"] = {"status": 3, "connect": 0, "read": 0, "write": 0, "timeout": 2}
    crowded["statuses"] = {"200": 14997, "503": 3}
    return {
        "stamp": "2025-01-01-000000",
        "machine": {"cpus": 2, "platform": "Linux", "python": "3.11", "load_generator": "wrk"},
        "options": {
            "duration": 10,
            "warmup": 2,
            "connections": 64,
            "workers": 1,
            "scaling_workers": [1, 2, 4],
            "scaling_connections": [16, 64, 256],
            "scaling_workloads": ["rest.detail.hit", "graphql.page"],
        },
        "dataset": {"scale": "bench", "products": 10000, "seed_seconds": 3.3},
        "backends": {"database": "embedded", "redis": "embedded"},
        "workloads": {
            "floor": {"available": True, "variant": "as specified"},
            "rest.detail.hit": {"available": True, "variant": "as specified"},
            "rest.page": {"available": True, "variant": "as specified"},
            "graphql.page": {"available": True, "variant": "as specified"},
            "graphql.persisted": {"available": False, "reason": "GET answered 405"},
        },
        "runs": [
            run_of("floor", 10_000),
            run_of("rest.detail.hit", 6000, pair="detail-hit"),
            run_of("rest.detail.hit", 2000, pair="detail-hit", cache="off"),
            run_of("rest.page", 1000, pair="page"),
            run_of("graphql.page", 600, pair="page", rss_peak_mb=[180.0]),
            run_of("rest.detail.hit", 9000, group="workers", workers=2),
            crowded,
        ],
        "data_layer": {
            "calls_per_statement": 100,
            "ratio": 1.1,
            "statements": [
                {
                    "statement": "products.by_id",
                    "raw_cpu_us": 100.0,
                    "gateway_cpu_us": 110.0,
                    "ratio": 1.1,
                    "databases_cpu_us": 200.0,
                }
            ],
        },
        "notes": ["a note"],
    }


def test_targets_are_judged_with_their_ratios() -> None:
    verdicts = [
        (t["met"], None if t["ratio"] is None else round(t["ratio"], 2))
        for t in targets.targets(_fake_results())
    ]
    # floor share, data layer, GraphQL page share, errors at 256, RSS (180 MB of 150)
    assert verdicts == [(True, 0.6), (True, 1.1), (False, 0.6), (False, None), (False, 1.2)]


def test_the_markdown_report_renders_from_a_fake_result(tmp_path: Path) -> None:
    results = _fake_results()
    text = report.markdown(results, ["x-throughput.png"])
    for expected in (
        "## Targets",
        "**met**",
        "**missed**",
        "`rest.detail.hit`",
        "## REST vs GraphQL",
        "| `rest.detail.hit` | 6,000 | 2,000 | 3.00 |",
        "| nested product page | 1,000 | 600 | 0.60 |",
        "2 workers",
        "256 connections",
        # Errors say what they were: statuses outside 2xx/3xx and socket errors.
        "| zero errors at 256 connections | 5 errors in 15,000 requests (1 runs; 503 x 3, "
        "timeout x 2) |",
        "5 errors (503 x 3, timeout x 2)",
        "## Data layer",
        "`graphql.persisted` not run: GET answered 405",
        "![x-throughput.png](x-throughput.png)",
    ):
        assert expected in text, expected
    markdown, pictures = documents.write(results, tmp_path, draw=False)
    assert pictures == []
    assert "## Targets" in markdown.read_text()
    assert "![" not in markdown.read_text()
    assert json.loads((tmp_path / "2025-01-01-000000.json").read_text())["stamp"]


def test_the_readme_block_between_the_markers_is_replaced(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{documents.README_START}\nold\n{documents.README_END}\n\n## After\n")
    picture = tmp_path / "2025-01-01-000000-throughput.png"
    assert documents.update_readme(_fake_results(), [picture], readme)
    text = readme.read_text()
    assert "old" not in text
    assert text.endswith(f"{documents.README_END}\n\n## After\n")
    assert "**missed**" in text
    assert "![throughput](bench/results/2025-01-01-000000-throughput.png)" in text
    unmarked = tmp_path / "unmarked.md"
    unmarked.write_text("# nothing to replace\n")
    assert not documents.update_readme(_fake_results(), [], unmarked)
    assert unmarked.read_text() == "# nothing to replace\n"


def test_progress_prints_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(2, 12, stream)
    progress.start("rest.list", 12)
    progress.tick(3)
    progress.done("1,000 req/s")
    assert stream.getvalue().splitlines() == [
        "[1/2] rest.list ...",
        "[1/2] rest.list" + " " * 35 + " 1,000 req/s",
    ]
    assert isinstance(LoadResult(1, 1.0, {}).throughput, float)

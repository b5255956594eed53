"""What gateway/cli/compare.py decides: the `gateway compare` arguments and their refusals
(exit 2 with a message), `--scenario list`, the progress output, whether a gateway answers,
and measuring a gateway it serves in this process (exit 0 with the report, 1 when the
target does not answer)."""

from __future__ import annotations

import argparse
import io
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from gateway.cli import compare
from gateway.compare.catalogue import SCENARIOS
from gateway.compare.network import PROFILES
from gateway.settings import Settings
from tests.conftest import app_settings, run_sql


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gateway")
    compare.register(parser.add_subparsers())
    return parser.parse_args(["compare", *argv])


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def served(database_url: str, redis_url: str) -> Iterator[str]:
    """A gateway served by compare's own in-process server, on a few tags."""
    run_sql(database_url, "INSERT INTO tags (name) SELECT 'tag-' || n FROM generate_series(1, 3) n")
    settings = app_settings(
        database_url,
        redis_url,
        rate_limit_per_minute=1_000_000,
        cache_enabled=True,
    )
    # compare quiets these loggers for its progress bar; the rest of the session gets them back.
    loggers = [logging.getLogger(name) for name in ("gateway.access", "uvicorn.error", "httpx")]
    levels = [logger.level for logger in loggers]
    try:
        with compare._serving(settings) as url:
            yield url
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def test_scenario_list_names_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert compare.run(Settings(), parse("--scenario", "list")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)
    assert lines[0].endswith(SCENARIOS[lines[0].split()[0]].title)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--repeat", "0"), "--repeat must be 1 or more"),
        (("--network", "moon"), "unknown network 'moon'"),
        (("--network", ","), "name at least one network"),
        (("--scenario", "nope"), "unknown scenario 'nope' (scenarios: product-cards,"),
        (("--rest", "/api/v1/tags"), "--rest and --variables go with --graphql"),
        (("--variables", "{}"), "--rest and --variables go with --graphql"),
        (("--graphql", "q.graphql", "--scenario", "search"), "leave out --scenario"),
        (("--graphql", "q.graphql"), "--graphql needs --rest"),
        (("--graphql", "missing.graphql", "--rest", "/api/v1/tags"), "--graphql: cannot read"),
        (
            ("--graphql", "q.graphql", "--rest", "/api/v1/tags", "--variables", "{"),
            "--variables is not JSON",
        ),
        (
            ("--graphql", "q.graphql", "--rest", "/api/v1/tags", "--variables", "[1]"),
            "--variables must be a JSON object",
        ),
        (("--graphql", "q.graphql", "--rest", "/tags"), "--rest: "),
        (("--graphql", "bad.graphql", "--rest", "/api/v1/tags"), "--graphql: Syntax Error"),
    ],
)
def test_bad_input_is_exit_2_with_a_message(
    argv: tuple[str, ...],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q.graphql").write_text("{ tags(first: 2) { edges { node { name } } } }")
    (tmp_path / "bad.graphql").write_text("{ tags(first: 2 { name } }")
    # A closed --url: a refusal must come before any attempt to reach it.
    url = f"http://127.0.0.1:{closed_port()}"
    assert compare.run(Settings(), parse("--url", url, *argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("gateway compare: ")
    assert message in err


def test_the_plan_holds_the_options_asked_for() -> None:
    args = parse(
        "--scenario", "search", "--scenario", "product-page", "--network", "all", "--repeat", "2"
    )
    plan = compare._plan(args, args.scenario)
    assert [scenario.name for scenario, _ in plan] == ["search", "product-page"]
    options = plan[0][1]
    assert options.repeat == 2 and options.cache == "cold"
    assert options.networks == tuple(PROFILES)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_off_a_terminal_is_a_line_per_finished_scenario() -> None:
    stream = io.StringIO()
    progress = compare.Progress(4, stream)
    for label in ("a · rest", "a · graphql", "b · rest", "b · graphql"):
        progress.step(label)
    progress.close()
    assert stream.getvalue() == "compare: a done\ncompare: b done\n"


def test_progress_on_a_terminal_is_a_bar_that_clears_itself() -> None:
    stream = Terminal()
    progress = compare.Progress(4, stream, width=8)
    progress.step("a · rest")
    assert stream.getvalue() == "\r██░░░░░░ 1/4 " + "a · rest".ljust(40)
    progress.close()
    assert stream.getvalue().endswith("\r" + " " * 58 + "\r")


def test_only_a_gateway_answers(served: str) -> None:
    assert compare._answers(served)
    assert not compare._answers(f"http://127.0.0.1:{closed_port()}")


def test_a_target_that_does_not_answer_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    args = parse("--url", url, "--scenario", "search", "--repeat", "1")
    assert compare.run(Settings(), args) == 1
    assert capsys.readouterr().err.startswith(f"gateway compare: {url}: ")


def test_measuring_your_own_scenario_prints_the_report(
    served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "tags.graphql"
    query.write_text("{ tags(first: 3) { edges { node { id name } } } }")
    argv = ("--url", served, "--graphql", str(query), "--rest", "/api/v1/tags?limit=3")
    assert compare.run(Settings(), parse(*argv, "--repeat", "1", "--format", "json")) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["target"] == served
    assert "csv" not in report
    assert compare.run(Settings(), parse(*argv, "--repeat", "1", "--format", "csv")) == 0
    csv = capsys.readouterr().out
    assert csv.splitlines()[0].startswith("scenario") and "custom" in csv


def test_without_url_it_measures_the_gateway_already_running(
    served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "tags.graphql"
    query.write_text("{ tags(first: 1) { edges { node { id } } } }")
    host, port = served.removeprefix("http://").split(":")
    argv = ("--graphql", str(query), "--rest", "/api/v1/tags?limit=1", "--repeat", "1")
    assert compare.run(Settings(host=host, port=int(port)), parse(*argv, "--format", "json")) == 0
    assert orjson.loads(capsys.readouterr().out)["target"] == served

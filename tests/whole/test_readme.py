"""The README stays true: quick start, configuration table and commands match the code."""

from __future__ import annotations

import re

from gateway.cli.commands import _parser
from gateway.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    section = re.search(r"(?ms)^## Quick start\n(.*?)^## ", README)
    assert section, "README has no Quick start section"
    blocks = re.findall(r"```\w*\n(.*?)```", section.group(1), re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_quick_start_is_exactly_run_and_test_and_ci_runs_the_test_command() -> None:
    assert quick_start_commands() == ["make run", "make test"]
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_configuration_table_lists_exactly_the_variables_the_settings_read() -> None:
    source = (PROJECT_ROOT / "gateway" / "settings.py").read_text()
    # Every environment variable name is a quoted UPPER_SNAKE literal in settings.py.
    read = set(re.findall(r'"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"', source))
    table = re.search(r"(?ms)^## Configuration\n(.*?)^## ", README)
    assert table
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table.group(1), re.M))
    assert documented == read


def test_every_subcommand_is_documented() -> None:
    parser = _parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert subcommands
    for name in subcommands:
        assert f"`gateway {name}" in README, name

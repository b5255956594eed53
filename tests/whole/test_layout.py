"""The test tree mirrors the package, so the tests of a module are where a newcomer looks.

A module `gateway/<package>/<module>.py` is tested by `tests/<package>/test_<module>.py`
(or `test_<module>_<aspect>.py` when one aspect needs servers of its own, say), a shared
module `gateway/<module>.py` by `tests/test_<module>.py`, the benchmark harness by
`tests/bench/`; tests of the product as a whole (deployment files, the README, failure
drills) live in `tests/whole/`. Modules without behaviour of their own are listed below
with the reason; everything else needs its test module, and every test module must name
a module that exists.
"""

from __future__ import annotations

from pathlib import Path

from gateway.settings import PROJECT_ROOT

GATEWAY = PROJECT_ROOT / "gateway"
TESTS = PROJECT_ROOT / "tests"
BENCH = PROJECT_ROOT / "bench"

WITHOUT_BEHAVIOUR = {
    "__main__.py": "`python -m gateway`: calls gateway.cli.commands.main (tests/cli/test_commands.py)",
    "cache/interface.py": "declarations: the Cache protocol, Lease, CacheUnavailable",
    "services/resources.py": "a frozen dataclass of the process resources every service takes",
}
"""Modules with nothing of their own to test, by path under gateway/, and why."""

# Tests whose subject is more than one module: not bound to a module name.
FREE = {TESTS / "whole", TESTS / "bench"}


def _modules() -> list[Path]:
    return sorted(p.relative_to(GATEWAY) for p in GATEWAY.rglob("*.py"))


def _subject(module: Path) -> tuple[Path, str]:
    """The test directory and the test-module stem a gateway module is tested by."""
    return TESTS / module.parent, f"test_{module.stem}"


def _tests() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "node_modules" not in p.parts)


def _names(stem: str, module_stems: set[str]) -> bool:
    """Whether a test module's stem names one of `module_stems`, whole or with an aspect."""
    return any(stem == f"test_{m}" or stem.startswith(f"test_{m}_") for m in module_stems)


def test_every_module_with_behaviour_has_its_test_module() -> None:
    missing = []
    for module in _modules():
        if module.name == "__init__.py" or str(module) in WITHOUT_BEHAVIOUR:
            continue
        directory, stem = _subject(module)
        if not _names_any(directory, stem):
            missing.append(f"gateway/{module} -> {directory.relative_to(PROJECT_ROOT)}/{stem}.py")
    assert not missing, "modules without a test module:\n" + "\n".join(missing)


def _names_any(directory: Path, stem: str) -> bool:
    """Whether `directory` holds the test module `stem`, whole or with an aspect."""
    module = stem.removeprefix("test_")
    return any(_names(p.stem, {module}) for p in directory.glob("test_*.py"))


def test_every_test_module_names_a_module_that_exists() -> None:
    orphans = []
    for test in _tests():
        directory = test.parent
        if any(directory == free or free in directory.parents for free in FREE):
            continue
        source = GATEWAY / directory.relative_to(TESTS)
        stems = {p.stem for p in source.glob("*.py")} if source.is_dir() else set()
        if not _names(test.stem, stems):
            orphans.append(str(test.relative_to(PROJECT_ROOT)))
    assert not orphans, "test modules that name no gateway module:\n" + "\n".join(orphans)


def test_the_bench_tests_name_the_harness_they_test() -> None:
    stems = {p.stem for p in BENCH.glob("*.py")} | {"harness"}
    for test in (TESTS / "bench").glob("test_*.py"):
        assert _names(test.stem, stems), test


def test_the_listed_exceptions_are_real_modules() -> None:
    for path in WITHOUT_BEHAVIOUR:
        assert (GATEWAY / path).is_file(), path
        directory, stem = _subject(Path(path))
        assert not _names_any(directory, stem), f"{path} is listed but has a test module"


def test_every_test_package_is_a_package() -> None:
    # One basename (test_errors.py) may appear in two packages only when each is a package.
    for directory in {t.parent for t in _tests()}:
        assert (directory / "__init__.py").is_file(), directory


def test_a_module_over_400_lines_says_why_at_its_top() -> None:
    unexplained = []
    for module in _modules():
        lines = (GATEWAY / module).read_text().splitlines()
        if len(lines) > 400 and not any(
            line.lstrip('"').startswith("Over 400 lines:") for line in lines[:5]
        ):
            unexplained.append(f"gateway/{module} ({len(lines)} lines)")
    assert not unexplained, "long modules that do not say why:\n" + "\n".join(unexplained)

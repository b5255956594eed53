"""`python -m bench.scaleout --smoke` runs on real servers and reports both configurations.

It is a benchmark, so nothing here looks at a figure's size (STYLE rule 11): the run must
finish, load both gateways of each configuration without an error, never touch a standby
where none is configured, and find the two gateways answering alike and as the primary's
rows hold. (Which server ran how many transactions is read after a short wait in a smoke
run, shorter than the 10 s PostgreSQL may take to publish a busy backend's counts, so only
the exact zero is checked here; tests/db/test_database_replica.py proves the routing.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.settings import PROJECT_ROOT
from tests.replication import binaries_missing

pytestmark = pytest.mark.slow


def test_the_smoke_run_measures_both_configurations(tmp_path: Path) -> None:
    missing = binaries_missing()
    if missing:
        pytest.skip(f"no replica can be started here: {missing}")
    done = subprocess.run(
        [sys.executable, "-m", "bench.scaleout", "--smoke", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [written] = tmp_path.glob("*-scaleout.json")
    result = json.loads(written.read_text())
    runs = {(r["configuration"], r["workload"]): r for r in result["runs"]}
    configurations = ("replica+cluster", "single")
    assert set(runs) == {(c, w) for c in configurations for w in ("read", "mix")}
    for run in runs.values():
        assert run["cache"] == "on"
        assert [g["requests"] > 0 for g in run["gateways"]] == [True, True]
        assert run["errors"] == 0
    for run in runs.values():
        assert set(run["transactions"]) == {"primary", "standby"}
        assert min(run["transactions"].values()) >= 0
    for workload in ("read", "mix"):
        assert runs["single", workload]["transactions"]["standby"] == 0
    assert [(a["configuration"], a["after"]) for a in result["answers"]] == [
        (c, after) for c in configurations for after in ("read", "mix")
    ]
    for found in result["answers"]:
        assert (found["differ"], found["failed"], found["stale"]) == ([], [], []), found
    report = written.with_suffix(".md").read_text()
    assert "| replica+cluster | read | on |" in report
    assert "| single | mix | on |" in report

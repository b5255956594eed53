"""`python -m bench.pipeline_stages --smoke` runs against real servers and reports every stage.

It is a benchmark, so nothing here looks at a figure's size (STYLE rule 11): the script must
finish, check that each variant really ran its stage (it refuses otherwise), and print and
write one row per stage of the pipeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
import redis

from bench.pipeline_stages import STAGES
from gateway.settings import PROJECT_ROOT

pytestmark = pytest.mark.anyio


async def _bench_databases(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'gwbench_%'")
    finally:
        await conn.close()
    return {row["datname"] for row in rows}


async def test_the_smoke_run_reports_a_row_per_stage(
    pg_admin_url: str, redis_url: str, tmp_path: Path
) -> None:
    before = await _bench_databases(pg_admin_url)
    figures = tmp_path / "stages.json"
    env = {**os.environ, "DATABASE_URL": pg_admin_url, "REDIS_URL": redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_stages", "--smoke", "--json", str(figures)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(figures.read_text())
    names = [stage.name for stage in STAGES]
    assert [row["stage"] for row in result["stages"]] == names
    for row in result["stages"]:
        assert isinstance(row["wall_us"], float)
        assert isinstance(row["cpu_us"], float)
    assert result["costliest_wall"] in names
    assert result["costliest_cpu"] in names
    for name in names:
        assert f"| {name} |" in done.stdout
    # It ran on a database of its own and left neither it nor its keys behind.
    assert await _bench_databases(pg_admin_url) == before
    client = redis.Redis.from_url(redis_url)
    try:
        assert not list(client.scan_iter(match="gwbench-*"))
    finally:
        client.close()

"""Driving wrk: a generated Lua script replays a workload's calls and reports JSON.

The script hands wrk pre-built request bytes (cheap: no formatting per request), reads
`X-Query-Count`, `X-Cache` and the status of every answer in `response()`, and prints
one `BENCH_JSON {...}` line from `done()` with wrk's own latency percentiles. wrk has no
coordinated-omission correction (that is wrk2); latencies are per answered request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.stats import ERROR_KINDS, LoadResult
from bench.workloads import Call

MARKER = "BENCH_JSON "
TIMEOUT_SECONDS = 5
"""A request unanswered this long counts as a timeout error (wrk's default is 2 s)."""

_SCRIPT = r"""
local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_no", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  -- threads start at different places in the list, so they do not send the same ids;
  -- the warm-up starts elsewhere than the measured run (args[1]), which then starts cold
  local offset = tonumber(args[1] or "0") or 0
  index = (offset + thread_no * 7919) % #calls
  qsum, qn, statuses, cache = 0, 0, {}, {}
end

function request()
  index = index % #calls + 1
  return calls[index]
end

function response(status, headers, body)
  local s = tostring(status)
  statuses[s] = (statuses[s] or 0) + 1
  local q = tonumber(headers["x-query-count"] or headers["X-Query-Count"] or "")
  if q then
    qsum = qsum + q
    qn = qn + 1
  end
  local c = headers["x-cache"] or headers["X-Cache"]
  if c then
    c = string.upper(c)
    cache[c] = (cache[c] or 0) + 1
  end
end

local function encode(t)
  local parts = {}
  for k, v in pairs(t) do
    parts[#parts + 1] = '"' .. tostring(k) .. '":' .. string.format("%d", v)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local qs, qc, st, ca = 0, 0, {}, {}
  for _, t in ipairs(threads) do
    qs = qs + t:get("qsum")
    qc = qc + t:get("qn")
    for k, v in pairs(t:get("statuses")) do st[k] = (st[k] or 0) + v end
    for k, v in pairs(t:get("cache")) do ca[k] = (ca[k] or 0) + v end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"p999":%.1f,"mean":%.1f,"max":%.1f},' ..
    '"statuses":%s,"cache":%s,"query_count_sum":%.1f,"query_count_samples":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max,
    encode(st), encode(ca), qs, qc))
end
"""


def available() -> str | None:
    """The wrk binary on PATH, or None."""
    return shutil.which("wrk")


def version(binary: str) -> str:
    """wrk's version line (it prints it with its usage text)."""
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    # "wrk 4.2.0 [epoll] Copyright (C) 2012 Will Glozer": keep the name and version
    return lines[0].split(" [")[0].split(" Copyright")[0] if lines else "wrk (unknown version)"


def lua_string(data: bytes) -> str:
    """`data` as a double-quoted Lua string literal, byte for byte."""
    out = ['"']
    for byte in data:
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")  # three digits: a following digit cannot join it
    out.append('"')
    return "".join(out)


def script(calls: Sequence[Call], host: str) -> str:
    """The Lua script that replays `calls` against `host` and reports BENCH_JSON."""
    body = ",\n".join(lua_string(call.raw(host)) for call in calls)
    return f"calls = {{\n{body}\n}}\n{_SCRIPT}"


def parse(output: str) -> LoadResult:
    """The LoadResult in wrk's output (the BENCH_JSON line); ValueError when there is none."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise ValueError("wrk printed no BENCH_JSON line:\n" + output[-2000:])
    latency = {key: value / 1000 for key, value in data["latency_us"].items()}
    return LoadResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        latency_ms=latency,
        errors={kind: int(data["errors"].get(kind, 0)) for kind in ERROR_KINDS},
        statuses={str(k): int(v) for k, v in data["statuses"].items()},
        query_count_sum=float(data["query_count_sum"]),
        query_count_samples=int(data["query_count_samples"]),
        cache={str(k): int(v) for k, v in data["cache"].items()},
        bytes_read=int(data["bytes"]),
    )


def run(
    binary: str,
    url: str,
    script_path: Path,
    *,
    connections: int,
    seconds: int,
    threads: int,
    offset: int = 0,
    tick: Callable[[float], None] | None = None,
) -> LoadResult:
    """Run wrk for `seconds` from call number `offset`; what it measured.

    `tick(elapsed)` is called a few times a second while it runs.
    """
    threads = max(1, min(threads, connections))
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, seconds)}s"]
    command += [f"--timeout={TIMEOUT_SECONDS}s", "-s", str(script_path), url, "--", str(offset)]
    started = time.monotonic()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        while proc.poll() is None:
            if tick is not None:
                tick(time.monotonic() - started)
            time.sleep(0.25)
        output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}:\n{output[-2000:]}")
    return parse(output)

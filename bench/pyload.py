"""The Python load generator, used when wrk is not installed.

N keep-alive HTTP/1.1 connections on one event loop (uvloop when present) replay a
workload's pre-built request bytes in a closed loop, as wrk does. It shares the
machine's cores with the server and is much slower than wrk, so its figures are a
floor on what the server can do; the report names the generator that produced them.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bench.stats import ERROR_KINDS, LoadResult, latency_summary
from bench.workloads import Call

TIMEOUT_SECONDS = 5.0


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.cache: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.query_sum = 0.0
        self.query_samples = 0
        self.bytes_read = 0


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], int]:
    """One HTTP/1.1 response: (status, lower-cased headers, bytes read)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    size = len(head)
    if "content-length" in headers:
        size += len(await reader.readexactly(int(headers["content-length"])))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            chunk_head = await reader.readuntil(b"\r\n")
            length = int(chunk_head.split(b";")[0], 16)
            size += len(chunk_head) + len(await reader.readexactly(length + 2))
            if length == 0:
                break
    return status, headers, size


async def _connection(
    host: str, port: int, raws: Sequence[bytes], start: int, stop_at: float, tally: _Tally
) -> None:
    index = start
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.monotonic() < stop_at:
        if conn is None:
            try:
                conn = await asyncio.open_connection(host, port)
            except OSError:
                tally.errors["connect"] += 1
                await asyncio.sleep(0.05)
                continue
        reader, writer = conn
        data = raws[index % len(raws)]
        index += 1
        began = time.perf_counter()
        try:
            writer.write(data)
            status, headers, size = await asyncio.wait_for(read_response(reader), TIMEOUT_SECONDS)
        except TimeoutError:
            tally.errors["timeout"] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            tally.errors["read"] += 1
        else:
            _record(tally, time.perf_counter() - began, status, headers, size)
            if headers.get("connection", "").lower() != "close":
                continue
        writer.close()
        conn = None
    if conn is not None:
        conn[1].close()


def _record(tally: _Tally, seconds: float, status: int, headers: dict[str, str], size: int) -> None:
    tally.latencies.append(seconds)
    tally.statuses[str(status)] += 1
    tally.bytes_read += size
    if not 200 <= status < 400:
        tally.errors["status"] += 1
    query_count = headers.get("x-query-count")
    if query_count is not None and query_count.isdigit():
        tally.query_sum += int(query_count)
        tally.query_samples += 1
    if "x-cache" in headers:
        tally.cache[headers["x-cache"].upper()] += 1


async def _drive(
    host: str,
    port: int,
    calls: Sequence[Call],
    connections: int,
    seconds: float,
    offset: int,
    tick: Callable[[float], None] | None,
) -> LoadResult:
    raws = [call.raw(f"{host}:{port}") for call in calls]
    tally = _Tally()
    began = time.monotonic()
    stop_at = began + seconds
    step = max(1, len(raws) // max(1, connections))
    tasks = [
        asyncio.create_task(_connection(host, port, raws, offset + n * step, stop_at, tally))
        for n in range(connections)
    ]
    while not all(task.done() for task in tasks):
        if tick is not None:
            tick(time.monotonic() - began)
        await asyncio.wait(tasks, timeout=0.25)
    for task in tasks:
        task.result()
    elapsed = time.monotonic() - began
    return LoadResult(
        requests=len(tally.latencies),
        duration_s=elapsed,
        latency_ms=latency_summary(tally.latencies),
        errors={kind: tally.errors[kind] for kind in ERROR_KINDS},
        statuses=dict(tally.statuses),
        query_count_sum=tally.query_sum,
        query_count_samples=tally.query_samples,
        cache=dict(tally.cache),
        bytes_read=tally.bytes_read,
    )


def _run_loop(coroutine: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def run(
    host: str,
    port: int,
    calls: Sequence[Call],
    *,
    connections: int,
    seconds: float,
    offset: int = 0,
    tick: Callable[[float], None] | None = None,
) -> LoadResult:
    """Drive `connections` keep-alive connections for `seconds` from call number `offset`."""
    return _run_loop(_drive(host, port, calls, connections, seconds, offset, tick))

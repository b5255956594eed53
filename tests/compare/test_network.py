"""The shaping proxy: it really holds bytes back by the profile's round trip and bandwidth.

A small HTTP-like server of the test's own answers on a loopback port; the test measures
exchanges through the proxy with the clock. The profiles are made up and fast (tens of
milliseconds), so the module takes about a second; lower bounds are what the proxy
guarantees, upper bounds are generous for a busy machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from gateway.compare.network import PROFILES, RUNNER_HEADERS, Profile, ShapingProxy
from gateway.http.identity import CHARGE_HEADER, COMPARE_HEADER

pytestmark = pytest.mark.anyio

SLACK = 0.25  # seconds a busy machine may add on top of what the profile costs


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # A head in, an answer out, as in HTTP: "size ...\r\n\r\n" gets that many bytes back.
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            size = int(head.split(b" ")[0])
            writer.write(b"x" * size + b"\n")
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, int]]:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    try:
        yield ("127.0.0.1", server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, size: int
) -> float:
    began = time.perf_counter()
    writer.write(head + b"\r\n\r\n")
    await writer.drain()
    received = await reader.readexactly(size + 1)
    assert received == b"x" * size + b"\n"
    return time.perf_counter() - began


async def test_a_round_trip_costs_the_profiles_rtt_and_a_new_connection_one_more(
    upstream: tuple[str, int],
) -> None:
    profile = Profile("test", "Test", rtt_ms=60)
    async with ShapingProxy(upstream, profile) as proxy:
        began = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        first = await _exchange(reader, writer, b"10", 10)
        opened_to_answer = time.perf_counter() - began
        second = await _exchange(reader, writer, b"10", 10)
        writer.close()
        await writer.wait_closed()
    # The handshake's round trip, then the exchange's own.
    assert 0.120 <= opened_to_answer < 0.120 + SLACK
    assert first >= 0.110
    # On the open connection a request costs one round trip.
    assert 0.060 <= second < 0.060 + SLACK
    assert proxy.connections == 1


async def test_bandwidth_holds_a_large_answer_back(upstream: tuple[str, int]) -> None:
    profile = Profile("test", "Test", rtt_ms=10, mbit=8)  # a megabyte a second
    async with ShapingProxy(upstream, profile) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        await _exchange(reader, writer, b"1", 1)  # past the handshake
        large = await _exchange(reader, writer, b"300000", 300_000)
        writer.close()
        await writer.wait_closed()
    # 300 kB at 1 MB/s, plus the round trip.
    assert 0.310 <= large < 0.310 + SLACK


async def test_the_runners_own_headers_cost_no_simulated_time(upstream: tuple[str, int]) -> None:
    profile = Profile("test", "Test", rtt_ms=10, mbit=0.08)  # ten kilobytes a second
    seal = b"\r\nx-gateway-compare: " + b"s" * 1500 + b"\r\nX-Request-ID: " + b"r" * 500
    async with ShapingProxy(upstream, profile) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        await _exchange(reader, writer, b"1", 1)
        sealed = await _exchange(reader, writer, b"1 " + seal, 1)
        other = await _exchange(reader, writer, b"1 " + b"\r\nx-other: " + b"o" * 1500, 1)
        writer.close()
        await writer.wait_closed()
    # 2 kB of runner headers would take 200 ms at this rate; they take none. Any other
    # header is billed (1.5 kB: 150 ms).
    assert sealed < 0.010 + 0.010 + SLACK / 2
    assert other >= 0.150


def test_the_runners_headers_are_the_seals_and_the_request_id() -> None:
    assert RUNNER_HEADERS == (CHARGE_HEADER, COMPARE_HEADER, b"x-request-id")


def test_profiles_are_those_of_the_issue() -> None:
    figures = {name: (p.rtt_ms, p.mbit) for name, p in PROFILES.items()}
    assert figures == {
        "loopback": (0, None),
        "broadband": (20, 50),
        "4g": (60, 10),
        "slow-3g": (300, 0.4),
    }
    assert not PROFILES["loopback"].shaped
    assert PROFILES["4g"].label == "4G (60 ms, 10 Mbit/s)"

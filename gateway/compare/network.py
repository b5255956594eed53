"""Network profiles, and the shaping proxy that makes a loopback connection behave like one.

Compare's figures are measured, never estimated: to show what a round trip costs on a
phone, the runner sends a variant's requests through `ShapingProxy`, a TCP relay on a
loopback port of the measuring process that holds every byte back as a link with the
profile's round-trip time and bandwidth would, per connection and in each direction:

- a chunk that reaches the relay is transmitted once the link is free, taking
  `bytes * 8 / bandwidth`, and arrives half a round trip after it was sent;
- a new connection can carry data only one round trip after it opened (TCP's handshake),
  so the first request on each connection pays one round trip more;
- there is no loss, no slow start and no TLS: the figures are a floor for a real link.

The relay does not bill the headers only the runner sends (`RUNNER_HEADERS`: the seals
and the request id it uses for its own bookkeeping), so they cost no simulated time. The
browser-like limit of six connections per origin is the client's (`recorder`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import Final

# The runner's own headers: the seals (gateway.http.identity.CHARGE_HEADER,
# gateway.http.identity.COMPARE_HEADER; this module stays light enough for the CLI
# to import at start-up, and a test checks the names agree) and the request id.
RUNNER_HEADERS: Final = (b"x-gateway-charge-to", b"x-gateway-compare", b"x-request-id")
_UNBILLED = re.compile(
    rb"\r\n(?:" + b"|".join(re.escape(h) for h in RUNNER_HEADERS) + rb"):[^\r\n]*",
    re.IGNORECASE,
)
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Profile:
    """A network: round-trip time and bandwidth added to every connection (none: loopback)."""

    name: str
    title: str
    rtt_ms: float = 0.0
    mbit: float | None = None  # per connection and direction; None: as fast as loopback

    @property
    def shaped(self) -> bool:
        return self.rtt_ms > 0 or self.mbit is not None

    @property
    def label(self) -> str:
        """`4G (60 ms, 10 Mbit/s)`; loopback says what it is."""
        if not self.shaped:
            return f"{self.title} (no added delay)"
        rate = f", {self.mbit:g} Mbit/s" if self.mbit is not None else ""
        return f"{self.title} ({self.rtt_ms:g} ms{rate})"

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "title": self.title, "rtt_ms": self.rtt_ms, "mbit": self.mbit}


LOOPBACK = Profile("loopback", "Loopback")
PROFILES: Final = {
    p.name: p
    for p in (
        LOOPBACK,
        Profile("broadband", "Broadband", 20, 50),
        Profile("4g", "4G", 60, 10),
        Profile("slow-3g", "Slow 3G", 300, 0.4),
    )
}


class _Link:
    """One direction of one connection: when each chunk arrives at the far end."""

    def __init__(self, profile: Profile, free_at: float) -> None:
        self.delay = profile.rtt_ms / 2000
        self.bytes_per_second = None if profile.mbit is None else profile.mbit * 1e6 / 8
        self.free_at = free_at

    def arrival(self, now: float, size: int) -> float:
        start = max(now, self.free_at)
        sending = 0.0 if self.bytes_per_second is None else size / self.bytes_per_second
        self.free_at = start + sending
        return self.free_at + self.delay


class ShapingProxy:
    """A TCP relay from a free loopback port to `upstream`, shaped like `profile`.

    `async with ShapingProxy(("127.0.0.1", 8000), PROFILES["4g"]) as proxy:` then send
    requests to `proxy.url`; each accepted connection gets its own upstream connection.
    """

    def __init__(self, upstream: tuple[str, int], profile: Profile) -> None:
        self.upstream = upstream
        self.profile = profile
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ShapingProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        loop = asyncio.get_running_loop()
        opened = loop.time()
        try:
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                return
            try:
                # The handshake: the client's first bytes leave one round trip after it
                # connected; the server's answers can only follow them.
                uplink = _Link(self.profile, opened + self.profile.rtt_ms / 1000)
                downlink = _Link(self.profile, opened)
                await asyncio.gather(
                    _relay(reader, up_writer, uplink, unbilled=True),
                    _relay(up_reader, writer, downlink, unbilled=False),
                )
            finally:
                await _close(up_writer)
        except asyncio.CancelledError:
            # The proxy is closing. asyncio's server asks a handler task for its exception
            # when it ends, and a cancelled one would raise there: end this one normally.
            pass
        finally:
            await _close(writer)
            self._tasks.discard(task)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, asyncio.CancelledError):
        await writer.wait_closed()


async def _relay(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link, *, unbilled: bool
) -> None:
    """Copy `source` to `sink`, each chunk delivered when `link` says it arrives."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            at, data = await queue.get()
            wait = at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    if sink.can_write_eof():
                        sink.write_eof()
                return
            sink.write(data)
            await sink.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            try:
                data = await source.read(_CHUNK)
            except OSError:
                data = b""
            size = len(data)
            if unbilled and data:
                size -= sum(len(m.group()) for m in _UNBILLED.finditer(data))
            # End of stream travels like data: after what was sent before it.
            queue.put_nowait((link.arrival(loop.time(), size), data))
            if not data:
                break
        await delivering
    except OSError:
        pass
    finally:
        if not delivering.done():
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await delivering

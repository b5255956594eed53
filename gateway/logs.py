"""Logging set-up: one JSON object per line, so logs can be searched by request id."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

# LogRecord attributes that are not structured fields of our own.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JSONFormatter(logging.Formatter):
    """Render a record, with any `extra=` fields, as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


FLUSH_SECONDS = 0.5
"""How long an access-log line may wait in the buffer; every other line goes at once."""
BUFFERED = "gateway.access"
"""The logger whose lines (one per request) are buffered."""


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Lines to a block-buffered stream: an access-log line written from an event loop is
    flushed by that loop within FLUSH_SECONDS, or sooner by any other line, and at exit
    (`logging.shutdown`), so a request's access line costs no write of its own; every other
    line (and any line written outside an event loop) is flushed at once. No thread of its
    own: one stopped while holding the handler's lock would hang the process at exit."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.origin: object = None
        """The sys.stderr it was made for."""
        self._scheduled: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            buffered = record.name == BUFFERED and record.levelno < logging.WARNING
            if buffered and self._later():
                return
            # Everything else is rare, and takes any buffered lines out with it (the
            # server's own lines at shutdown included: uvicorn may end the process by its
            # signal, with no exit handlers).
            self.stream.flush()
        except Exception:
            self.handleError(record)

    def _later(self) -> bool:
        """Have the running loop flush soon; False when there is none to ask."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._scheduled is not loop:
            self._scheduled = loop
            loop.call_later(FLUSH_SECONDS, self._flush_scheduled)
        return True

    def _flush_scheduled(self) -> None:
        self._scheduled = None
        self.flush()


def _stderr() -> TextIO:
    """Standard error as a block-buffered stream of its own (its own descriptor 2), or
    sys.stderr itself when it has none (a test capturing it)."""
    try:
        descriptor = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.stderr
    return open(
        descriptor,
        "w",
        buffering=1 << 16,
        encoding="utf-8",
        errors="backslashreplace",
        closefd=False,
    )


_HANDLERS: list[LineHandler] = []


def _handler() -> LineHandler:
    """One handler per process, however often `configure` runs;
    a new one only when standard error changed (a test capturing it)."""
    stream = sys.stderr
    for handler in _HANDLERS:
        if handler.origin is stream:
            return handler
    handler = LineHandler(_stderr())
    handler.origin = stream
    handler.setFormatter(JSONFormatter())
    _HANDLERS.append(handler)
    return handler


def configure(level: str = "info") -> None:
    """Send the gateway's and uvicorn's logs to stderr as JSON lines, at `level`.

    Both entry points call it: `gateway serve` before it starts uvicorn, and the uvicorn
    factory (`gateway.app:app_from_env`) when it builds the app. Under the uvicorn command,
    that is after uvicorn applied its own logging set-up, which this replaces: uvicorn's
    loggers lose their handlers, levels and propagation settings and speak through ours.
    """
    # What no line of ours shows, so no record gathers it: the caller's file and line (a
    # walk up the stack per record), thread and process names (the logging docs'
    # "Optimization" section). The access log writes a line per request.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = _handler()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    # The gateway writes its own access log with request ids and query counts.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.disabled = True

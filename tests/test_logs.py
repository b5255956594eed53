"""gateway/logs.py: one JSON object per line, access lines buffered briefly, one handler."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from gateway.logs import BUFFERED, FLUSH_SECONDS, JSONFormatter, LineHandler, configure


def record(
    name: str = "gateway.test", level: int = logging.INFO, **extra: object
) -> logging.LogRecord:
    made = logging.getLogger(name).makeRecord(name, level, __file__, 1, "hello %s", ("you",), None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_record_is_one_json_line_with_its_extra_fields() -> None:
    line = JSONFormatter().format(
        record(request_id="r-1", status=200, _private="hidden", path=object())
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "hello you"
    assert (entry["level"], entry["logger"]) == ("info", "gateway.test")
    assert entry["time"].endswith("+00:00") and "." in entry["time"]
    assert (entry["request_id"], entry["status"]) == ("r-1", 200)
    # Values JSON cannot hold are written as text; private attributes stay out.
    assert entry["path"].startswith("<object object")
    assert "_private" not in entry
    # None of the LogRecord's own attributes leak in as fields.
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "status", "path"}


def test_an_exception_travels_with_its_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(JSONFormatter().format(made))
    assert entry["level"] == "error"
    assert entry["exception"].startswith("Traceback") and "ValueError: boom" in entry["exception"]


class Stream(io.StringIO):
    """A stream that remembers what had been written at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


def handler_on(stream: Stream) -> LineHandler:
    handler = LineHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    return handler


def test_outside_an_event_loop_every_line_is_flushed_at_once() -> None:
    stream = Stream()
    handler_on(stream).emit(record(BUFFERED))
    assert stream.flushed == ["gateway.access hello you\n"]


@pytest.mark.anyio
async def test_in_a_loop_access_lines_wait_for_the_loop_or_the_next_other_line() -> None:
    stream = Stream()
    handler = handler_on(stream)
    handler.emit(record(BUFFERED))
    handler.emit(record(BUFFERED))
    assert stream.flushed == []
    handler.emit(record("gateway.db"))  # any other line takes the access lines out with it
    assert stream.flushed == [
        "gateway.access hello you\ngateway.access hello you\ngateway.db hello you\n"
    ]
    # A warning on the access logger is not held back either.
    handler.emit(record(BUFFERED, logging.WARNING))
    assert len(stream.flushed) == 2
    # Left alone, the loop flushes a buffered line itself.
    handler.emit(record(BUFFERED))
    assert len(stream.flushed) == 2
    for _ in range(100):
        if len(stream.flushed) == 3:
            break
        await asyncio.sleep(FLUSH_SECONDS / 10)
    assert len(stream.flushed) == 3
    assert stream.flushed[-1].count("\n") == 5


@pytest.fixture
def logging_state() -> Iterator[None]:
    """configure() rewires the process's logging: put it back for the other tests."""
    root = logging.getLogger()
    names = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access")
    saved = [(root, root.handlers[:], root.level, root.propagate, root.disabled)]
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.level, logger.propagate, logger.disabled))
    flags = (logging._srcfile, logging.logThreads, logging.logProcesses)
    yield
    for logger, handlers, level, propagate, disabled in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled
    logging._srcfile, logging.logThreads, logging.logProcesses = flags


@pytest.mark.usefixtures("logging_state")
def test_configure_leaves_one_json_handler_however_often_it_runs() -> None:
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(logging.NullHandler())
    uvicorn_error.propagate = False
    configure("warning")
    root = logging.getLogger()
    (handler,) = root.handlers
    assert isinstance(handler, LineHandler)
    assert isinstance(handler.formatter, JSONFormatter)
    assert root.level == logging.WARNING
    # uvicorn's loggers speak through ours; its access log gives way to the gateway's.
    assert uvicorn_error.handlers == [] and uvicorn_error.propagate
    assert logging.getLogger("uvicorn.access").disabled
    configure("debug")
    assert root.handlers == [handler]
    assert root.level == logging.DEBUG

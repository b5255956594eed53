"""Logging set-up: one JSON object per line, so logs can be searched by request id."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

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


def configure(level: str = "info") -> None:
    """Send the gateway's and uvicorn's logs to stderr as JSON lines, at `level`.

    Both entry points call it: `gateway serve` before it starts uvicorn, and the uvicorn
    factory (`gateway.app:app_from_env`) when it builds the app. Under the uvicorn command,
    that is after uvicorn applied its own logging set-up, which this replaces: uvicorn's
    loggers lose their handlers, levels and propagation settings and speak through ours.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
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

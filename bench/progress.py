"""The progress display: a live bar on a terminal, plain lines otherwise (CI logs)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 24


def clock(seconds: float) -> str:
    """mm:ss (or h:mm:ss) for a duration."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def bar(fraction: float, width: int = _WIDTH) -> str:
    """A text bar `fraction` full."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


class Progress:
    """Counts runs; `tick` redraws the current one, `done` prints its result line."""

    def __init__(self, total: int, seconds_per_run: float, stream: TextIO | None = None) -> None:
        self.total = total
        self.seconds_per_run = seconds_per_run
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.count = 0
        self.began = time.monotonic()
        self._label = ""
        self._seconds = 0.0
        self._phase_began = 0.0
        self._drawn = False

    def note(self, text: str) -> None:
        """A line of its own (phase changes, start-ups)."""
        self._clear()
        print(text, file=self.stream, flush=True)

    def start(self, label: str, seconds: float) -> None:
        """A run of about `seconds` (warm-up included) begins."""
        self._label = label
        self._seconds = seconds
        self._phase_began = time.monotonic()
        if not self.live:
            print(f"{self._prefix()} {label} ...", file=self.stream, flush=True)

    def tick(self, elapsed: float | None = None) -> None:
        if not self.live:
            return
        spent = time.monotonic() - self._phase_began if elapsed is None else elapsed
        fraction = spent / self._seconds if self._seconds else 1.0
        left = (self.total - self.count - 1) * self.seconds_per_run + max(0, self._seconds - spent)
        line = (
            f"\r{self._prefix()} {self._label:<44} {bar(fraction)} "
            f"{clock(spent)}  elapsed {clock(time.monotonic() - self.began)}"
            f"  ~{clock(left)} left"
        )
        self.stream.write(line[:200] + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def done(self, summary: str) -> None:
        """The run finished; print its one-line summary."""
        self._clear()
        print(f"{self._prefix()} {self._label:<44} {summary}", file=self.stream, flush=True)
        self.count += 1

    def _prefix(self) -> str:
        width = len(str(self.total))
        return f"[{self.count + 1:>{width}}/{self.total}]"

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False

"""Running the real `gateway serve` in a subprocess for tests, as an operator would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import httpx

from gateway.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def base_env(**extra: str) -> dict[str, str]:
    """The test process's environment without its database/cache URLs, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(extra)
    return env


def gateway_serve(port: int) -> list[str]:
    """The command line of `gateway serve` on `port`."""
    return [sys.executable, "-m", "gateway", "serve", "--port", str(port)]


def dockerfile_command(port: int) -> list[str]:
    """The Dockerfile's CMD, verbatim but for the address it binds (loopback, `port`), run
    with this environment's Python."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    argv: list[str] = json.loads(line[len("CMD ") :])
    assert argv[0] == "uvicorn", argv
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        argv[argv.index(flag) + 1] = value
    return [sys.executable, "-m", *argv]


class Served:
    """A gateway in a subprocess (`gateway serve` unless `command` says otherwise), waited
    on until /readyz answers 200."""

    def __init__(
        self,
        env: dict[str, str],
        port: int | None = None,
        timeout: float = 90,
        command: Callable[[int], list[str]] = gateway_serve,
        *,
        host: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.log = tempfile.TemporaryFile(mode="w+")
        self._final = ""
        self.proc = subprocess.Popen(
            command(self.port),
            env=env,
            cwd=PROJECT_ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited early:\n{self.output()}")
            try:
                # `host`: the name to ask by, when ALLOWED_HOSTS leaves out 127.0.0.1.
                headers = {"Host": f"{host}:{self.port}"} if host else None
                ready = httpx.get(self.url + "/readyz", timeout=1, headers=headers)
                if ready.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.proc.kill()
        raise AssertionError(f"gateway never became ready:\n{self.output()}")

    def output(self) -> str:
        """Everything the process printed so far (kept after it exits)."""
        if self.log.closed:
            return self._final
        self.log.seek(0)
        return self.log.read()

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 40) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._final = self.output()
            self.log.close()

    def stop(self) -> int:
        self.terminate()
        return self.wait()

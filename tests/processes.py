"""Running the real `gateway serve` in a subprocess for tests, as an operator would, and
the other real servers some tests start beside it (Node.js programs with their npm packages)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

# Ports the tests pick, as the benchmark picks them (re-exported for the tests).
from bench.topology import free_port as free_port
from bench.topology import port_open as port_open
from gateway.settings import PROJECT_ROOT


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


_UNREACHABLE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH")


def npm_installed(directory: Path) -> Path:
    """`directory` with the npm packages its package-lock.json pins installed by `npm ci`
    into its node_modules (git-ignored), once per lock file. Skips the test, saying why,
    only when Node.js or npm is missing or the npm registry cannot be reached."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.skip("Node.js and npm are not installed: the JavaScript programs cannot run")
    lock = hashlib.sha256((directory / "package-lock.json").read_bytes()).hexdigest()
    stamp = directory / "node_modules" / ".installed-from"
    if stamp.exists() and stamp.read_text() == lock:
        return directory
    env = {**os.environ, "npm_config_cache": str(directory / ".npm-cache")}
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--fetch-retries=1"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        unreachable = [line for line in output.splitlines() if any(c in line for c in _UNREACHABLE)]
        if unreachable:
            pytest.skip(f"the npm registry is unreachable: {unreachable[0].strip()}")
        pytest.fail(f"npm ci failed:\n{output}")
    stamp.write_text(lock)
    return directory


class Listening:
    """A server program in a subprocess, waited on until it accepts connections on `port`."""

    def __init__(self, command: list[str], port: int, *, cwd: Path, timeout: float = 30) -> None:
        self.port = port
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            command, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + timeout
        while not port_open(port):
            if self.proc.poll() is not None:
                raise AssertionError(f"{command[:2]} exited early:\n{self.output()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"{command[:2]} never listened:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

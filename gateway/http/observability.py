"""A finished request's figures, fed to Prometheus (`gateway.metrics`): its latency by
route template (and by GraphQL operation), the SQL statements it ran, what the cache did."""

from __future__ import annotations

from starlette.types import Scope

from gateway import telemetry


def record(scope: Scope, stats: telemetry.RequestStats, status: int, seconds: float) -> None:
    """Feed the request's figures to Prometheus (when the app's resources are up)."""
    resources = scope.get("state", {}).get("resources")
    if resources is None:
        return
    metrics = resources.metrics
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    template = _template(scope, route)
    metrics.http_latency.labels(template, scope["method"], str(status)).observe(seconds)
    if template == "/graphql" and scope["method"] in ("GET", "POST"):
        metrics.graphql_latency.labels(metrics.operation(stats.operation)).observe(seconds)
    if stats.queries:
        metrics.sql_statements.labels(template).inc(stats.queries)
    for outcome, count in (
        ("hit", stats.cache_hits),
        ("miss", stats.cache_misses),
        ("bypass", stats.cache_bypasses),
    ):
        if count:
            metrics.cache_outcomes.labels(outcome).inc(count)


def _template(scope: Scope, route_path: str) -> str:
    # Routes under a Mount report their own path; put the mount's prefix back.
    if route_path == "unmatched":
        return route_path
    mount = scope.get("root_path", "") or ""
    app_root = scope.get("app_root_path", "") or ""
    prefix = mount[len(app_root) :] if mount.startswith(app_root) else mount
    return prefix + route_path

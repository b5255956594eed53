"""Figures of one load run, as both load generators report them, and the arithmetic on them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
ERROR_KINDS = ("status", "connect", "read", "write", "timeout")


def percentile(ordered: Sequence[float], p: float) -> float:
    """The p-th percentile of ascending `ordered` (linear interpolation, as numpy's default)."""
    if not ordered:
        return math.nan
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9, mean and max, in milliseconds, of per-request latencies."""
    ordered = sorted(seconds)
    summary = {_label(p): percentile(ordered, p) * 1000 for p in PERCENTILES}
    summary["mean"] = sum(ordered) / len(ordered) * 1000 if ordered else math.nan
    summary["max"] = ordered[-1] * 1000 if ordered else math.nan
    return summary


def _label(p: float) -> str:
    return "p" + (f"{p:g}".replace(".", ""))


@dataclass
class LoadResult:
    """What a load generator measured over one run (warm-up excluded)."""

    requests: int
    duration_s: float
    latency_ms: dict[str, float]
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    statuses: dict[str, int] = field(default_factory=dict)
    query_count_sum: float = 0.0
    query_count_samples: int = 0
    cache: dict[str, int] = field(default_factory=dict)
    bytes_read: int = 0

    @property
    def throughput(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        """Errors (non-2xx/3xx answers and socket errors) per request attempted."""
        attempted = self.requests + sum(v for k, v in self.errors.items() if k != "status")
        return self.error_count / attempted if attempted else 0.0

    @property
    def sql_per_request(self) -> float | None:
        """Mean X-Query-Count over the answers that carried one."""
        if not self.query_count_samples:
            return None
        return self.query_count_sum / self.query_count_samples

    @property
    def cache_hit_share(self) -> float | None:
        """HIT answers among those carrying X-Cache, or None when none did."""
        total = sum(self.cache.values())
        return self.cache.get("HIT", 0) / total if total else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator

"""Latency summaries every benchmark prints the same way."""

from __future__ import annotations

import statistics


def pct(values: list[float], p: float) -> float:
    """The p-th percentile of durations in seconds, in milliseconds."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1e3, 2)


def summary(latencies: list[float]) -> dict[str, float]:
    return {"n": len(latencies), "p50_ms": pct(latencies, 0.50), "p95_ms": pct(latencies, 0.95),
            "p99_ms": pct(latencies, 0.99), "mean_ms": round(statistics.fmean(latencies) * 1e3, 2)}

"""In-process counters behind ``get_server_stats``: outcomes by error type and OpenAI latency."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def current_rss_bytes() -> int:
    """Resident memory now (Linux ``/proc``), else the peak that ``getrusage`` reports."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


#: Upper bounds (seconds) of the OpenAI latency histogram's buckets.
LATENCY_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)


@dataclass
class ServerStats:
    started_at: float = field(default_factory=time.time)
    started_monotonic: float = field(default_factory=time.monotonic)
    generations_ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    images_saved: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    #: cumulative counts per bucket of LATENCY_BUCKETS (the last is +Inf), and their sum
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    by_model: Counter[str] = field(default_factory=Counter)
    bytes_saved: int = 0
    tool_calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    spend_by_model: dict[str, float] = field(default_factory=dict)

    def record_latency(self, openai_seconds: float) -> None:
        """One OpenAI call, whatever its outcome."""
        self.latencies.append(openai_seconds)
        self.latency_sum += openai_seconds
        for i, bound in enumerate(LATENCY_BUCKETS):
            if openai_seconds <= bound:
                self.latency_buckets[i] += 1
        self.latency_buckets[-1] += 1

    def record_generation(self, images: int, *, model: str = "", size: int = 0) -> None:
        self.generations_ok += 1
        self.images_saved += images
        self.by_model[model] += 1
        self.bytes_saved += size

    def record_spend(self, model: str, usd: float) -> None:
        self.spend_by_model[model] = self.spend_by_model.get(model, 0.0) + usd

    def record_tool_call(self, tool: str, outcome: str) -> None:
        self.tool_calls[(tool, outcome)] += 1

    def record_failure(self, error_type: str) -> None:
        """A generating tool call that ended without an image (any reason, cancellations included)."""
        self.failures[error_type] += 1

    def latency_summary(self) -> dict[str, float | int]:
        values = sorted(self.latencies)
        return {
            "count": len(values),
            "p50_ms": round(percentile(values, 50) * 1000, 1),
            "p90_ms": round(percentile(values, 90) * 1000, 1),
            "p99_ms": round(percentile(values, 99) * 1000, 1),
            "max_ms": round((values[-1] if values else 0.0) * 1000, 1),
        }

    def uptime_seconds(self) -> float:
        return round(time.monotonic() - self.started_monotonic, 1)

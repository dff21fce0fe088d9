"""``/metrics`` in the Prometheus text format (prometheus-client), built at each scrape from the server's
counters: tool calls by tool and outcome, generations by model and failures by error type, the OpenAI
latency histogram, active sessions, running jobs and bytes stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openai_image_mcp.service.facade import ImageService
from openai_image_mcp.service.stats import LATENCY_BUCKETS


class Metrics:
    async def render(self, service: ImageService) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        stats = service.stats
        sessions = await service.state.sessions.counts(owner=None)
        stored = await service.state.images.total_bytes(owner=None)

        class Snapshot:
            def collect(self) -> Iterator[Any]:
                calls = CounterMetricFamily(
                    "openai_image_mcp_tool_calls", "Tool calls by tool and outcome.", labels=["tool", "outcome"]
                )
                for (tool, outcome), n in sorted(stats.tool_calls.items()):
                    calls.add_metric([tool, outcome], n)
                yield calls
                ok = CounterMetricFamily(
                    "openai_image_mcp_generations", "Generations saved, by image model.", labels=["model"]
                )
                for model, n in sorted(stats.by_model.items()):
                    ok.add_metric([model], n)
                yield ok
                failed = CounterMetricFamily(
                    "openai_image_mcp_generation_failures",
                    "Generations that ended without an image.",
                    labels=["error_type"],
                )
                for error_type, n in sorted(stats.failures.items()):
                    failed.add_metric([error_type], n)
                yield failed
                buckets = [(str(b), stats.latency_buckets[i]) for i, b in enumerate(LATENCY_BUCKETS)]
                buckets.append(("+Inf", stats.latency_buckets[-1]))
                yield HistogramMetricFamily(
                    "openai_image_mcp_openai_latency_seconds", "Latency of OpenAI calls.", buckets=buckets,
                    sum_value=stats.latency_sum,
                )  # fmt: skip
                spend = CounterMetricFamily(
                    "openai_image_mcp_spend_usd", "Dollars spent on OpenAI calls, by image model.", labels=["model"]
                )
                for model, usd in sorted(stats.spend_by_model.items()):
                    spend.add_metric([model], usd)
                yield spend
                yield GaugeMetricFamily(
                    "openai_image_mcp_active_sessions", "Open sessions.", value=sessions.get("active", 0)
                )
                yield GaugeMetricFamily(
                    "openai_image_mcp_jobs_running", "Generations running.", value=service.jobs.running
                )
                yield GaugeMetricFamily("openai_image_mcp_bytes_stored", "Bytes of images stored.", value=stored)
                yield CounterMetricFamily(
                    "openai_image_mcp_images_saved", "Images saved by this process.", value=stats.images_saved
                )

        registry = CollectorRegistry()
        registry.register(Snapshot())
        return generate_latest(registry), CONTENT_TYPE_LATEST

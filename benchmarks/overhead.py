"""Server overhead of one generation of a 1024x1024 photo-like PNG, preview included.

overhead = wall time of the tools/call as the client sees it - the fake's own handling time
(``handled_seconds``: from the request's arrival to its last byte). Measured over real stdio and
in memory, after one warm-up call.

Run: .venv/bin/python -m benchmarks.overhead
Target: median under 60 ms.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from benchmarks.common import stdio_server
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI

RUNS = 30


async def measure(client: Client, fake: FakeOpenAI, args: dict[str, Any]) -> list[float]:
    await client.call_tool("generate_image", {**args, "prompt": "warm-up"})
    overheads = []
    for i in range(RUNS):
        fake.reset()
        start = time.perf_counter()
        r = await client.call_tool("generate_image", {**args, "prompt": f"a photo {i}"})
        wall = time.perf_counter() - start
        assert not r.is_error, r.content
        (req,) = fake.requests
        overheads.append(wall - req.handled_seconds)
    return overheads


def report(label: str, values: list[float]) -> None:
    ms = sorted(v * 1000 for v in values)
    print(
        f"{label}: median {statistics.median(ms):.1f} ms, p90 {ms[int(len(ms) * 0.9)]:.1f} ms, "
        f"min {ms[0]:.1f} ms, max {ms[-1]:.1f} ms (n={len(ms)})"
    )


async def main() -> None:
    logging.disable(logging.INFO)  # the in-memory server shares this process's logging
    with FakeOpenAI(latency=0.0) as fake:
        for label, args in (
            ("Responses path (default model)", {"size": "1024x1024"}),
            ("Images API path (gpt-image-2)", {"size": "1024x1024", "model": "gpt-image-2"}),
        ):
            for partials in ("0", "2"):
                async with stdio_server(fake, OPENAI_IMAGE_MCP_PARTIAL_IMAGES=partials) as client:
                    report(f"stdio, {partials} partial images, {label}", await measure(client, fake, args))
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings(
                    workspace=Path(tmp),
                    openai_api_key="sk-bench-123456",
                    openai_base_url=fake.base_url,
                    max_retries=0,
                    partial_images=0,
                )
                async with Client(create_server(settings)) as client:
                    report(f"in-memory, 0 partial images, {label}", await measure(client, fake, args))


if __name__ == "__main__":
    anyio.run(main)

"""A product batch of 3 against a fake with 2 s latency: the three images are drawn at once.

Run: .venv/bin/python -m benchmarks.product_batch
Target: under 2.6 s.
"""

from __future__ import annotations

import statistics
import time

import anyio

from benchmarks.common import RemoteFake, stdio_server

LATENCY = 2.0


async def main() -> None:
    with RemoteFake(latency=LATENCY) as fake:
        async with stdio_server(fake) as client:
            await client.call_tool("generate_image", {"prompt": "warm-up", "model": "gpt-image-2"})
            walls = []
            for _ in range(3):
                start = time.perf_counter()
                r = await client.call_tool(
                    "generate_product_image",
                    {"product_description": "a blue ceramic mug", "background_type": "transparent", "batch_count": 3},
                )
                walls.append(time.perf_counter() - start)
                assert not r.is_error, r.content
                assert len(r.structured_content["images"]) == 3  # type: ignore[index]
    print(f"product batch of 3, fake latency {LATENCY:.1f} s: " + ", ".join(f"{w:.3f} s" for w in walls))
    print(f"median {statistics.median(walls):.3f} s")


if __name__ == "__main__":
    anyio.run(main)

"""Server memory after 50 generations of 1024x1024 images versus after 5 (no image bytes kept).

The server's resident memory is read from its own get_server_stats (``memory_rss_mb``).

Run: .venv/bin/python -m benchmarks.memory
Target: growth under 15 MB.
"""

from __future__ import annotations

import anyio
from mcp import Client

from benchmarks.common import RemoteFake, stdio_server


async def rss(client: Client) -> float:
    r = await client.call_tool("get_server_stats", {})
    return float(r.structured_content["memory_rss_mb"])  # type: ignore[index]


async def main() -> None:
    with RemoteFake(latency=0.0) as fake:
        async with stdio_server(fake) as client:
            r = await client.call_tool("create_image_session", {"description": "memory benchmark"})
            sid = r.structured_content["session"]["session_id"]  # type: ignore[index]
            readings: dict[int, float] = {}
            for i in range(1, 51):
                # alternate one-shot and session turns, so both paths are exercised
                if i % 2:
                    r = await client.call_tool("generate_image", {"prompt": f"photo {i}", "size": "1024x1024"})
                else:
                    args = {"session_id": sid, "prompt": f"turn {i}", "size": "1024x1024"}
                    r = await client.call_tool("generate_image_in_session", args)
                assert not r.is_error, r.content
                if i in (5, 10, 20, 30, 40, 50):
                    readings[i] = await rss(client)
    for n, mb in readings.items():
        print(f"after {n:2d} generations: {mb:.1f} MB")
    print(f"growth from 5 to 50 generations: {readings[50] - readings[5]:+.1f} MB")


if __name__ == "__main__":
    anyio.run(main)

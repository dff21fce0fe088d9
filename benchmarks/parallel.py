"""8 parallel generate_image calls against a fake with 2 s latency, and a ping during the burst.

Run: .venv/bin/python -m benchmarks.parallel
Target: wall time <= 2.4 s (ratio <= 1.2) and ping < 100 ms.
"""

from __future__ import annotations

import time
import warnings

import anyio

from benchmarks.common import RemoteFake, stdio_server

LATENCY = 2.0
CALLS = 8


async def main() -> None:
    warnings.simplefilter("ignore")  # send_ping is legacy-era only, which is what we test
    with RemoteFake(latency=LATENCY) as fake:
        async with stdio_server(fake, mode="legacy") as client:  # ping exists in the 2025-11-25 era
            await client.call_tool("generate_image", {"prompt": "warm-up", "size": "1024x1024"})  # imports, pools
            errors = 0
            pings: list[float] = []

            async def one(i: int) -> None:
                nonlocal errors
                r = await client.call_tool("generate_image", {"prompt": f"photo {i}", "size": "1024x1024"})
                errors += bool(r.is_error)

            done = anyio.Event()

            async def ping_during_burst() -> None:
                # every 50 ms for the whole burst, including the moment the 8 images arrive together
                while not done.is_set():
                    t = time.perf_counter()
                    await client.send_ping()
                    pings.append(time.perf_counter() - t)
                    await anyio.sleep(0.05)

            start = time.perf_counter()
            async with anyio.create_task_group() as tg:
                tg.start_soon(ping_during_burst)
                async with anyio.create_task_group() as calls:
                    for i in range(CALLS):
                        calls.start_soon(one, i)
                done.set()
            wall = time.perf_counter() - start
    print(
        f"{CALLS} parallel generate_image, fake latency {LATENCY:.1f} s: wall {wall:.3f} s, ratio {wall / LATENCY:.3f}"
    )
    print(f"errors: {errors}")
    pings.sort()
    print(
        f"{len(pings)} pings during the burst: median {pings[len(pings) // 2] * 1000:.1f} ms,"
        f" max {pings[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    anyio.run(main)

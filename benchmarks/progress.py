"""Long generations, measured over real stdio against the loopback fake (latency 2 s, 2 partial images):

* time from the tools/call to the first progress notification;
* time from the fake sending its first partial image (at 30% of its latency) to the client receiving
  the progress notification that names its preview;
* time from the client's cancel to the fake seeing the upstream request closed.

Run: .venv/bin/python -m benchmarks.progress
Targets: first notification < 200 ms; first partial < 100 ms after the fake sent it; cancel < 200 ms.
"""

from __future__ import annotations

import statistics
import time

import anyio

from benchmarks.common import stdio_server
from tests.support.fake_openai import FakeOpenAI

LATENCY = 2.0
RUNS = 5


async def main() -> None:
    firsts, partials, cancels = [], [], []
    with FakeOpenAI(latency=LATENCY) as fake:
        async with stdio_server(fake, OPENAI_IMAGE_MCP_PARTIAL_IMAGES="2") as client:
            await client.call_tool("generate_image", {"prompt": "warm-up", "quality": "low"})
            for i in range(RUNS):
                fake.reset()
                seen: list[tuple[float, str]] = []

                async def on_progress(
                    p: float, total: float | None, message: str | None, seen: list[tuple[float, str]] = seen
                ) -> None:
                    seen.append((time.monotonic(), message or ""))

                start = time.monotonic()
                r = await client.call_tool("generate_image", {"prompt": f"photo {i}"}, progress_callback=on_progress)
                assert not r.is_error, r.content
                await anyio.sleep(0.05)
                (req,) = fake.requests_to("/responses")
                firsts.append(seen[0][0] - start)
                first_partial = next(t for t, m in seen if m.startswith("partial image 1"))
                partials.append(first_partial - (req.received_at + 0.3 * LATENCY))

            for i in range(RUNS):
                fake.reset()
                with anyio.move_on_after(0.8):
                    await client.call_tool("generate_image", {"prompt": f"cancel me {i}"})
                cancelled_at = time.monotonic()
                with anyio.fail_after(5):
                    while not fake.disconnects:  # noqa: ASYNC110 - the fake records from its own thread
                        await anyio.sleep(0.005)
                cancels.append(fake.disconnects[0].at - cancelled_at)

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms (n={len(values)})"

    print(f"call -> first progress notification: {ms(firsts)}")
    print(f"fake sends first partial -> client notified: {ms(partials)}")
    print(f"client cancel -> upstream request closed: {ms(cancels)}")


if __name__ == "__main__":
    anyio.run(main)

"""Timing of the loopback fake itself (tests/support/fake_openai/), the figures its tests used to assert:

* latency 0: the fake's own time (``handled_seconds``) for a Responses answer with a cached 1024x1024 image;
* a Responses stream (latency 0.3 s, 3 partial images): when each partial image and the last event reach the client,
  against the offsets the fake scheduled (``RecordedRequest.scheduled``: 30 %, 60 %, 90 %, 100 %);
* 120 concurrent requests with latency 0.3 s: the wall time of the burst;
* a client that times out (0.15 s) on a request with latency 0.6 s: when, after receipt, the fake records the
  disconnect;
* ``stop()`` with a request in flight (latency 5 s): how long it takes, and the request's status.

The fake runs in this process (its own thread and event loop), so its ``time.monotonic()`` stamps and the client's
share a clock.

Run: .venv/bin/python -m benchmarks.fake_latency
Targets: latency-0 answer < 50 ms (median); partial images at 0.07-0.25 s (first) and >= 0.25 s (third), never
before their scheduled offset; the stream's last byte >= 0.3 s; burst < 0.9 s; disconnect recorded 0.1-0.5 s after
receipt; stop with a request in flight < 2 s, answered 503.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any

import anyio
import httpx2
import openai

from tests.support.fake_openai import FakeOpenAI

RUNS = 5
MODEL = "gpt-6-astra"
IMAGE_MODEL = "gpt-image-2"


def ms(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.1f} ms, min {min(values) * 1000:.1f} ms, "
        f"max {max(values) * 1000:.1f} ms (n={len(values)})"
    )


def client(fake: FakeOpenAI, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-bench", base_url=fake.base_url, max_retries=0, **options)


async def latency_zero(fake: FakeOpenAI) -> list[float]:
    fake.latency = 0.0
    tools: Any = [{"type": "image_generation", "size": "1024x1024"}]
    own = []
    async with client(fake) as c:
        await c.responses.create(model=MODEL, input="warm-up", tools=tools)
        for i in range(RUNS * 2):
            await c.responses.create(model=MODEL, input=f"fast {i}", tools=tools)
            own.append(fake.requests_to("/responses")[-1].handled_seconds)
    return own


async def stream_offsets(fake: FakeOpenAI) -> dict[str, list[float]]:
    """Per run: arrival of each partial image and of the last event, after receipt; and each arrival's lateness
    against the fake's schedule."""
    fake.latency = 0.3
    tools: Any = [{"type": "image_generation", "size": "512x768", "quality": "low", "partial_images": 3}]
    figures: dict[str, list[float]] = {"partial 1": [], "partial 3": [], "done": [], "late": [], "handled": []}
    async with client(fake) as c:
        await c.responses.create(model=MODEL, input="warm-up", tools=tools, stream=False)
        for i in range(RUNS):
            fake.reset()
            arrivals: list[float] = []
            stream = await c.responses.create(model=MODEL, input=f"koi pond {i}", tools=tools, stream=True)
            async for event in stream:
                if event.type in ("response.image_generation_call.partial_image", "response.completed"):
                    arrivals.append(time.monotonic())
            (req,) = fake.requests_to("/responses")
            offsets = [t - req.received_at for t in arrivals]
            figures["partial 1"].append(offsets[0])
            figures["partial 3"].append(offsets[2])
            figures["done"].append(offsets[-1])
            figures["late"] += [got - planned for got, planned in zip(offsets, req.scheduled[1:], strict=True)]
            figures["handled"].append(req.handled_seconds)
    return figures


async def burst(fake: FakeOpenAI) -> tuple[list[float], float]:
    fake.latency = 0.3
    limits = httpx2.Limits(max_connections=200, max_keepalive_connections=200)
    walls = []
    handled_min = float("inf")
    async with httpx2.AsyncClient(base_url=fake.base_url, limits=limits, timeout=5) as http:
        for _ in range(RUNS):
            fake.reset()
            start = time.monotonic()
            responses = await asyncio.gather(
                *[http.get("/files", headers={"authorization": "Bearer sk-bench"}) for _ in range(120)]
            )
            walls.append(time.monotonic() - start)
            assert all(r.status_code == 200 for r in responses)
            handled_min = min(handled_min, *(r.handled_seconds for r in fake.requests))
    return walls, handled_min


async def client_timeout(fake: FakeOpenAI) -> list[float]:
    fake.latency = 0.6
    noticed = []
    async with client(fake, timeout=0.15) as c:
        for i in range(RUNS):
            fake.reset()
            try:
                await c.images.generate(model=IMAGE_MODEL, prompt=f"slow {i}", size="256x256")
            except openai.APITimeoutError:
                pass
            else:
                raise AssertionError("the client did not time out")
            assert await fake.wait_for_disconnects_async(1)
            (req,) = fake.requests_to("/images/generations")
            noticed.append(fake.disconnects[0].at - req.received_at)
    return noticed


def stop_in_flight() -> tuple[list[float], list[int]]:
    times, statuses = [], []
    for _ in range(RUNS):
        fake = FakeOpenAI(latency=5.0).start()
        answers: list[int] = []

        def call(fake: FakeOpenAI = fake, answers: list[int] = answers) -> None:
            with httpx2.Client(timeout=10) as http:
                answers.append(http.get(fake.base_url + "/files", headers={"authorization": "Bearer k"}).status_code)

        worker = threading.Thread(target=call)
        worker.start()
        assert fake.wait_for_requests(1)
        start = time.monotonic()
        fake.stop()
        worker.join(10)
        times.append(time.monotonic() - start)
        statuses += answers
    return times, statuses


async def async_figures() -> None:
    with FakeOpenAI() as fake:
        print(f"latency 0, cached 1024x1024 answer, the fake's own time: {ms(await latency_zero(fake))}")
        f = await stream_offsets(fake)
        print(f"stream, latency 300 ms, partial image 1 after receipt (scheduled 90 ms): {ms(f['partial 1'])}")
        print(f"stream, latency 300 ms, partial image 3 after receipt (scheduled 270 ms): {ms(f['partial 3'])}")
        print(f"stream, latency 300 ms, response.completed after receipt (scheduled 300 ms): {ms(f['done'])}")
        print(f"stream, arrival minus scheduled offset, every event above: {ms(f['late'])}")
        print(f"stream, handled_seconds (last byte): {ms(f['handled'])}")
        walls, handled_min = await burst(fake)
        print(f"120 concurrent requests, latency 300 ms, wall: {ms(walls)}; min handled {handled_min * 1000:.1f} ms")
        noticed = await client_timeout(fake)
        print(f"client timeout 150 ms, latency 600 ms, disconnect recorded after receipt: {ms(noticed)}")


def main() -> None:
    anyio.run(async_figures)
    times, statuses = stop_in_flight()
    print(f"stop() with a request in flight (latency 5 s): {ms(times)}; statuses {sorted(set(statuses))}")


if __name__ == "__main__":
    main()

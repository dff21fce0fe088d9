"""Load: 100 sessions x 5 turns, concurrently, against the fake (latency 1 s), over real stdio.

Each session runs its 5 turns one after another (a session's turns are ordered); the 100 sessions
run at once. The fake runs in its own process. Reported: wall time, errors, per-turn overhead
(tools/call wall time minus the fake's 1 s latency; it includes the fake's own few milliseconds and
the client's), p50/p99, the server's peak resident memory and peak open file descriptors (sampled
every 50 ms with psutil).

Two image kinds: smooth images (tens of KB, so the run measures the server, not Pillow), and
photo-like 1024x1024 PNGs (2.3 MB each: 100 arriving in the same second need ~2.5 s of CPU for
decoding, hashing and previews on this 2-core machine, so they queue).

Run: .venv/bin/python -m benchmarks.load [--photo] [--jpeg] [--sessions N]
Targets: zero errors, p99 overhead < 100 ms, memory < 300 MB.
"""

from __future__ import annotations

import statistics
import sys
import time

import anyio
import psutil

from benchmarks.common import RemoteFake, stdio_server

SESSIONS = 100
TURNS = 5
LATENCY = 1.0


async def main(photo: bool, fmt: str, sessions: int) -> None:
    global SESSIONS
    SESSIONS = sessions
    walls: dict[str, float] = {}
    errors: list[str] = []
    peak_rss = 0
    peak_fds = 0
    with RemoteFake(latency=LATENCY, flat_images=not photo) as fake:
        async with stdio_server(fake, MCP_MAX_SESSIONS=str(SESSIONS)) as client:
            stats = await client.call_tool("get_server_stats", {})
            proc = psutil.Process(int(stats.structured_content["pid"]))  # type: ignore[index]
            await client.call_tool("generate_image", {"prompt": "warm-up", "size": "1024x1024"})
            sids = []
            for i in range(SESSIONS):
                r = await client.call_tool("create_image_session", {"description": f"load session {i}"})
                sids.append(r.structured_content["session"]["session_id"])  # type: ignore[index]
            done = anyio.Event()

            async def sample() -> None:
                nonlocal peak_rss, peak_fds
                while not done.is_set():
                    peak_rss = max(peak_rss, proc.memory_info().rss)
                    peak_fds = max(peak_fds, proc.num_fds())
                    await anyio.sleep(0.05)

            async def session(i: int, sid: str) -> None:
                for t in range(TURNS):
                    prompt = f"load s{i} t{t}"
                    start = time.perf_counter()
                    r = await client.call_tool(
                        "generate_image_in_session",
                        {"session_id": sid, "prompt": prompt, "size": "1024x1024", "output_format": fmt},
                    )
                    walls[prompt] = time.perf_counter() - start
                    if r.is_error:
                        errors.append(str(r.structured_content))

            start = time.perf_counter()
            async with anyio.create_task_group() as tg:
                tg.start_soon(sample)
                async with anyio.create_task_group() as work:
                    for i, sid in enumerate(sids):
                        work.start_soon(session, i, sid)
                done.set()
            wall = time.perf_counter() - start
            server_cpu = sum(proc.cpu_times()[:2])
            fake_cpu = sum(psutil.Process(fake.pid).cpu_times()[:2])
    # the fake runs in its own process (as OpenAI would) and answers after exactly LATENCY seconds;
    # its own work for one request is a few milliseconds, so it is counted in the overhead here
    overheads = sorted((w - LATENCY) * 1000 for w in walls.values())
    p99 = overheads[min(len(overheads) - 1, int(len(overheads) * 0.99))]
    kind = f"{'photo-like' if photo else 'smooth'} 1024x1024 {fmt.upper()}"
    print(f"{SESSIONS} sessions x {TURNS} turns, fake latency {LATENCY:.0f} s, {kind}")
    print(f"wall {wall:.2f} s (ideal {TURNS * LATENCY:.0f} s), turns {len(walls)}, errors {len(errors)}")
    print(f"overhead per turn: p50 {statistics.median(overheads):.1f} ms, p99 {p99:.1f} ms, max {overheads[-1]:.1f} ms")
    print(f"server peak RSS {peak_rss / 1_048_576:.0f} MB, peak open fds {peak_fds}")
    client_cpu = sum(psutil.Process().cpu_times()[:2])
    print(f"CPU seconds (whole run): server {server_cpu:.1f}, fake {fake_cpu:.1f}, client {client_cpu:.1f}")
    if errors:
        print("first error:", errors[0])


if __name__ == "__main__":
    count = int(sys.argv[sys.argv.index("--sessions") + 1]) if "--sessions" in sys.argv else SESSIONS
    anyio.run(main, "--photo" in sys.argv, "jpeg" if "--jpeg" in sys.argv else "png", count)

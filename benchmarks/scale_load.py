"""Load on replicas: 40 sessions x 5 turns, starts staggered over 4 s, fake latency 1 s, on 1 replica and on 3
replicas behind haproxy, both on Redis + S3 (and, for reference, 1 replica on SQLite + files, without haproxy).

Each configuration gets fresh stores (a new Redis key prefix, a new bucket) and fresh replicas
(``serve --transport http --stateless``, default settings: 2 partial images, lease 15 s). The fake OpenAI, moto's S3
and redis-server run in processes of their own. Session i starts at i x 0.1 s; its turns
(``generate_image_in_session``, 1024x1024 low, flat images) run one after another, every call a new stateless MCP
request (``tests.support.cluster.User``: the tools are listed once, as a long-lived client would). Reported per
configuration: wall time (first start to last answer; ideal 4 + 5 x 1 s plus the creates), errors, per-turn overhead
(call time minus the fake's 1 s) p50/p99, and the servers' CPU per turn: the replicas' CPU time (user + system,
psutil) after minus before the run, divided by the turns; Redis, moto, haproxy, the fake and the client (this
process) for information, and how busy the machine's CPUs were.

Run: .venv/bin/python -m benchmarks.scale_load [--sessions 40] [--turns 5] [--no-reference]
Target: 0 errors.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

import anyio
import psutil

from benchmarks.common import RemoteFake
from tests.support.cluster import Caller, Cluster, S3Process, SharedStores, User, scratch
from tests.support.services import RedisServer

LATENCY = 1.0
STAGGER = 4.0
IMAGE = {"quality": "low", "size": "1024x1024", "wait_seconds": 60}


@dataclass
class Result:
    name: str
    walls: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0
    others: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0


def cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def drive(cluster: Cluster, result: Result, sessions: int, turns: int) -> None:
    async with Caller.open(connections=sessions + 10) as caller:
        user = caller.user(cluster.url)
        for w in range(2 * cluster.size):  # warm-up: each replica draws an image first
            sid = (await user.ok("create_image_session", {"description": "warm-up"}))["session"]["session_id"]
            await user.ok("generate_image_in_session", {"session_id": sid, "prompt": f"w{w}", **IMAGE})

        async def session(i: int) -> None:
            await anyio.sleep(i * STAGGER / sessions)
            await session_of(caller.user(cluster.url), i)

        async def session_of(user: User, i: int) -> None:
            try:
                created = await user.ok("create_image_session", {"description": f"load session {i}"})
            except Exception as exc:
                result.errors.append(f"create: {exc!r}"[:300])
                return
            sid = created["session"]["session_id"]
            for t in range(turns):
                arguments = {"session_id": sid, "prompt": f"session {i} turn {t + 1}", **IMAGE}
                start = time.perf_counter()
                try:
                    data = await user.ok("generate_image_in_session", arguments)
                except Exception as exc:
                    result.errors.append(f"turn: {exc!r}"[:300])
                    continue
                if data.get("status") != "completed":
                    result.errors.append(f"turn: {data.get('status')}")
                    continue
                result.walls.append(time.perf_counter() - start)

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(sessions):
                tg.start_soon(session, i)
        result.wall = time.perf_counter() - start


def run(name: str, cluster: Cluster, sessions: int, turns: int, pids: dict[str, int | None]) -> Result:
    result = Result(name)
    haproxy = cluster.haproxy.pid if cluster.haproxy is not None else None
    others = {**pids, "haproxy": haproxy}
    before, before_others = cluster.cpu_seconds(), {k: cpu(p) for k, p in others.items()}
    machine = psutil.cpu_times()
    anyio.run(drive, cluster, result, sessions, turns)
    result.cpu = cluster.cpu_seconds() - before
    result.others = {k: cpu(p) - before_others[k] for k, p in others.items() if p is not None}
    after = psutil.cpu_times()
    idle = (after.idle + after.iowait) - (machine.idle + machine.iowait)
    result.busy = 1 - idle / max(1e-9, sum(after) - sum(machine))
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--no-reference", action="store_true", help="skip 1 replica on SQLite + files")
    args = parser.parse_args()
    env = {"LOG_LEVEL": "WARNING"}
    results: list[Result] = []
    redis, s3 = RedisServer().start(), S3Process().start()
    assert redis.process is not None
    pids: dict[str, int | None] = {"redis": redis.process.pid, "moto": s3.pid, "client": os.getpid()}
    try:
        with RemoteFake(latency=LATENCY, flat_images=True) as fake, scratch() as folder:
            configs: list[tuple[str, int, bool]] = [
                ("1 replica, Redis + S3", 1, True),
                ("3 replicas, Redis + S3", 3, True),
            ]
            if not args.no_reference:
                configs.insert(0, ("1 replica, SQLite + files", 1, False))
            pids["fake"] = fake.pid
            for n, (name, size, shared) in enumerate(configs):
                stores = SharedStores.fresh(redis, s3) if shared else None
                with Cluster(
                    folder / f"c{n}", fake.base_url, size=size, stores=stores, balancer=shared, lease=None, env=env
                ) as cluster:
                    mine = pids if shared else {k: v for k, v in pids.items() if k in ("fake", "client")}
                    result = run(name, cluster, args.sessions, args.turns, mine)
                results.append(result)
                print(f"{name}: done in {result.wall:.2f} s", flush=True)
    finally:
        s3.stop()
        redis.stop()
    print(f"\n{args.sessions} sessions x {args.turns} turns, starts over {STAGGER:.0f} s, fake latency {LATENCY:.0f} s")
    failed = False
    for r in results:
        overheads = sorted((w - LATENCY) * 1000 for w in r.walls)
        turns = len(r.walls)
        p50 = statistics.median(overheads) if overheads else float("nan")
        p99 = overheads[min(len(overheads) - 1, int(len(overheads) * 0.99))] if overheads else float("nan")
        per_turn = r.cpu * 1000 / max(1, turns)
        others = ", ".join(f"{k} {v * 1000 / max(1, turns):.1f}" for k, v in r.others.items())
        print(
            f"{r.name:27} wall {r.wall:5.2f} s  turns {turns}  errors {len(r.errors)}  overhead p50 {p50:6.1f} ms"
            f"  p99 {p99:6.1f} ms  server CPU {per_turn:5.1f} ms/turn  (others ms/turn: {others}; machine busy"
            f" {r.busy:.0%})"
        )
        for error in r.errors[:5]:
            print("    ", error)
        failed |= bool(r.errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

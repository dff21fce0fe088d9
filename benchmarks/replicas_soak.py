"""Soak: the multi-replica scenario of ``tests/scale/test_replicas.py``, N times in a row (default 10).

Each run starts 3 replicas (``serve --transport http --stateless``) on a fresh Redis key prefix and a fresh bucket,
behind haproxy, runs 30 sessions x 4 turns through it (10 sessions at once, fake latency 0.3 s), SIGKILLs one replica
half-way, and checks everything the test checks (``tests.support.cluster.kill_one_replica``). One redis-server, one
moto S3 server and the fake OpenAI serve every run, as in the test session.

Run: .venv/bin/python -m benchmarks.replicas_soak [--runs N] [--keep-going]
Prints PASS/FAIL per run (with the problems of a failed one) and the total; exits 1 unless every run passed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import anyio

from tests.support.cluster import Caller, Cluster, SharedStores, kill_one_replica, scratch
from tests.support.fake_openai import FakeOpenAI
from tests.support.services import RedisServer, S3Server


def one_run(n: int, fake: FakeOpenAI, redis: RedisServer, s3: S3Server) -> bool:
    stores = SharedStores.fresh(redis, s3)
    env = {"OPENAI_IMAGE_MCP_PARTIAL_IMAGES": "0"}
    start = time.monotonic()
    with scratch() as folder, Cluster(folder, fake.base_url, size=3, stores=stores, lease=3.0, env=env) as cluster:

        async def scenario() -> list[str]:
            async with Caller.open() as caller:
                outcome = await kill_one_replica(cluster, caller, sessions=30, turns=4, concurrency=10, victim=n % 3)
            print(f"run {n + 1}: {outcome.summary()}", flush=True)
            return outcome.problems

        try:
            problems = anyio.run(scenario)
        except Exception as exc:  # the scenario itself broke (a call that kept failing)
            problems = [f"the scenario stopped: {exc!r}"]
        if problems:
            saved = folder.parent / f"soak-run-{n + 1}.log"
            saved.write_text(cluster.logs(tail=None))
            problems.append(f"replica logs: {saved}")
    wall = time.monotonic() - start
    print(f"run {n + 1}: {'PASS' if not problems else 'FAIL'} in {wall:.1f} s (including start-up)", flush=True)
    for problem in problems[:20]:
        print(f"    {problem}", flush=True)
    return not problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keep-going", action="store_true", help="run them all even after a failure")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    redis, s3 = RedisServer().start(), S3Server().start()
    passed = 0
    try:
        with FakeOpenAI(latency=0.3, flat_images=True) as fake:
            for n in range(args.runs):
                if one_run(n, fake, redis, s3):
                    passed += 1
                elif not args.keep_going:
                    break
                assert fake.schema_errors == [], fake.schema_errors
    finally:
        s3.stop()
        redis.stop()
    print(f"total: {passed} of {args.runs} passed{' in a row' if passed == args.runs else ''}")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())

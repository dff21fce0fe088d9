"""Per-turn server overhead of the shared stores: Redis + S3 against SQLite + files, in the same run.

One server per configuration: SQLite and the workspace folder (the default); a Redis key prefix and an S3 bucket
(moto, in its own process); and, unless ``--two``, the mixed two (Redis + files, SQLite + S3), which split the
difference between the state and the blobs. Two methods, the same for every configuration:

- ``http`` (the default): one ``openai-image-mcp serve --transport http --stateless`` replica each, every call a new
  stateless MCP request (``tests.support.cluster.User``: the tools are listed once);
- ``--in-process``: ``create_server`` in this process, through ``mcp.Client`` in memory (no HTTP, no JSON-RPC
  framing: the stores' share of a turn stands out more).

The fake OpenAI (own process) answers at once (latency 0), so a turn's wall time is the server's overhead plus the
fake's own few milliseconds, the same for all. The turns go round the servers one call at a time (each server first
as often as the others), so all see the same machine: SESSIONS sessions x TURNS turns on each
(``generate_image_in_session``, 1024x1024 low, flat images), after a warm-up session of 2 turns on each.

Run: .venv/bin/python -m benchmarks.scale_overhead [--in-process] [--sessions 8] [--turns 5] [--partials 2] [--photo]
[--two]
Target: Redis + S3 within 10 ms (median) of SQLite + files.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from benchmarks.common import RemoteFake
from tests.support.cluster import TEST_KEY, Caller, Cluster, S3Process, SharedStores, scratch
from tests.support.services import RedisServer

TARGET_MS = 10.0
STATE_VARIABLES = ("OPENAI_IMAGE_MCP_STATE_URL", "OPENAI_IMAGE_MCP_REDIS_PREFIX")
#: A call of one server: tool, arguments -> structured result.
Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def measure(servers: dict[str, Call], sessions: int, turns: int, image: dict[str, Any]) -> dict[str, list[float]]:
    walls: dict[str, list[float]] = {name: [] for name in servers}

    async def new_session(call: Call, text: str) -> str:
        created = await call("create_image_session", {"description": text})
        return str(created["session"]["session_id"])

    async def turn(call: Call, sid: str, prompt: str) -> float:
        start = time.perf_counter()
        data = await call("generate_image_in_session", {"session_id": sid, "prompt": prompt, **image})
        wall = time.perf_counter() - start
        assert data["status"] == "completed", data
        return wall

    for call in servers.values():  # warm-up: imports, connections, the tool list, the first image
        sid = await new_session(call, "warm-up")
        for t in range(2):
            await turn(call, sid, f"warm-up {t}")
    for s in range(sessions):
        sids = {name: await new_session(call, f"overhead session {s}") for name, call in servers.items()}
        for t in range(turns):
            names = list(servers)
            shift = (s * turns + t) % len(names)  # each server goes first as often as the others
            for name in names[shift:] + names[:shift]:
                walls[name].append(await turn(servers[name], sids[name], f"session {s} turn {t + 1}"))
    return walls


@asynccontextmanager
async def over_http(
    configs: dict[str, dict[str, str]], folder: Path, fake_url: str, env: dict[str, str]
) -> AsyncIterator[dict[str, Call]]:
    with ExitStack() as stack:
        clusters = {
            name: stack.enter_context(
                Cluster(folder / f"c{n}", fake_url, size=1, balancer=False, lease=None, env={**env, **extra})
            )
            for n, (name, extra) in enumerate(configs.items())
        }
        async with Caller.open() as caller:
            yield {name: caller.user(cluster.url).ok for name, cluster in clusters.items()}


@asynccontextmanager
async def in_process(
    configs: dict[str, dict[str, str]], folder: Path, fake_url: str, env: dict[str, str]
) -> AsyncIterator[dict[str, Call]]:
    from openai_image_mcp.core.settings import Settings
    from openai_image_mcp.server import create_server

    logging.getLogger("openai_image_mcp").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    servers: dict[str, Call] = {}
    async with AsyncExitStack() as stack:
        for n, (name, extra) in enumerate(configs.items()):
            os.environ.update({k: v for k, v in extra.items() if k.startswith("AWS_")})  # as a replica has them
            fields = {k.removeprefix("OPENAI_IMAGE_MCP_").lower(): v for k, v in {**env, **extra}.items()}
            fields = {k: v for k, v in fields.items() if k in Settings.model_fields}
            settings = Settings(
                workspace=folder / f"w{n}", openai_api_key=TEST_KEY, openai_base_url=fake_url, max_retries=0, **fields
            )
            client = await stack.enter_async_context(Client(create_server(settings)))

            async def call(tool: str, arguments: dict[str, Any], client: Client = client) -> dict[str, Any]:
                result = await client.call_tool(tool, arguments)
                assert not result.is_error and result.structured_content is not None, result.content
                return dict(result.structured_content)

            servers[name] = call
        yield servers


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--in-process", action="store_true", help="servers in this process, not HTTP replicas")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--partials", type=int, default=2, help="partial images per turn (the server's default: 2)")
    parser.add_argument("--photo", action="store_true", help="photo-like 2.3 MB PNGs instead of flat ones")
    parser.add_argument("--two", action="store_true", help="only SQLite + files and Redis + S3 (not the mixed two)")
    args = parser.parse_args()
    image = {"quality": "low", "size": "1024x1024", "wait_seconds": 60}
    env = {"OPENAI_IMAGE_MCP_PARTIAL_IMAGES": str(args.partials), "LOG_LEVEL": "WARNING"}
    method = in_process if args.in_process else over_http
    redis, s3 = RedisServer().start(), S3Process().start()
    try:
        fresh = [SharedStores.fresh(redis, s3).environ() for _ in range(3)]  # a prefix and a bucket each
        configs = {"SQLite + files": {}, "Redis + S3": fresh[0]}
        if not args.two:
            configs["Redis + files"] = {k: v for k, v in fresh[1].items() if k in STATE_VARIABLES}
            configs["SQLite + S3"] = {k: v for k, v in fresh[2].items() if k not in STATE_VARIABLES}
        with RemoteFake(latency=0.0, flat_images=not args.photo) as fake, scratch() as folder:

            async def run() -> dict[str, list[float]]:
                async with method(configs, folder, fake.base_url, env) as servers:
                    return await measure(servers, args.sessions, args.turns, image)

            walls = anyio.run(run)
    finally:
        s3.stop()
        redis.stop()
    medians = {name: statistics.median(w) * 1000 for name, w in walls.items()}
    kind = "photo-like" if args.photo else "flat"
    how = "in process (mcp.Client in memory)" if args.in_process else "over HTTP (one replica each)"
    print(
        f"{how}: {args.sessions} sessions x {args.turns} turns on each, in turn; 1024x1024 low, {kind} PNG, "
        f"{args.partials} partial images; fake latency 0"
    )
    for name, w in walls.items():
        ms = sorted(x * 1000 for x in w)
        p90 = ms[int(len(ms) * 0.9)]
        spread = f"min {ms[0]:6.1f}  p90 {p90:6.1f}  max {ms[-1]:6.1f}  (n={len(ms)})"
        print(f"{name:15} median {medians[name]:6.1f} ms  {spread}")
    for name in medians:
        if name != "SQLite + files":
            print(f"{name} - SQLite + files: {medians[name] - medians['SQLite + files']:+.1f} ms")
    difference = medians["Redis + S3"] - medians["SQLite + files"]
    verdict = "OK" if difference <= TARGET_MS else "over the target"
    print(f"target: Redis + S3 within {TARGET_MS:.0f} ms of SQLite + files: {verdict}")
    return 0 if difference <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())

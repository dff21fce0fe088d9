"""Remote use over Streamable HTTP: 2 principals x 20 sessions x 3 turns with bearer tokens, against
the real server process (``openai-image-mcp serve --transport http``), and the per-call cost of
authentication.

Two servers run side by side, each its own process on a loopback port, both pointed at the loopback
fake OpenAI (latency 0) that runs in this process: one with a tokens file (two principals, ``alice``
and ``bob``, default scopes), one without (every caller is ``local``). The clients are the SDK's
``Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers={"Authorization": ...})))``,
one per principal and server.

* Workload: each session is ``create_image_session`` then 3 ``generate_image_in_session`` turns
  (1024x1024 photo-like PNGs); a batch runs 5 sessions of each principal at once (10 in flight), and
  the batches alternate between the two servers (which goes first swaps every batch).
* Isolation (authenticated server): each principal's ``list_active_sessions`` and ``list_images``
  must list exactly its own 20 sessions and 60 images (count and ids; plus the first principal's
  warm-up ``generate_image``), and reading the other principal's session (``get_session_status``,
  ``list_images(session_id=...)``) must fail or be empty. A request without a token, or with an
  unknown one, must get HTTP 401.
* Cost of authentication: per-call time = the client-measured wall time of one ``tools/call``. The
  generation calls are dominated by image work, so cheap calls are compared too: 200 x
  ``list_active_sessions`` and 200 x ``get_usage_guide`` per server, one after another, alternating
  the servers call by call (order swapped every pair), after 20 warm-up calls each. Without auth
  every caller sees all 40 sessions, so the second principal's 20 are closed there first: both
  servers then list 20 active sessions out of 40 in their databases.

Run: .venv/bin/python -m benchmarks.remote
Targets: 0 errors, 0 leaks (exit status 1 otherwise); median per-call overhead of auth within 2 ms.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from openai_image_mcp.web import tokenfile
from tests.support.fake_openai import FakeOpenAI

PRINCIPALS = ("alice", "bob")
SESSIONS = 20  # per principal
TURNS = 3
BATCH = 5  # sessions of each principal in flight at once
CHEAP_CALLS = 200
WARMUP = 20
TARGET_MS = 2.0
AUTH, OPEN = "auth", "no-auth"
GEN_ARGS = {"size": "1024x1024", "quality": "low"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def http_server(fake: FakeOpenAI, workspace: Path, tokens_file: Path | None) -> Any:
    """``openai-image-mcp serve --transport http`` on a free loopback port; yields its /mcp URL."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OPENAI_API_KEY": "sk-test-0123456789",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_IMAGE_MCP_WORKSPACE": str(workspace),
        "OPENAI_IMAGE_MCP_MAX_RETRIES": "0",
        "LOG_LEVEL": "WARNING",
    }
    if tokens_file is not None:
        env["OPENAI_IMAGE_MCP_TOKENS_FILE"] = str(tokens_file)
    exe = Path(sys.executable).with_name("openai-image-mcp")
    proc = subprocess.Popen([str(exe), "serve", "--transport", "http", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            try:
                if httpx2.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 30 s")
            time.sleep(0.05)
        yield base + "/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@asynccontextmanager
async def connect(url: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx2.Timeout(30, read=300)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


@dataclass
class Run:
    times: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    sessions: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    images: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    async def call(self, mode: str, client: Client, tool: str, args: dict[str, Any], record: bool = True) -> Any:
        start = time.perf_counter()
        try:
            r = await client.call_tool(tool, args)
        except Exception as exc:  # a transport or protocol failure is an error of the run, not a crash
            self.errors.append(f"{mode} {tool}: {type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - start
        if r.is_error:
            self.errors.append(f"{mode} {tool}: {str(r.structured_content)[:300]}")
            return None
        if record:
            self.times[(mode, tool)].append(elapsed)
        return r.structured_content


async def session(run: Run, mode: str, who: str, client: Client, index: int) -> None:
    out = await run.call(mode, client, "create_image_session", {"description": f"{who} session {index}"})
    if out is None:
        return
    sid = out["session"]["session_id"]
    run.sessions[(mode, who)].add(sid)
    for turn in range(TURNS):
        prompt = f"{who} s{index} t{turn}: a lighthouse at dusk"
        gen = await run.call(
            mode, client, "generate_image_in_session", {"session_id": sid, "prompt": prompt, **GEN_ARGS}
        )
        if gen is None:
            continue
        if gen.get("status") != "completed" or not gen.get("images"):
            run.errors.append(f"{mode} generate_image_in_session: status {gen.get('status')!r}")
            continue
        run.images[(mode, who)].update(i["image_id"] for i in gen["images"])


async def batch(run: Run, mode: str, clients: dict[str, Client], first: int) -> None:
    async with anyio.create_task_group() as tg:
        for who in PRINCIPALS:
            for i in range(first, first + BATCH):
                tg.start_soon(session, run, mode, who, clients[who], i)


async def check_isolation(run: Run, clients: dict[str, Client]) -> dict[str, str]:
    """Each principal sees exactly its own sessions and images on the authenticated server."""
    seen: dict[str, str] = {}
    for who in PRINCIPALS:
        other = next(p for p in PRINCIPALS if p != who)
        own_s, own_i = run.sessions[(AUTH, who)], run.images[(AUTH, who)]
        listed = await run.call(AUTH, clients[who], "list_active_sessions", {}, record=False)
        images = await run.call(AUTH, clients[who], "list_images", {"limit": 100}, record=False)
        if listed is None or images is None:
            continue
        ids = {s["session_id"] for s in listed["sessions"]}
        image_ids = {i["image_id"] for i in images["images"]}
        foreign = [
            i for i in images["images"] if i["image_id"] not in own_i or i.get("session_id") not in own_s | {None}
        ]
        if listed["count"] != len(own_s) or ids != own_s:
            run.leaks.append(f"{who}: list_active_sessions count {listed['count']}, ids differ by {len(ids ^ own_s)}")
        if images["total"] != len(own_i) or image_ids != own_i or foreign:
            run.leaks.append(
                f"{who}: list_images total {images['total']}, ids differ by {len(image_ids ^ own_i)}, "
                f"{len(foreign)} from other sessions"
            )
        seen[who] = (
            f"{listed['count']} sessions (own {len(own_s)}, ids match: {ids == own_s}), "
            f"{images['total']} images (own {len(own_i)}, ids match: {image_ids == own_i})"
        )
        # the other principal's session, read directly
        target = sorted(run.sessions[(AUTH, other)])[0]
        status = await clients[who].call_tool("get_session_status", {"session_id": target})
        if not status.is_error:
            run.leaks.append(f"{who}: get_session_status of {other}'s session succeeded")
        by_session = await clients[who].call_tool("list_images", {"session_id": target})
        if not by_session.is_error and (by_session.structured_content or {}).get("images"):
            run.leaks.append(f"{who}: list_images(session_id=<{other}'s>) listed {other}'s images")
    return seen


async def check_rejected(run: Run, url: str) -> list[str]:
    """Without a token, or with an unknown one, the authenticated server answers 401."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    lines = []
    async with httpx2.AsyncClient(timeout=10) as http:
        for label, extra in (("no token", {}), ("unknown token", {"Authorization": "Bearer oim_not-a-real-token"})):
            r = await http.post(url, json=body, headers={**headers, **extra})
            lines.append(f"{label} -> HTTP {r.status_code}")
            if r.status_code != 401:
                run.leaks.append(f"{label}: HTTP {r.status_code}, expected 401")
    return lines


async def cheap_calls(run: Run, clients: dict[str, Client], tool: str) -> None:
    for _ in range(WARMUP):
        for mode in (AUTH, OPEN):
            await run.call(mode, clients[mode], tool, {}, record=False)
    for i in range(CHEAP_CALLS):
        for mode in (AUTH, OPEN) if i % 2 == 0 else (OPEN, AUTH):
            await run.call(mode, clients[mode], tool, {})


def ms(values: list[float]) -> str:
    v = sorted(x * 1000 for x in values)
    return (
        f"median {statistics.median(v):6.2f} ms, p90 {v[int(len(v) * 0.9)]:6.2f} ms, "
        f"min {v[0]:6.2f} ms, max {v[-1]:7.2f} ms (n={len(v)})"
    )


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def main() -> int:
    run = Run()
    started = time.perf_counter()
    with FakeOpenAI(latency=0.0) as fake, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tokens_file = root / "tokens"
        tokens = {who: tokenfile.add(tokens_file, who, [])[0] for who in PRINCIPALS}
        with (
            http_server(fake, root / "ws-auth", tokens_file) as auth_url,
            http_server(fake, root / "ws-open", None) as open_url,
        ):
            async with AsyncExitStack() as stack:
                auth = {who: await stack.enter_async_context(connect(auth_url, tokens[who])) for who in PRINCIPALS}
                opened = {who: await stack.enter_async_context(connect(open_url, None)) for who in PRINCIPALS}
                by_mode = {AUTH: auth, OPEN: opened}
                for mode, clients in by_mode.items():  # warm-up: first generation pays imports and caches
                    who = PRINCIPALS[0]
                    out = await run.call(mode, clients[who], "generate_image", {"prompt": "warm-up", **GEN_ARGS})
                    run.images[(mode, who)].update(i["image_id"] for i in (out or {}).get("images", []))
                setup = time.perf_counter() - started

                walls: dict[str, float] = defaultdict(float)
                for b, first in enumerate(range(0, SESSIONS, BATCH)):
                    for mode in (AUTH, OPEN) if b % 2 == 0 else (OPEN, AUTH):
                        t0 = time.perf_counter()
                        await batch(run, mode, by_mode[mode], first)
                        walls[mode] += time.perf_counter() - t0
                    fake.reset()  # the fake keeps every request (and its 2.5 MB answer) otherwise

                isolation = await check_isolation(run, auth)
                rejected = await check_rejected(run, auth_url)
                opened_count = await run.call(OPEN, opened[PRINCIPALS[0]], "list_active_sessions", {}, record=False)
                # without auth every caller sees all 40 sessions; close the second principal's 20 so that
                # list_active_sessions answers 20 on both servers (each database still holds 40)
                for sid in sorted(run.sessions[(OPEN, PRINCIPALS[1])]):
                    await run.call(OPEN, opened[PRINCIPALS[1]], "close_session", {"session_id": sid}, record=False)

                one = {AUTH: auth[PRINCIPALS[0]], OPEN: opened[PRINCIPALS[0]]}
                for tool in ("list_active_sessions", "get_usage_guide"):
                    await cheap_calls(run, one, tool)

    total = time.perf_counter() - started
    print(
        f"remote: {len(PRINCIPALS)} principals x {SESSIONS} sessions x {TURNS} turns per server, "
        f"{BATCH * len(PRINCIPALS)} sessions in flight, fake latency 0, 1024x1024 photo-like PNG (quality low)"
    )
    print(f"wall: workload with auth {walls[AUTH]:.1f} s, without {walls[OPEN]:.1f} s; whole run {total:.1f} s")
    print(f"  (start of both servers, clients and one warm-up generation each: {setup:.1f} s)")
    print("\nisolation (authenticated server):")
    for who, line in isolation.items():
        print(f"  {who}: {line}")
    for line in rejected:
        print(f"  {line}")
    if opened_count is not None:
        print(f"  (server without auth: every caller is 'local' and sees all {opened_count['count']} sessions)")

    print("\nper-call time (client-measured tools/call):")
    tools = ("create_image_session", "generate_image_in_session", "list_active_sessions", "get_usage_guide")
    deltas = {}
    for tool in tools:
        a, o = run.times[(AUTH, tool)], run.times[(OPEN, tool)]
        if not a or not o:
            continue
        deltas[tool] = median_ms(a) - median_ms(o)
        print(f"  {tool}")
        print(f"    auth    {ms(a)}")
        print(f"    no-auth {ms(o)}")
        print(f"    median difference {deltas[tool]:+.2f} ms")

    cheap = [deltas[t] for t in ("list_active_sessions", "get_usage_guide") if t in deltas]
    worst = max(cheap) if cheap else float("nan")
    print("\nsummary:")
    print(f"  errors {len(run.errors)}")
    print(f"  leaks {len(run.leaks)}")
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"  auth overhead per call (median, cheap calls): {worst:+.2f} ms ({verdict} the {TARGET_MS:.0f} ms target)")
    for line in (run.errors + run.leaks)[:10]:
        print("  !", line)
    return 1 if run.errors or run.leaks else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))

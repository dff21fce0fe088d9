"""Several real replicas of ``openai-image-mcp serve --transport http --stateless`` behind haproxy, on one Redis
(state, coordination) and one S3 bucket (image bytes): the scale-out set-up of issue 11, for the multi-replica test
(``tests/scale/``) and the benchmarks (``benchmarks/replicas_soak.py``, ``scale_overhead.py``, ``scale_load.py``).

- :class:`SharedStores`: a fresh key prefix on a Redis server and a fresh bucket on an S3 server, as the replicas'
  environment (``OPENAI_IMAGE_MCP_STATE_URL``, ``..._REDIS_PREFIX``, ``..._BLOB_URL``, ``..._S3_ENDPOINT``,
  ``AWS_*``); without it a replica keeps SQLite and files in its own workspace.
- :class:`Cluster`: the replicas as subprocesses (``python -m openai_image_mcp serve ...``) on free loopback ports,
  each with its own workspace, log file and replica id (``r0``, ``r1``...), waited for on ``/readyz``; and haproxy
  (round robin, no stickiness, health checks on ``/healthz``, connection failures retried on another server).
- :class:`Caller` and :class:`User`: MCP over Streamable HTTP where every call is a new stateless request (protocol
  2026-07-28, no session), so consecutive calls of one user land on different replicas.
- :func:`kill_one_replica`: the scenario: sessions of turns through haproxy, one replica SIGKILLed half-way, retries
  the way a user would make them, then every check of the issue (images readable from every survivor, the dead
  replica's turns interrupted, turn numbers unique, no lock and no orphan object left).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx2
import psutil
import redis.asyncio as aioredis
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolRequest, CallToolRequestParams, CallToolResult, ReadResourceResult

from tests.support.services import RedisServer, S3Server, free_port

TEST_KEY = "sk-test-0123456789abcdefghijklmnop"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
#: Safety nets against a hang, never measurements.
STARTUP_TIMEOUT = 30.0
CALL_TIMEOUT = 120.0
#: The stateless protocol era: every call is one POST, no session, no discovery round trip.
PROTOCOL = "2026-07-28"
#: An image object of a session (not its metadata sidecar, a preview or a conversation log).
IMAGE_KEY = re.compile(r"/images/image_\d+\.(png|jpeg|jpg|webp)$")


# -- the shared stores -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedStores:
    """Where the replicas share their state (a key prefix of a Redis) and their bytes (a bucket of an S3 server)."""

    redis_url: str
    redis_prefix: str
    s3_endpoint: str
    bucket: str
    aws: dict[str, str]
    blob_prefix: str = "images"

    @classmethod
    def fresh(cls, redis: RedisServer, s3: S3Server) -> SharedStores:
        """A new key prefix and a new, empty bucket: nothing of another run is seen."""
        return cls(redis.url, redis.prefix(), s3.endpoint, s3.bucket(), s3.environ())

    @property
    def blob_url(self) -> str:
        return f"s3://{self.bucket}/{self.blob_prefix}"

    def environ(self) -> dict[str, str]:
        return {
            "OPENAI_IMAGE_MCP_STATE_URL": self.redis_url,
            "OPENAI_IMAGE_MCP_REDIS_PREFIX": self.redis_prefix,
            "OPENAI_IMAGE_MCP_BLOB_URL": self.blob_url,
            "OPENAI_IMAGE_MCP_S3_ENDPOINT": self.s3_endpoint,
            **self.aws,
        }

    def objects(self) -> list[str]:
        """Every key in the bucket (S3 lists 1,000 at a time: the pages are followed)."""
        keys: list[str] = []
        token = ""
        while True:
            url = f"{self.s3_endpoint}/{self.bucket}?list-type=2"
            if token:
                url += f"&continuation-token={quote(token, safe='')}"
            with urllib.request.urlopen(url, timeout=10) as response:
                text = response.read().decode()
            keys += re.findall(r"<Key>([^<]+)</Key>", text)
            found = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", text)
            if "<IsTruncated>true</IsTruncated>" not in text or found is None:
                return keys
            token = found.group(1)

    def ref(self, key: str) -> str:
        """The blob ref (what the image records keep) of an object key."""
        return f"s3://{self.bucket}/{key}"

    @asynccontextmanager
    async def redis(self) -> AsyncIterator[aioredis.Redis]:
        client = aioredis.Redis.from_url(self.redis_url, decode_responses=True)
        try:
            yield client
        finally:
            await client.aclose()

    async def keys(self, pattern: str) -> list[str]:
        """The keys under the prefix matching ``pattern`` (``co:lock:*``)."""
        async with self.redis() as r:
            return [k async for k in r.scan_iter(match=self.redis_prefix + pattern, count=1000)]


@dataclass
class S3Process(S3Server):
    """The S3 server of the tests (moto behind the presign check) in a process of its own, for the benchmarks: its
    CPU (moto is Python) does not compete with the client's for the GIL, and ``pid`` tells what it spent."""

    process: subprocess.Popen[str] | None = None
    address: str = ""

    @property
    def endpoint(self) -> str:
        assert self.address, "start() the server first"
        return self.address

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> S3Process:
        code = (
            "import logging, sys; from tests.support.services import S3Server\n"
            "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
            "s = S3Server().start(); print(s.endpoint, flush=True); sys.stdin.read(); s.stop()"
        )
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": root}
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.address = self.process.stdout.readline().strip()
        assert self.address.startswith("http://"), "the S3 server did not start"
        return self

    def stop(self) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None


# -- the replicas and the balancer -----------------------------------------------------------------------------------


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


@dataclass
class Replica:
    index: int
    replica_id: str
    port: int
    workspace: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    killed: bool = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def served_calls(self) -> int:
        """Tool calls this replica answered (its log has a line for each)."""
        return self.log().count("tool call finished")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (0 once it is gone)."""
        if not self.alive:
            return 0.0
        assert self.process is not None
        try:
            times = psutil.Process(self.process.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def kill(self) -> None:
        """SIGKILL: no goodbye to Redis, no lock released, no turn ended."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.killed = True

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


HAPROXY_CONFIG = """\
global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-request 30s
    timeout queue 30s
    retries 3
    retry-on conn-failure
    option redispatch 1
    option http-server-close

frontend mcp
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /healthz
    default-server check inter 500ms fall 2 rise 1
{servers}
"""


@dataclass
class Cluster:
    """``size`` replicas in ``folder`` (workspaces and logs), haproxy in front when ``balancer``."""

    folder: Path
    fake_url: str
    size: int = 3
    stores: SharedStores | None = None
    lease: float | None = 3.0
    balancer: bool = True
    env: dict[str, str] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    port: int = 0
    haproxy: subprocess.Popen[bytes] | None = None

    # -- start and stop ------------------------------------------------------------------------------------------
    def replica_env(self, replica: Replica) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "OPENAI_API_KEY": TEST_KEY,
            "OPENAI_BASE_URL": self.fake_url,
            "OPENAI_IMAGE_MCP_WORKSPACE": str(replica.workspace),
            "OPENAI_IMAGE_MCP_REPLICA_ID": replica.replica_id,
            "OPENAI_IMAGE_MCP_MAX_RETRIES": "0",
            "OPENAI_IMAGE_MCP_PUBLIC_URL": self.url,
            "MCP_MAX_SESSIONS": "1000",
            "LOG_LEVEL": "INFO",
            **{k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "COVERAGE_PROCESS_START")},
        }
        if self.lease is not None:
            env["OPENAI_IMAGE_MCP_LEASE_SECONDS"] = str(self.lease)
        if self.stores is not None:
            env.update(self.stores.environ())
        env.update(self.env)
        return env

    def start(self) -> Cluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.balancer:
            self.port = free_port()
        for i in range(self.size):
            replica = Replica(i, f"r{i}", free_port(), self.folder / f"r{i}" / "workspace", self.folder / f"r{i}.log")
            replica.workspace.mkdir(parents=True, exist_ok=True)
            self.replicas.append(replica)
        try:
            for replica in self.replicas:  # all at once: their imports overlap
                args = ["serve", "--transport", "http", "--stateless", "--host", "127.0.0.1"]
                args += ["--port", str(replica.port)]
                with replica.log_path.open("wb") as log:
                    replica.process = subprocess.Popen(
                        [sys.executable, "-m", "openai_image_mcp", *args],
                        env=self.replica_env(replica),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
            for replica in self.replicas:
                self._wait_ready(replica)
            if self.balancer:
                self._start_haproxy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, replica: Replica) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while _get(f"{replica.base}/readyz") != 200:
            if not replica.alive:
                raise RuntimeError(f"replica {replica.replica_id} exited:\n{replica.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica {replica.replica_id} is not ready:\n{replica.log()[-4000:]}")
            time.sleep(0.05)

    def _start_haproxy(self) -> None:
        servers = "\n".join(f"    server {r.replica_id} 127.0.0.1:{r.port}" for r in self.replicas)
        config = self.folder / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=self.port, servers=servers))
        with (self.folder / "haproxy.log").open("wb") as log:
            self.haproxy = subprocess.Popen(
                [HAPROXY, "-f", str(config), "-db"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while _get(f"http://127.0.0.1:{self.port}/healthz") != 200:
            if self.haproxy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("haproxy did not start:\n" + (self.folder / "haproxy.log").read_text())
            time.sleep(0.05)

    def stop(self) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait(5)
        for replica in self.replicas:
            replica.stop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use -------------------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Where clients call /mcp: haproxy's, or the only replica's."""
        if self.balancer:
            return f"http://127.0.0.1:{self.port}/mcp"
        return f"http://127.0.0.1:{self.replicas[0].port}/mcp" if self.replicas else ""

    @property
    def survivors(self) -> list[Replica]:
        return [r for r in self.replicas if not r.killed]

    def cpu_seconds(self) -> float:
        """The replicas' CPU time together (the living ones)."""
        return sum(r.cpu_seconds() for r in self.replicas)

    def logs(self, tail: int | None = 6000) -> str:
        """The replicas' logs (the last ``tail`` characters of each; all with None)."""
        return "\n".join(f"==== {r.replica_id}\n{r.log()[-tail if tail else 0 :]}" for r in self.replicas)


# -- the client ------------------------------------------------------------------------------------------------------


class User:
    """One user of the MCP server at ``url``. Every call is a new stateless POST (a balancer may send each to another
    replica) made by a new SDK client: in the 2026-07-28 era a POST that fails (a replica killed mid-call) ends the
    whole client, so no client outlives its call. A call is sent as a plain ``tools/call`` request (the session's
    public ``send_request``): ``Client.call_tool`` would list the tools first in every new client to check the result
    against its output schema, doubling the requests (the tests check results themselves)."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Client]:
        async with Client(streamable_http_client(self.url, http_client=self.http), mode=PROTOCOL) as client:
            yield client

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        request = CallToolRequest(params=CallToolRequestParams(name=tool, arguments=arguments))
        with anyio.fail_after(CALL_TIMEOUT):
            async with self.client() as client:
                return await client.session.send_request(request, CallToolResult)

    async def ok(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The structured result of a call that must succeed (AssertionError otherwise)."""
        result = await self.call(tool, arguments)
        assert not result.is_error and result.structured_content is not None, f"{tool}: {result.content}"
        return dict(result.structured_content)

    async def read(self, uri: str) -> ReadResourceResult:
        with anyio.fail_after(CALL_TIMEOUT):
            async with self.client() as client:
                return await client.read_resource(uri, cache_mode="bypass")


class Caller:
    """Users of MCP over Streamable HTTP, all through one pool of HTTP connections."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http

    @classmethod
    @asynccontextmanager
    async def open(cls, *, connections: int = 100) -> AsyncIterator[Caller]:
        limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx2.AsyncClient(timeout=CALL_TIMEOUT, limits=limits) as http:
            yield cls(http)

    def user(self, url: str) -> User:
        return User(self.http, url)

    async def ok(self, url: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """One call by a new user."""
        return await self.user(url).ok(tool, arguments)


# -- the scenario: a replica dies half-way ---------------------------------------------------------------------------


@dataclass
class Failure:
    """A call that did not give its answer: what it was, when (seconds from the start), and what happened."""

    tool: str
    started: float
    ended: float
    error: str


@dataclass
class Outcome:
    """What :func:`kill_one_replica` saw; ``problems`` lists every check that failed (empty: the run passed)."""

    sessions: int = 0
    turns: int = 0
    killed: str = ""
    killed_at: float = 0.0
    killed_by: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    retried_turns: int = 0
    interrupted: int = 0
    served: dict[str, int] = field(default_factory=dict)
    images: int = 0
    wall: float = 0.0
    problems: list[str] = field(default_factory=list)

    def check(self, condition: object, problem: str) -> None:
        if not condition:
            self.problems.append(problem)

    def summary(self) -> str:
        return (
            f"{self.sessions} sessions, {self.turns} turns, {self.images} images; killed {self.killed} at "
            f"{self.killed_at:.1f} s; {len(self.failures)} failed call(s), {self.retried_turns} turn(s) generated "
            f"again, {self.interrupted} interrupted; calls served {self.served}; {self.wall:.1f} s"
        )


@dataclass
class _Made:
    """A turn the user saw succeed: its session, number and images (id -> resource URI)."""

    session_id: str
    prompt: str
    turn: int
    images: dict[str, str]


async def kill_one_replica(
    cluster: Cluster,
    caller: Caller,
    *,
    sessions: int = 30,
    turns: int = 4,
    concurrency: int = 10,
    victim: int = 1,
    image: dict[str, Any] | None = None,
) -> Outcome:
    """``sessions`` sessions of ``turns`` turns through the balancer, ``concurrency`` sessions at once; replica
    ``victim`` is SIGKILLed when half the turns are done. A call that fails is handled as a user would: look at the
    session (``get_session_status``), and generate the turn again unless it is there. Then every check of issue 11;
    the result's ``problems`` lists those that failed."""
    assert cluster.stores is not None, "the scenario needs the shared stores"
    stores = cluster.stores
    image = image or {"quality": "low", "size": "1024x1024"}
    out = Outcome(sessions=sessions)
    made: list[_Made] = []
    sids: list[str] = []
    total = sessions * turns
    limit = anyio.Semaphore(concurrency)
    t0 = time.monotonic()

    def now() -> float:
        return time.monotonic() - t0

    async def attempt(user: User, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """One call through the balancer; None (and the failure noted) when it gives no good answer."""
        started = now()
        try:
            result = await user.call(tool, arguments)
        except Exception as exc:  # a replica that died mid-call: 502, a reset connection, a broken stream
            out.failures.append(Failure(tool, started, now(), repr(exc)[:300]))
            return None
        data = result.structured_content or {}
        if result.is_error or not data.get("success") or data.get("status") not in (None, "completed"):
            out.failures.append(Failure(tool, started, now(), f"tool error: {str(data or result.content)[:300]}"))
            return None
        return dict(data)

    async def persist(user: User, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        for _ in range(5):
            data = await attempt(user, tool, arguments)
            if data is not None:
                return data
            await anyio.sleep(0.2)
        raise AssertionError(f"{tool} failed 5 times: {out.failures[-1].error}")

    async def maybe_kill() -> None:
        if out.killed or out.turns < total // 2:
            return
        replica = cluster.replicas[victim]
        out.killed = replica.replica_id
        # at a moment the victim is drawing a turn (a pending turn of its own in Redis), so there is one to interrupt
        async with stores.redis() as r:
            with anyio.move_on_after(3):
                while replica.replica_id not in await r.hvals(stores.redis_prefix + "pending_turns"):
                    await anyio.sleep(0.01)
        out.killed_at = now()
        await anyio.to_thread.run_sync(replica.kill)
        out.killed_by = now()  # the process is gone (the SIGKILL was sent between the two)

    async def turn(user: User, sid: str, prompt: str) -> None:
        arguments = {"session_id": sid, "prompt": prompt, "wait_seconds": 90, **image}
        for _ in range(4):
            data = await attempt(user, "generate_image_in_session", arguments)
            if data is not None:
                images = {i["image_id"]: i["resource_uri"] for i in data["images"]}
                made.append(_Made(sid, prompt, int(data["turn"]), images))
                break
            # what a user does: look, and draw the turn again unless it got done after all
            status = await persist(user, "get_session_status", {"session_id": sid})
            done = [t for t in status["turns"] if t["prompt"] == prompt and t["status"] == "completed"]
            if done:
                uris = {i["image_id"]: i["resource_uri"] for i in status["images"]}
                made.append(_Made(sid, prompt, int(done[0]["turn"]), {i: uris[i] for i in done[0]["image_ids"]}))
                break
            out.retried_turns += 1
        else:
            out.problems.append(f"{sid}: '{prompt}' failed 4 times")
        out.turns += 1
        await maybe_kill()

    async def session(i: int) -> None:
        user = caller.user(cluster.url)
        async with limit:
            created = await persist(user, "create_image_session", {"description": f"scale session {i}"})
            sid = created["session"]["session_id"]
            sids.append(sid)
            for t in range(turns):
                await turn(user, sid, f"session {i} turn {t + 1}")

    async with anyio.create_task_group() as tg:
        for i in range(sessions):
            tg.start_soon(session, i)
    await maybe_kill()

    # every failure is a call the victim was answering when it died (a call sent later is retried by haproxy)
    for f in out.failures:
        out.check(
            f.started <= out.killed_by and f.ended >= out.killed_at and not f.error.startswith("tool error"),
            f"a call failed that the killed replica was not answering (killed {out.killed_at:.3f}-"
            f"{out.killed_by:.3f} s): {f}",
        )
    survivors = cluster.survivors
    # a dead replica's turns are interrupted within its lease (the heartbeat runs out) and a sweep (a third of it)
    await _wait_swept(cluster, out, timeout=max(1.0, out.killed_at + 2 * (cluster.lease or 15) + 3 - now()))
    out.wall = now()
    await _check_sessions(cluster, caller, sids, made, out, turns=turns)
    await _check_images(cluster, caller, made, out)

    # every session goes on after the kill: one more turn each, which must work the first time
    before = len(out.failures)
    extra: list[_Made] = []

    async def one_more(sid: str) -> None:
        user = caller.user(cluster.url)
        async with limit:
            arguments = {"session_id": sid, "prompt": "one more", "wait_seconds": 90, **image}
            data = await attempt(user, "generate_image_in_session", arguments)
            if data is not None:
                extra.append(_Made(sid, "one more", int(data["turn"]), {}))

    async with anyio.create_task_group() as tg:
        for sid in sids:
            tg.start_soon(one_more, sid)
    out.check(len(out.failures) == before, f"turns after the kill failed: {out.failures[before:]}")
    out.check(len(extra) == len(sids), f"{len(sids) - len(extra)} session(s) could not go on after the kill")
    out.turns += len(extra)

    # nothing left behind: no lock, no pending turn, no image object without its record
    locks = await stores.keys("co:lock:*")
    async with stores.redis() as r:
        pending = await r.hlen(stores.redis_prefix + "pending_turns")
        paths = set(await r.hkeys(stores.redis_prefix + "images:path"))
    out.check(not locks, f"locks left behind: {locks}")
    out.check(pending == 0, f"{pending} turn(s) still pending in Redis")
    objects = await anyio.to_thread.run_sync(stores.objects)
    orphans = [k for k in objects if IMAGE_KEY.search(k) and stores.ref(k) not in paths]
    out.check(not orphans, f"image objects without a record: {orphans}")
    out.check(len(survivors) == cluster.size - 1, "the victim was never killed")

    out.served = {r.replica_id: r.served_calls() for r in cluster.replicas}
    out.check(all(out.served.values()), f"not every replica served calls: {out.served}")
    out.wall = now()
    return out


async def _wait_swept(cluster: Cluster, out: Outcome, *, timeout: float) -> None:
    """Until no turn is pending (a survivor's sweep interrupts the victim's), for at most ``timeout`` seconds."""
    assert cluster.stores is not None
    key = cluster.stores.redis_prefix + "pending_turns"
    async with cluster.stores.redis() as r:
        with anyio.move_on_after(timeout):
            while await r.hlen(key):
                await anyio.sleep(0.1)
        left = await r.hgetall(key)
    out.check(not left, f"turns still pending {out.wall:.1f} s into the run: {left}")


async def _check_sessions(
    cluster: Cluster, caller: Caller, sids: list[str], made: list[_Made], out: Outcome, *, turns: int
) -> None:
    """Each session, as a survivor tells it: ``turns`` completed turns, every other one interrupted (and begun by
    the victim), no number used twice, every turn the user saw done with its images."""
    assert cluster.stores is not None
    prefix = cluster.stores.redis_prefix
    survivors = cluster.survivors
    seen: dict[str, list[_Made]] = {}
    for m in made:
        seen.setdefault(m.session_id, []).append(m)

    async def check(user: User, sid: str) -> None:
        status = await user.ok("get_session_status", {"session_id": sid})
        numbers = [t["turn"] for t in status["turns"]]
        by_status: dict[str, int] = {}
        for t in status["turns"]:
            by_status[t["status"]] = by_status.get(t["status"], 0) + 1
        out.check(len(numbers) == len(set(numbers)), f"{sid}: a turn number is used twice: {numbers}")
        out.check(by_status.get("completed") == turns, f"{sid}: {by_status} (want {turns} completed)")
        out.check(set(by_status) <= {"completed", "interrupted"}, f"{sid}: turns neither done nor interrupted")
        images = {i["image_id"] for i in status["images"]}
        for m in seen.get(sid, []):
            done = [t for t in status["turns"] if t["turn"] == m.turn]
            out.check(done and done[0]["status"] == "completed", f"{sid}: turn {m.turn} was seen done, now {done}")
            out.check(set(m.images) <= images, f"{sid}: images of turn {m.turn} missing")
        out.check(len(seen.get(sid, [])) == turns, f"{sid}: the user saw {len(seen.get(sid, []))} turns done")
        out.interrupted += by_status.get("interrupted", 0)

    async with anyio.create_task_group() as tg:
        for n, replica in enumerate(survivors):  # the sessions shared out among the survivors
            mine = sids[n :: len(survivors)]
            tg.start_soon(_work, caller, replica.url, [partial(check, sid=sid) for sid in mine])
    # the interrupted turns are the victim's (the store tags each turn with the replica that began it)
    async with cluster.stores.redis() as r:
        for sid in sids:
            for tid in await r.zrange(f"{prefix}session_turns:{sid}", 0, -1):
                fields = await r.hmget(f"{prefix}turn:{tid}", ["status", "replica"])
                if fields[0] == "interrupted":
                    out.check(fields[1] == out.killed, f"turn {tid} of {fields[1]} interrupted, not the victim's")
    generate_failures = sum(1 for f in out.failures if f.tool == "generate_image_in_session")
    out.check(out.interrupted <= generate_failures, f"{out.interrupted} interrupted for {generate_failures} failures")


async def _check_images(cluster: Cluster, caller: Caller, made: list[_Made], out: Outcome) -> None:
    """Every image a user saw done: its record and sidecar in the bucket, and readable from every survivor directly
    (``resources/read`` of its URI, and ``view_image``), bypassing the balancer."""
    stores = cluster.stores
    assert stores is not None
    images = {i: uri for m in made for i, uri in m.images.items()}
    out.images = len(images)
    objects = set(await anyio.to_thread.run_sync(stores.objects))
    async with stores.redis() as r:
        records = await r.mget([f"{stores.redis_prefix}image:{i}" for i in images]) if images else []
    for image_id, raw in zip(images, records, strict=True):
        if raw is None:
            out.problems.append(f"image {image_id} has no record")
            continue
        path = str(_json(raw)["path"])
        key = path.removeprefix(f"s3://{stores.bucket}/")
        sidecar = re.sub(r"\.\w+$", "_metadata.json", key)
        out.check(key in objects, f"image {image_id}: no object at {key}")
        out.check(sidecar in objects, f"image {image_id}: no metadata sidecar at {sidecar}")

    async def read(user: User, uri: str) -> None:
        try:
            result = await user.read(uri)
        except Exception as exc:
            out.problems.append(f"{user.url} cannot read {uri}: {exc!r}"[:400])
            return
        blob = result.contents[0] if result.contents else None
        ok = blob is not None and getattr(blob, "blob", "") and str(blob.mime_type or "").startswith("image/")
        out.check(ok, f"{user.url}: {uri} read as {str(blob)[:200]}")

    async def view(user: User, ids: list[str]) -> None:
        result = await user.call("view_image", {"image_ids": ids, "preview_size": 64})
        out.check(not result.is_error, f"{user.url}: view_image failed: {str(result.content)[:300]}")

    ids = list(images)
    async with anyio.create_task_group() as tg:
        for replica in cluster.survivors:
            jobs = [partial(read, uri=uri) for uri in images.values()]
            jobs += [partial(view, ids=ids[start : start + 16]) for start in range(0, len(ids), 16)]
            tg.start_soon(_work, caller, replica.url, jobs)


async def _work(caller: Caller, url: str, jobs: list[Callable[[User], Awaitable[None]]], workers: int = 4) -> None:
    """``jobs`` done by ``workers`` users of ``url`` at once."""
    queue = list(reversed(jobs))

    async def worker() -> None:
        user = caller.user(url)
        while queue:
            await queue.pop()(user)

    async with anyio.create_task_group() as tg:
        for _ in range(min(workers, len(jobs))):
            tg.start_soon(worker)


def _json(raw: str) -> dict[str, Any]:
    value = json.loads(raw)
    assert isinstance(value, dict)
    return value


@contextlib.contextmanager
def scratch(prefix: str = "oim-cluster-") -> Iterator[Path]:
    """A temporary folder for a cluster's workspaces and logs (kept when ``OIM_KEEP_CLUSTER`` is set)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        if not os.environ.get("OIM_KEEP_CLUSTER"):
            shutil.rmtree(folder, ignore_errors=True)

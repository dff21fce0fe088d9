"""Two replicas in one test process, each a whole server (its own MCP client, service and coordinator) on one real
Redis and one images folder: a session's turns stay in order across them, a job of one is awaited and cancelled
from the other, a dead replica's turns and jobs are interrupted by a survivor, a replica that lost its lease cannot
commit, and the limits are shared. (The three-process test behind haproxy is tests/scale/.)"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis.asyncio as aioredis
from mcp import Client

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import ImageMCPServer, create_server
from openai_image_mcp.store.redis import RedisStateStore
from openai_image_mcp.store.redis.coordination import RedisCoordinator
from tests.support.fake_openai import FakeOpenAI
from tests.support.services import RedisServer


@pytest.fixture
def shared(settings: Settings, redis_server: RedisServer, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "state_url": redis_server.url,
            "redis_prefix": redis_server.prefix(),
            "blob_url": f"file://{tmp_path / 'shared-images'}",
            "lease_seconds": 1.5,
        }
    )


class Replica:
    def __init__(self, server: ImageMCPServer, client: Client) -> None:
        self.server = server
        self.client = client

    async def call(self, tool: str, args: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        r = await self.client.call_tool(tool, args)
        assert r.structured_content is not None, r.content
        return not r.is_error, r.structured_content

    async def ok(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        good, out = await self.call(tool, args)
        assert good, out
        return out


@asynccontextmanager
async def replicas(shared: Settings, tmp_path: Path, *names: str) -> AsyncIterator[list[Replica]]:
    async with AsyncExitStack() as stack:
        out = []
        for name in names:
            own = shared.model_copy(update={"replica_id": name, "workspace": tmp_path / f"ws-{name}"})
            server = create_server(own)
            client = await stack.enter_async_context(Client(server))
            out.append(Replica(server, client))
        yield out


async def new_session(r: Replica) -> str:
    return str((await r.ok("create_image_session", {"description": "foxes"}))["session"]["session_id"])


async def turns(r: Replica, sid: str) -> list[dict[str, Any]]:
    return list((await r.ok("get_session_status", {"session_id": sid}))["turns"])


async def test_turns_of_one_session_sent_to_two_replicas_at_once_stay_in_order(
    shared: Settings, tmp_path: Path, fake: FakeOpenAI
) -> None:
    fake.latency = 0.3
    async with replicas(shared, tmp_path, "a", "b") as (a, b):
        sid = await new_session(a)
        done: list[int] = []

        async def turn(r: Replica, prompt: str) -> None:
            out = await r.ok("generate_image_in_session", {"session_id": sid, "prompt": prompt, "quality": "low"})
            done.append(int(out["turn"]))

        async with anyio.create_task_group() as tg:
            for i, r in enumerate([a, b, a, b]):
                tg.start_soon(turn, r, f"fox {i}")
        assert sorted(done) == [1, 2, 3, 4]
        history = await turns(b, sid)
        assert [t["turn"] for t in history] == [1, 2, 3, 4]
        assert all(t["status"] == "completed" for t in history)
        # each turn chained on the one before: OpenAI saw previous_response_id = the last turn's response
        sent = [req.json.get("previous_response_id") for req in fake.requests_to("/responses", "POST")]
        assert sent[0] is None and all(sent[1:]) and len(set(sent[1:])) == 3


async def test_a_job_of_one_replica_is_awaited_and_cancelled_from_another(
    shared: Settings, tmp_path: Path, fake: FakeOpenAI
) -> None:
    async with replicas(shared, tmp_path, "a", "b") as (a, b):
        fake.hold()
        started = await a.ok("generate_image", {"prompt": "an owl", "quality": "low", "wait_seconds": 0})
        job = started["job_id"]
        assert started["status"] == "running"
        await fake.wait_for_requests_async(1)
        pending = await b.ok("get_generation_result", {"job_id": job, "wait_seconds": 0.3})
        assert pending["status"] == "running"
        async with anyio.create_task_group() as tg:

            async def later() -> None:
                await anyio.sleep(0.3)
                fake.release()

            tg.start_soon(later)
            with anyio.fail_after(10):
                result = await b.ok("get_generation_result", {"job_id": job, "wait_seconds": 10})
        assert result["status"] == "completed" and result["image_id"]

        fake.hold()
        second = await a.ok("generate_image", {"prompt": "a cat", "quality": "low", "wait_seconds": 0})
        await fake.wait_for_requests_async(2)
        with anyio.fail_after(10):
            cancelled = await b.ok("cancel_generation", {"job_id": second["job_id"]})
        assert cancelled["status"] == "cancelled"
        fake.release()
        good, after = await a.call("get_generation_result", {"job_id": second["job_id"]})
        assert not good and after["error_type"] == "cancelled"


async def test_a_dead_replicas_turn_and_job_are_interrupted_and_the_session_goes_on(
    shared: Settings, tmp_path: Path, fake: FakeOpenAI, redis_server: RedisServer
) -> None:
    prefix = shared.redis_prefix
    async with replicas(shared, tmp_path, "b") as (b,):
        sid = await new_session(b)
        first = await b.ok("generate_image_in_session", {"session_id": sid, "prompt": "a fox", "quality": "low"})
        # a replica "ghost" began a turn of this session and a job, announced itself, then died (no more heartbeats)
        ghost_state = RedisStateStore(redis_server.url, replica="ghost", prefix=prefix)
        ghost = RedisCoordinator(redis_server.url, replica="ghost", prefix=prefix)
        await ghost_state.open()
        await ghost.heartbeat(ttl=0.2)
        await ghost_state.sessions.begin_turn(sid, "lost prompt", {}, None, now=time.time(), fence=None)
        await ghost_state.jobs.create("ghostjob", "generate_image_in_session", sid, owner="local", now=time.time())
        with anyio.fail_after(10):  # b's watch (every lease/3) notices within the lease, and tells the waiter
            good, ended = await b.call("get_generation_result", {"job_id": "ghostjob", "wait_seconds": 8})
        assert not good and ended["error_type"] == "interrupted"
        history = await turns(b, sid)
        assert [t["status"] for t in history] == ["completed", "interrupted"]
        nxt = await b.ok("generate_image_in_session", {"session_id": sid, "prompt": "at night", "quality": "low"})
        assert nxt["turn"] == 3  # a number is never used twice
        chained = fake.requests_to("/responses", "POST")[-1].json
        assert chained["previous_response_id"] == first["response_id"]  # the chain skips the lost turn
        await ghost_state.close()
        await ghost.close()


async def test_a_replica_that_lost_its_lease_cannot_commit(
    shared: Settings, tmp_path: Path, fake: FakeOpenAI, redis_server: RedisServer
) -> None:
    lock_key = f"{shared.redis_prefix}co:lock:session:"
    raw = aioredis.Redis.from_url(redis_server.url)
    async with replicas(shared, tmp_path, "a", "b") as (a, b):
        sid = await new_session(a)
        fake.hold()
        async with anyio.create_task_group() as tg:
            results: dict[str, tuple[bool, dict[str, Any]]] = {}

            async def slow() -> None:
                results["a"] = await a.call(
                    "generate_image_in_session", {"session_id": sid, "prompt": "slow fox", "quality": "low"}
                )

            tg.start_soon(slow)
            await fake.wait_for_requests_async(1)  # a holds the lock and waits for OpenAI
            await raw.delete(lock_key + sid)  # a's lease is gone (as if a stalled past it): b takes the lock
            tg.start_soon(lambda: b.ok("generate_image_in_session", {"session_id": sid, "prompt": "b's fox"}))
            await fake.wait_for_requests_async(2)  # b began its turn with a higher fence
            fake.release()
        good, out = results["a"]
        assert not good and out["error_type"] == "lease_lost", out
        history = await turns(b, sid)
        assert [(t["turn"], t["status"]) for t in history] == [(1, "failed"), (2, "completed")]
        files = sorted(p.name for p in (tmp_path / "shared-images" / "sessions" / sid / "images").glob("*.png"))
        assert len(files) == 1  # b's (a had claimed image_001 first, so b's is image_002); a's was removed
        again = await a.ok("generate_image_in_session", {"session_id": sid, "prompt": "retry", "quality": "low"})
        assert again["turn"] == 3
    await raw.aclose()


async def test_limits_are_shared_by_the_replicas(shared: Settings, tmp_path: Path, fake: FakeOpenAI) -> None:
    limited = shared.model_copy(update={"rate_limit_per_minute": 2})
    async with replicas(limited, tmp_path, "a", "b") as (a, b):
        await a.ok("generate_image", {"prompt": "one", "quality": "low"})
        await b.ok("generate_image", {"prompt": "two", "quality": "low"})
        good, refused = await a.call("generate_image", {"prompt": "three", "quality": "low"})
        assert not good and refused["error_type"] == "rate_limited"


async def test_openai_requests_per_minute_are_paced_across_replicas(
    shared: Settings, tmp_path: Path, fake: FakeOpenAI
) -> None:
    paced = shared.model_copy(update={"openai_rpm": 2})
    async with replicas(paced, tmp_path, "a", "b") as (a, b):
        await a.ok("generate_image", {"prompt": "one", "quality": "low"})
        await b.ok("generate_image", {"prompt": "two", "quality": "low"})
        third = await a.ok("generate_image", {"prompt": "three", "quality": "low", "wait_seconds": 0.5})
        assert third["status"] == "running"  # waiting for a request slot, not refused, and not sent
        assert len(fake.requests_to("/responses", "POST")) == 2
        cancelled = await b.ok("cancel_generation", {"job_id": third["job_id"]})
        assert cancelled["status"] == "cancelled"
        assert len(fake.requests_to("/responses", "POST")) == 2


async def test_two_live_replicas_cannot_share_a_name(shared: Settings, tmp_path: Path, fake: FakeOpenAI) -> None:
    async with replicas(shared, tmp_path, "same") as (first,):
        await new_session(first)
        async with replicas(shared, tmp_path, "same") as (second,):
            good, out = await second.call("create_image_session", {"description": "owls"})
            assert not good and out["error_type"] == "storage_error"
            assert "already named 'same'" in out["error"]
        await new_session(first)  # the first is not disturbed


async def test_a_replica_restarted_under_its_name_interrupts_what_its_earlier_life_left(
    shared: Settings, tmp_path: Path, fake: FakeOpenAI, redis_server: RedisServer
) -> None:
    async with replicas(shared, tmp_path, "b") as (b,):
        sid = await new_session(b)
    # "c" died mid-turn (its heartbeat long gone) and comes back with the same OPENAI_IMAGE_MCP_REPLICA_ID
    earlier = RedisStateStore(redis_server.url, replica="c", prefix=shared.redis_prefix)
    await earlier.open()
    await earlier.sessions.begin_turn(sid, "lost", {}, None, now=time.time())
    await earlier.jobs.create("cjob", "generate_image_in_session", sid, owner="local", now=time.time())
    await earlier.close()
    async with replicas(shared, tmp_path, "c") as (c,):
        assert [t["status"] for t in await turns(c, sid)] == ["interrupted"]
        good, out = await c.call("get_generation_result", {"job_id": "cjob", "wait_seconds": 0})
        assert not good and out["error_type"] == "interrupted"

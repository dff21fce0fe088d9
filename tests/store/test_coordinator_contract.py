"""The Coordinator contract, for the in-process coordinator and Redis's (two instances = two replicas)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
import redis.asyncio as aioredis

from openai_image_mcp.core.clock import ManualClock, SystemClock
from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.core.logs import safe_url
from openai_image_mcp.store.local import LocalCoordinator
from openai_image_mcp.store.ports import Coordinator
from openai_image_mcp.store.redis.coordination import RedisCoordinator
from tests.support.services import RedisServer

Factory = Callable[[str], Coordinator]


@pytest.fixture(params=["local", "redis"])
async def replicas(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    """Makes coordinators of one shared world: ``make("a")``, ``make("b")`` are two replicas (for the in-process
    coordinator, the same one: it has no others)."""
    made: list[Coordinator] = []
    if request.param == "local":
        local = LocalCoordinator(replica="local", clock=SystemClock())

        def make(name: str) -> Coordinator:
            return local
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix = server.prefix()

        def make(name: str) -> Coordinator:
            coord = RedisCoordinator(server.url, replica=name, prefix=prefix)
            made.append(coord)
            return coord

    yield make
    for coord in made:
        await coord.close()


async def test_a_lock_is_held_by_one_holder_at_a_time(replicas: Factory) -> None:
    a, b = replicas("a"), replicas("b")
    await a.open()
    await b.open()
    order: list[str] = []
    tokens: list[int | None] = []

    async def turn(coord: Coordinator, name: str) -> None:
        async with coord.lock("session:s1", lease=5) as lease:
            tokens.append(lease.token)
            order.append(f"{name} in")
            await anyio.sleep(0.05)
            order.append(f"{name} out")

    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(turn, a, f"a{i}")
            tg.start_soon(turn, b, f"b{i}")
    # never two inside at once
    for i in range(0, len(order), 2):
        assert order[i].split()[0] == order[i + 1].split()[0] and order[i].endswith("in")
    if a.shared:
        ints = [t for t in tokens if t is not None]
        assert ints == sorted(ints) and len(set(ints)) == 6  # fencing tokens grow in the order of grants
    assert not await a.is_locked("session:s1")


async def test_messages_reach_every_subscriber_from_the_moment_they_subscribe(replicas: Factory) -> None:
    a, b = replicas("a"), replicas("b")
    await a.open()
    await b.open()
    await a.publish("job:1", {"type": "lost"})  # before anyone listened: nobody gets it
    got: list[dict[str, Any]] = []
    async with b.subscribe("job:1") as messages:
        await a.publish("job:1", {"type": "progress", "progress": 50})
        await a.publish("job:2", {"type": "other channel"})
        await a.publish("job:1", {"type": "end", "status": "succeeded"})
        with anyio.fail_after(5):
            async for message in messages:
                got.append(message)
                if message["type"] == "end":
                    break
    assert got == [{"type": "progress", "progress": 50}, {"type": "end", "status": "succeeded"}]


async def test_sliding_window_and_bounded_set(replicas: Factory) -> None:
    a, b = replicas("a"), replicas("b")
    await a.open()
    await b.open()
    assert await a.hit("starts:alice", limit=2, window=60) == 0
    assert await b.hit("starts:alice", limit=2, window=60) == 0  # counted together across replicas
    wait = await a.hit("starts:alice", limit=2, window=60)
    assert 59 < wait <= 60
    assert await a.hit("starts:bob", limit=2, window=60) == 0

    assert await a.enter("running:alice", "t1", limit=1, ttl=60)
    assert not await b.enter("running:alice", "t2", limit=1, ttl=60)
    assert await b.enter("running:alice", "t1", limit=1, ttl=60)  # the same member again: still one
    await b.leave("running:alice", "t1")
    assert await b.enter("running:alice", "t2", limit=1, ttl=60)


async def test_a_member_that_is_never_released_drops_out_after_its_ttl(replicas: Factory) -> None:
    a = replicas("a")
    await a.open()
    if not a.shared:
        clock = ManualClock()
        a = LocalCoordinator(clock=clock)
        assert await a.enter("running:x", "t1", limit=1, ttl=0.2)
        clock.advance(0.3)
    else:
        assert await a.enter("running:x", "t1", limit=1, ttl=0.2)
        await anyio.sleep(0.3)
    assert await a.enter("running:x", "t2", limit=1, ttl=0.2)


async def test_redis_dead_replicas_are_found_and_cleaned_by_one_survivor(redis_server: RedisServer) -> None:
    prefix = redis_server.prefix()
    a, b, c = (RedisCoordinator(redis_server.url, replica=n, prefix=prefix) for n in "abc")
    for coord in (a, b, c):
        await coord.open()
        await coord.heartbeat(ttl=0.3)
    assert await b.dead_replicas() == []
    for _ in range(4):
        await anyio.sleep(0.15)
        await b.heartbeat(ttl=0.3)
        await c.heartbeat(ttl=0.3)
    assert await b.dead_replicas() == ["a"]
    assert await c.dead_replicas() == ["a"]
    claims = [await b.claim("sweep:a", ttl=5), await c.claim("sweep:a", ttl=5)]
    assert claims == [True, False]
    await b.forget_replica("a")
    assert await c.dead_replicas() == []
    await c.close()  # a clean goodbye: not reported dead
    await anyio.sleep(0.4)
    await b.heartbeat(ttl=0.3)
    assert await b.dead_replicas() == []
    await b.close()
    await a.close()


async def test_redis_lock_of_a_dead_holder_is_granted_after_its_lease(redis_server: RedisServer) -> None:
    prefix = redis_server.prefix()
    client = aioredis.Redis.from_url(redis_server.url)
    await client.set(f"{prefix}co:lock:session:s9", b"dead-replica:1", px=300)  # a holder that will never renew
    b = RedisCoordinator(redis_server.url, replica="b", prefix=prefix)
    started = anyio.current_time()
    with anyio.fail_after(5):
        async with b.lock("session:s9", lease=5) as lease:
            assert lease.token is not None and not lease.lost
    assert anyio.current_time() - started >= 0.2
    await b.close()
    await client.aclose()


async def test_redis_lease_taken_away_is_noticed_as_lost(redis_server: RedisServer) -> None:
    prefix = redis_server.prefix()
    client = aioredis.Redis.from_url(redis_server.url)
    b = RedisCoordinator(redis_server.url, replica="b", prefix=prefix)
    async with b.lock("session:s3", lease=0.3) as lease:
        await client.set(f"{prefix}co:lock:session:s3", b"someone-else:1", px=5000)
        await anyio.sleep(0.35)
        assert lease.lost
    assert await client.get(f"{prefix}co:lock:session:s3") == b"someone-else:1"  # not released by the loser
    await b.close()
    await client.aclose()


async def test_redis_errors_say_where_without_the_password() -> None:
    coord = RedisCoordinator("redis://user:s3cret@127.0.0.1:1/0", replica="x")
    with pytest.raises(StorageError) as caught:
        await coord.open()
    assert "s3cret" not in caught.value.message and "127.0.0.1:1" in caught.value.message
    assert safe_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    await coord.close()


async def test_a_waiter_outlasts_a_long_holder(replicas: Factory) -> None:
    """A turn longer than the waiter's wake-up interval (a second): the waiter keeps waiting, then gets the lock."""
    a, b = replicas("a"), replicas("b")
    await a.open()
    await b.open()
    got: list[str] = []

    async def hold() -> None:
        async with a.lock("session:long", lease=3):
            await anyio.sleep(2.5)
            got.append("a done")

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold)
        await anyio.sleep(0.1)
        with anyio.fail_after(10):
            async with b.lock("session:long", lease=3):
                got.append("b in")
    assert got == ["a done", "b in"]

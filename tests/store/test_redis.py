"""What is particular to the Redis state store: its schema version, its failures, and which keys expire."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.core.models import LedgerEntry
from openai_image_mcp.store.redis import RedisStateStore
from openai_image_mcp.store.redis.migrations import MIGRATIONS
from tests.store.conftest import image, session
from tests.support.services import RedisServer, free_port

NOW = 1_800_000_000.0


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


async def test_opening_records_the_schema(redis_server: RedisServer, raw: aioredis.Redis) -> None:
    prefix = redis_server.prefix()
    for _ in range(2):  # a second open (another replica) applies nothing again
        state = RedisStateStore(redis_server.url, replica="r1", prefix=prefix)
        await state.open()
        await state.close()
    assert await raw.get(f"{prefix}schema") == str(MIGRATIONS[-1][0])


async def test_a_newer_schema_is_refused(redis_server: RedisServer, raw: aioredis.Redis) -> None:
    prefix = redis_server.prefix()
    await raw.set(f"{prefix}schema", "999")
    state = RedisStateStore(redis_server.url, replica="r1", prefix=prefix)
    with pytest.raises(StorageError, match="schema 999, newer than"):
        await state.open()


async def test_an_unreachable_server_is_a_storage_error_without_the_password() -> None:
    url = f"redis://app:hunter2-secret@127.0.0.1:{free_port()}/0"
    state = RedisStateStore(url, replica="r1")
    with pytest.raises(StorageError) as caught:
        await state.open()
    assert "127.0.0.1" in caught.value.message and "hunter2" not in caught.value.message
    with pytest.raises(StorageError, match="not open"):
        await state.jobs.get("j", owner=None)


async def test_only_finished_jobs_and_deleted_uploads_expire(redis_server: RedisServer, raw: aioredis.Redis) -> None:
    prefix = redis_server.prefix()
    state = RedisStateStore(redis_server.url, replica="r1", prefix=prefix)
    await state.open()
    await state.sessions.create(session("s", NOW), max_active=5, now=NOW, idle_timeout=100)
    turn = await state.sessions.begin_turn("s", "p", {}, None, now=NOW, fence=1)
    rec = image("i", NOW, session_id="s", turn_id=turn.id)
    await state.journal.intend([rec.path, "/x/orphan.png"])
    await state.sessions.complete_turn(turn, response_id="r", model_text="", usage={}, images=[rec], now=NOW, fence=1)
    await state.jobs.create("running", "k", "s", owner="local", now=NOW)
    await state.jobs.create("done", "k", "s", owner="local", now=NOW)
    await state.jobs.finish("done", "succeeded", now=NOW, result={"image_ids": ["i"]})
    await state.uploads.add("file-live", "s", "h1", 1, owner="local", now=NOW)
    await state.uploads.add("file-gone", "s", "h2", 1, owner="local", now=NOW)
    await state.uploads.mark_deleted("file-gone", now=NOW)
    await state.ledger.settle(None, [LedgerEntry(id="c1", kind="call", owner="local", created_at=NOW, cost_usd=0.5)])
    await state.close()

    keys = [key async for key in raw.scan_iter(match=f"{prefix}*")]
    ttls = {key.removeprefix(prefix): await raw.ttl(key) for key in keys}
    expiring = {key for key, ttl in ttls.items() if ttl != -1}
    assert expiring == {"job:done", "upload:file-gone"}
    assert all(29 * 86_400 < ttls[key] <= 30 * 86_400 for key in expiring)
    assert {
        "session:s",
        f"turn:{turn.id}",
        "image:i",
        "journal",
        "job:running",
        "upload:file-live",
        "ledger:entry:c1",
    } <= set(ttls)

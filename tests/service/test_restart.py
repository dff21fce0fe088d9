"""Durability: a new server on the same workspace carries on where the old one stopped."""

from __future__ import annotations

import time
from pathlib import Path

from mcp import Client

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from openai_image_mcp.store.sqlite import SqliteStateStore
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_generate import new_session


async def test_session_continues_after_restart(settings: Settings, fake: FakeOpenAI) -> None:
    async with Client(create_server(settings)) as client:
        sid = await new_session(client, session_name="durable")
        first = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
        first_id = first.structured_content["response_id"]  # type: ignore[index]

    async with Client(create_server(settings)) as client:
        listed = await client.call_tool("list_active_sessions", {})
        assert [s["session_id"] for s in listed.structured_content["sessions"]] == [sid]  # type: ignore[index]
        r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "make it blue"})
        assert not r.is_error, r.content
        assert r.structured_content["turn"] == 2  # type: ignore[index]
        assert Path(r.structured_content["file_path"]).name == "image_002.png"  # type: ignore[index]
    assert fake.requests_to("/responses")[-1].json["previous_response_id"] == first_id  # type: ignore[index]


async def test_turn_in_flight_at_shutdown_is_reported_interrupted(settings: Settings, fake: FakeOpenAI) -> None:
    async with Client(create_server(settings)) as client:
        sid = await new_session(client)
    # a turn left pending, as a killed process would leave it
    state = SqliteStateStore(settings.database_path)
    await state.open()
    await state.sessions.begin_turn(sid, "half done", {}, None, now=time.time())
    await state.close()
    async with Client(create_server(settings)) as client:
        status = await client.call_tool("get_session_status", {"session_id": sid})
        (turn,) = status.structured_content["turns"]  # type: ignore[index]
        assert turn["status"] == "interrupted"
        r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "again"})
        assert not r.is_error


async def test_files_a_crash_left_before_their_commit_are_removed_at_start(
    settings: Settings, fake: FakeOpenAI
) -> None:
    async with Client(create_server(settings)) as client:
        sid = await new_session(client)
        kept = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
    kept_path = Path(kept.structured_content["file_path"])  # type: ignore[index]
    # what a kill between the rename and the commit leaves: a journal entry, the files, no row
    orphan = kept_path.with_name("image_002.png")
    orphan.write_bytes(kept_path.read_bytes())
    orphan.with_name("image_002_metadata.json").write_text("{}")
    state = SqliteStateStore(settings.database_path)
    await state.open()
    await state.journal.intend([str(orphan)])
    await state.close()
    async with Client(create_server(settings)) as client:
        status = await client.call_tool("get_session_status", {"session_id": sid})
        assert len(status.structured_content["images"]) == 1  # type: ignore[index]
    assert not orphan.exists() and not orphan.with_name("image_002_metadata.json").exists()
    assert kept_path.exists()

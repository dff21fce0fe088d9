"""Several server processes on one workspace (a stdio server and ``openai-image-mcp studio``, say): a process that
starts while another is live leaves the other's work in flight alone; recovery is for what dead processes left.
And what a turn claims and writes are the same names, whatever format the image comes in."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from mcp import Client

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from openai_image_mcp.store.sqlite import SqliteStateStore
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_generate import new_session


async def test_a_second_process_leaves_the_first_ones_turn_alone(settings: Settings, fake: FakeOpenAI) -> None:
    async with Client(create_server(settings)) as first:
        sid = await new_session(first)
        fake.hold()
        started = await first.call_tool(
            "generate_image_in_session", {"session_id": sid, "prompt": "a fox", "wait_seconds": 0}
        )
        job = started.structured_content["job_id"]  # type: ignore[index]
        await fake.wait_for_requests_async(1)
        async with Client(create_server(settings)) as second:  # starts (and recovers) while the first is live
            status = await second.call_tool("get_session_status", {"session_id": sid})
            assert [t["status"] for t in status.structured_content["turns"]] == ["pending"]  # type: ignore[index]
        fake.release()
        with anyio.fail_after(10):
            done = await first.call_tool("get_generation_result", {"job_id": job, "wait_seconds": 10})
        assert not done.is_error, done.content
        assert done.structured_content["status"] == "completed"  # type: ignore[index]


async def test_a_process_alone_on_the_workspace_still_recovers(settings: Settings, fake: FakeOpenAI) -> None:
    async with Client(create_server(settings)) as client:
        sid = await new_session(client)
    state = SqliteStateStore(settings.database_path)
    await state.open()
    await state.sessions.begin_turn(sid, "half done", {}, None, now=0.0)
    await state.close()
    async with Client(create_server(settings)) as client:
        status = await client.call_tool("get_session_status", {"session_id": sid})
        assert [t["status"] for t in status.structured_content["turns"]] == ["interrupted"]  # type: ignore[index]


async def test_a_jpeg_turn_claims_its_real_name_and_a_restart_keeps_its_sidecar(
    settings: Settings, fake: FakeOpenAI
) -> None:
    async with Client(create_server(settings)) as client:
        sid = await new_session(client)
        r = await client.call_tool(
            "generate_image_in_session", {"session_id": sid, "prompt": "a fox", "output_format": "jpeg"}
        )
        assert not r.is_error, r.content
    path = Path(r.structured_content["file_path"])  # type: ignore[index]
    assert path.suffix == ".jpeg"
    sidecar = path.with_name(f"{path.stem}_metadata.json")
    state = SqliteStateStore(settings.database_path)
    await state.open()
    assert await state.journal.orphans() == []  # nothing named that was not written
    await state.close()
    async with Client(create_server(settings)) as client:
        await client.call_tool("list_active_sessions", {})
    assert json.loads(sidecar.read_text())["session_id"] == sid

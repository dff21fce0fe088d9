"""Long generations: progress with partial images, job handles, cancellation, interruption."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from PIL import Image

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_generate import new_session


async def test_progress_reports_stages_and_partial_previews_in_order(client: Client, fake: FakeOpenAI) -> None:
    fake.latency = 0.3
    events: list[tuple[float, str | None]] = []
    done = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        events.append((progress, message))
        if message == "done":
            done.set()

    r = await client.call_tool("generate_image", {"prompt": "a fox"}, progress_callback=on_progress)
    assert not r.is_error, r.content
    with anyio.fail_after(10):  # the last notification may be handled after the result
        await done.wait()
    values = [p for p, _ in events]
    assert values == sorted(values)
    messages = [m or "" for _, m in events]
    assert messages[0] == "queued"
    assert any("generating" in m for m in messages)
    partials = [m for m in messages if m.startswith("partial image")]
    assert [m.split(":")[0] for m in partials] == ["partial image 1 of 2", "partial image 2 of 2"]
    assert messages[-1] == "done"
    for message in partials:
        uri = message.split(": ", 1)[1]
        read = await client.read_resource(uri)
        with Image.open(io.BytesIO(base64.b64decode(read.contents[0].blob))) as img:  # type: ignore[union-attr]
            assert img.format == "WEBP"


async def test_partial_images_can_be_turned_off(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"partial_images": 0})
    async with Client(create_server(settings)) as client:
        r = await client.call_tool("generate_image", {"prompt": "a fox"})
        assert not r.is_error
    (req,) = fake.requests_to("/responses")
    assert req.json["tools"][0]["partial_images"] == 0  # type: ignore[index]


async def test_slow_generation_returns_a_handle_then_the_result(
    client: Client, fake: FakeOpenAI, workspace: Path
) -> None:
    fake.hold()  # OpenAI answers only once the handle is out
    sid = await new_session(client)
    r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox", "wait_seconds": 0.3})
    fake.release()
    assert not r.is_error
    handle = r.structured_content
    assert handle is not None and handle["status"] == "running" and handle["job_id"]
    assert "get_generation_result" in handle["next_step"]
    assert r.content[0].type == "text"  # no image yet
    done = await client.call_tool("get_generation_result", {"job_id": handle["job_id"], "wait_seconds": 10})
    assert not done.is_error, done.content
    sc = done.structured_content
    assert sc is not None and sc["status"] == "completed" and sc["session_id"] == sid
    assert [c.type for c in done.content] == ["image", "resource_link", "text"]
    assert Path(sc["file_path"]).exists()
    # asked again later, the same result is rebuilt from the store
    again = await client.call_tool("get_generation_result", {"job_id": handle["job_id"]})
    assert again.structured_content["image_id"] == sc["image_id"]  # type: ignore[index]


async def test_unknown_job(client: Client, fake: FakeOpenAI) -> None:
    r = await client.call_tool("get_generation_result", {"job_id": "nope"})
    assert r.is_error and r.structured_content["error_type"] == "job_not_found"  # type: ignore[index]


async def test_client_cancel_stops_upstream_and_leaves_a_consistent_store(
    client: Client, fake: FakeOpenAI, workspace: Path
) -> None:
    fake.hold()  # OpenAI is still working on it when the client gives up
    sid = await new_session(client)
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.call_tool, "generate_image_in_session", {"session_id": sid, "prompt": "slow fox"})
        assert await fake.wait_for_requests_async(1)
        tg.cancel_scope.cancel()  # the client gives up
    assert await fake.wait_for_disconnects_async(1)
    assert fake.disconnects[0].path.endswith("/responses")
    status = await client.call_tool("get_session_status", {"session_id": sid})
    sc: dict[str, Any] = status.structured_content  # type: ignore[assignment]
    assert [t["status"] for t in sc["turns"]] == ["cancelled"]
    assert sc["images"] == []
    assert not (workspace / "generated_images" / "sessions" / sid / "images").exists()
    fake.release()
    r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "try again"})
    assert not r.is_error
    assert r.structured_content["turn"] == 2  # type: ignore[index]


async def test_cancel_generation_tool(client: Client, fake: FakeOpenAI) -> None:
    fake.hold()  # OpenAI never answers before the cancel
    r = await client.call_tool("generate_image", {"prompt": "slow", "wait_seconds": 0.2})
    job_id = r.structured_content["job_id"]  # type: ignore[index]
    cancelled = await client.call_tool("cancel_generation", {"job_id": job_id})
    assert cancelled.structured_content["status"] == "cancelled"  # type: ignore[index]
    result = await client.call_tool("get_generation_result", {"job_id": job_id})
    assert result.is_error and result.structured_content["error_type"] == "cancelled"  # type: ignore[index]
    fake.release()


async def test_job_running_at_shutdown_is_interrupted_after_restart(settings: Settings, fake: FakeOpenAI) -> None:
    fake.hold()  # OpenAI is still working on it at shutdown
    async with Client(create_server(settings)) as client:
        sid = await new_session(client)
        r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a", "wait_seconds": 0.2})
        job_id = r.structured_content["job_id"]  # type: ignore[index]
        assert await fake.wait_for_requests_async(1)  # shut down while OpenAI is working on it
        assert fake.requests_to("/responses")
    fake.release()
    async with Client(create_server(settings)) as client:
        result = await client.call_tool("get_generation_result", {"job_id": job_id})
        assert result.is_error and result.structured_content["error_type"] == "interrupted"  # type: ignore[index]
        status = await client.call_tool("get_session_status", {"session_id": sid})
        assert [t["status"] for t in status.structured_content["turns"]] == ["interrupted"]  # type: ignore[index]
        r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "again"})
        assert not r.is_error

"""Every bad input and upstream failure gives a clear isError result and loses nothing."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from openai_image_mcp.core.clock import ManualClock
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_generate import new_session


def error_of(r: Any) -> dict[str, Any]:
    assert r.is_error, r.content
    sc = r.structured_content
    assert sc["success"] is False and sc["error"] and sc["suggestion"]
    return dict(sc)


def session_files(workspace: Path, sid: str) -> list[str]:
    folder = workspace / "generated_images" / "sessions" / sid / "images"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_without_a_key_the_server_answers_and_explains(workspace: Path) -> None:
    async with Client(create_server(Settings(workspace=workspace))) as client:
        tools = await client.list_tools()
        assert len(tools.tools) >= 8
        sid = await new_session(client)
        err = error_of(await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"}))
        assert err["error_type"] == "not_configured"
        assert "OPENAI_API_KEY" in err["error"] + err["suggestion"]
        stats = await client.call_tool("get_server_stats", {})
        assert stats.structured_content["api_key_configured"] is False  # type: ignore[index]


async def test_unknown_session(client: Client, fake: FakeOpenAI) -> None:
    for tool in ("generate_image_in_session", "get_session_status", "close_session"):
        args = {"session_id": "nope", "prompt": "x"} if tool == "generate_image_in_session" else {"session_id": "nope"}
        assert error_of(await client.call_tool(tool, args))["error_type"] == "session_not_found"
    assert fake.requests == []


async def test_closed_session_refuses_turns_but_keeps_history(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client)
    await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
    closed = await client.call_tool("close_session", {"session_id": sid})
    assert closed.structured_content["session"]["status"] == "closed"  # type: ignore[index]
    err = error_of(await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "more"}))
    assert err["error_type"] == "session_closed"
    status = await client.call_tool("get_session_status", {"session_id": sid})
    assert len(status.structured_content["images"]) == 1  # type: ignore[index]
    listed = await client.call_tool("list_active_sessions", {})
    assert listed.structured_content["count"] == 0  # type: ignore[index]


async def test_session_expires_after_the_configured_seconds(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"session_timeout": 30})
    clock = ManualClock()
    async with Client(create_server(settings, clock=clock)) as client:
        sid = await new_session(client)
        clock.advance(29.9)
        status = await client.call_tool("get_session_status", {"session_id": sid})
        assert status.structured_content["session"]["status"] == "active"  # type: ignore[index]
        clock.advance(0.1)
        err = error_of(await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"}))
        assert err["error_type"] == "session_closed" and "expired" in err["error"]
        status = await client.call_tool("get_session_status", {"session_id": sid})
        assert status.structured_content["session"]["status"] == "expired"  # type: ignore[index]


async def test_session_limit_names_the_idle_sessions(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"max_sessions": 2})
    async with Client(create_server(settings)) as client:
        first = await new_session(client, session_name="oldest")
        await new_session(client)
        err = error_of(await client.call_tool("create_image_session", {"description": "third"}))
        assert err["error_type"] == "session_limit_reached"
        assert first in err["error"] and "oldest" in err["error"]
        await client.call_tool("close_session", {"session_id": first})
        await new_session(client)


@pytest.mark.parametrize(
    "args",
    [
        {"size": "99 by 99"},
        {"quality": "ultra"},
        {"background": "checkerboard"},
        {"output_format": "gif"},
        {"output_compression": 101},
        {"prompt": ""},
    ],
)
async def test_bad_arguments_never_reach_openai(client: Client, fake: FakeOpenAI, args: dict[str, Any]) -> None:
    err = error_of(await client.call_tool("generate_image", {"prompt": "a fox", **args}))
    assert err["error_type"] == "invalid_arguments"
    assert fake.requests == []


async def test_a_custom_size_outside_openais_rules_is_refused_with_the_nearest_size(
    client: Client, fake: FakeOpenAI
) -> None:
    err = error_of(await client.call_tool("generate_image", {"prompt": "a fox", "size": "99x99"}))
    assert err["error_type"] == "invalid_input" and "nearest allowed size is" in err["error"]
    err = error_of(await client.call_tool("generate_image", {"prompt": "a fox", "size": "1920x1080"}))
    assert "multiples of 16" in err["error"] and "1920x1088" in err["error"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "a fox", "background": "transparent", "output_format": "jpeg"}, "transparent"),
        ({"prompt": "a fox", "model": "gpt-image-1.5", "size": "2048x2048"}, "gpt-image-2"),
        ({"prompt": "a fox", "output_compression": 50}, "jpeg and webp"),
    ],
)
async def test_impossible_combinations_are_refused_locally(
    client: Client, fake: FakeOpenAI, args: dict[str, Any], needle: str
) -> None:
    err = error_of(await client.call_tool("generate_image", args))
    assert err["error_type"] == "invalid_input" and needle in err["error"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (400, None, "openai_bad_request"),
        (401, "invalid_api_key", "authentication_error"),
        (429, "rate_limit_exceeded", "rate_limited"),
        (429, "insufficient_quota", "quota_exceeded"),
        (500, None, "openai_unavailable"),
        (503, None, "openai_unavailable"),
    ],
)
async def test_upstream_errors_map_to_clear_types(
    client: Client, fake: FakeOpenAI, workspace: Path, status: int, code: str | None, error_type: str
) -> None:
    sid = await new_session(client)
    fake.enqueue_error(status, code=code, param="size" if status == 400 else None, path="/responses")
    err = error_of(await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"}))
    assert err["error_type"] == error_type
    assert err["openai_request_id"].startswith("req_")
    if status == 400:
        assert "size" in err["error"]
    assert session_files(workspace, sid) == []


async def test_quota_is_not_retried_but_a_503_is(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"max_retries": 2})
    async with Client(create_server(settings)) as client:
        fake.enqueue_error(429, code="insufficient_quota", headers={"retry-after": "0"})
        err = error_of(await client.call_tool("generate_image", {"prompt": "a fox"}))
        assert err["error_type"] == "quota_exceeded"
        assert len(fake.requests) == 1
        fake.reset()
        fake.enqueue_error(503, headers={"retry-after-ms": "10"})
        r = await client.call_tool("generate_image", {"prompt": "a fox"})
        assert not r.is_error
        assert len(fake.requests) == 2


async def test_timeout_is_bounded_and_explained(settings: Settings, fake: FakeOpenAI) -> None:
    settings = settings.model_copy(update={"request_timeout": 0.3})
    fake.hold()  # OpenAI never answers: only the server's own timeout ends the call
    async with Client(create_server(settings)) as client:
        with anyio.fail_after(30):  # a guard against a hang, not a measurement
            err = error_of(await client.call_tool("generate_image", {"prompt": "a fox"}))
    fake.release()
    assert err["error_type"] == "timeout"
    assert "0.3 s" in err["error"]


async def test_unreachable_openai(settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = settings.model_copy(update={"openai_base_url": f"http://127.0.0.1:{port}/v1"})
    async with Client(create_server(settings)) as client:
        err = error_of(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert err["error_type"] == "openai_unavailable"


async def test_moderation_block_in_a_session_turn(client: Client, fake: FakeOpenAI, workspace: Path) -> None:
    sid = await new_session(client)
    err = error_of(await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "[moderation]"}))
    assert err["error_type"] == "content_rejected"
    assert err["moderation_categories"] == ["violence"]
    assert "violence" in err["error"]
    assert session_files(workspace, sid) == []


async def test_moderation_block_on_the_images_api(client: Client, fake: FakeOpenAI) -> None:
    err = error_of(await client.call_tool("generate_image", {"prompt": "[moderation]", "model": "gpt-image-2"}))
    assert err["error_type"] == "content_rejected"
    assert err["moderation_categories"] == ["sexual"]


async def test_answer_without_image_passes_the_model_text(client: Client, fake: FakeOpenAI) -> None:
    err = error_of(await client.call_tool("generate_image", {"prompt": "[no-image] a fox"}))
    assert err["error_type"] == "no_image_returned"
    assert "I can't draw that" in err["model_text"]


async def test_failed_turn_leaves_no_half_state(client: Client, fake: FakeOpenAI, workspace: Path) -> None:
    sid = await new_session(client)
    ok = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
    good_id = ok.structured_content["response_id"]  # type: ignore[index]
    fake.enqueue_error(500)
    error_of(await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "broken turn"}))
    status = (await client.call_tool("get_session_status", {"session_id": sid})).structured_content
    assert [t["status"] for t in status["turns"]] == ["completed", "failed"]  # type: ignore[index]
    assert status["session"]["image_count"] == 1  # type: ignore[index]
    assert session_files(workspace, sid) == ["image_001.png", "image_001_metadata.json"]
    r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "next"})
    assert not r.is_error
    last = fake.requests_to("/responses")[-1].json
    assert last["previous_response_id"] == good_id  # type: ignore[index]
    assert "broken turn" not in str(last["input"])  # type: ignore[index]
    assert Path(r.structured_content["file_path"]).name == "image_002.png"  # type: ignore[index]


async def test_lost_chain_is_replayed_locally(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client)
    await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
    fake.enqueue_error(400, code="previous_response_not_found", param="previous_response_id", path="/responses")
    r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "make it blue"})
    assert not r.is_error, r.content
    replayed = fake.requests_to("/responses")[-1].json
    assert "previous_response_id" not in replayed  # type: ignore[operator]
    assert replayed["input"][0]["content"] == "a fox"  # type: ignore[index]


async def test_unusable_workspace_is_reported_by_every_call(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    async with Client(create_server(Settings(workspace=blocker / "workspace"))) as client:
        assert len((await client.list_tools()).tools) > 10
        err = error_of(await client.call_tool("list_active_sessions", {}))
        assert err["error_type"] == "storage_error"
        assert str(blocker) in err["error"]

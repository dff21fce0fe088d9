"""No server path reaches a remote caller: results, errors and progress carry no absolute path and no path field,
and a server path given as an input image is refused (``path_not_allowed``) without echoing a server folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from openai_image_mcp.core.settings import Settings
from tests.support.fake_openai import FakeOpenAI
from tests.web.conftest import (
    HIDDEN_KEYS,
    Running,
    Tokens,
    all_keys,
    assert_no_server_path,
    connect,
    new_session,
    ok,
    openai_calls,
    unknown_id,
)


class Recorder:
    """Every result alice receives, and every progress message."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.results: list[tuple[str, CallToolResult]] = []
        self.progress: list[str] = []

    async def __call__(self, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            self.progress.append(message or "")

        r = await self.client.call_tool(tool, arguments or {}, progress_callback=on_progress)
        self.results.append((tool, r))
        assert r.structured_content is not None, r.content
        return dict(r.structured_content)


def _image_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.images_root.rglob("*.png") if p.is_file())


async def test_no_result_error_or_progress_carries_a_server_path(
    server: Running, tokens: Tokens, web_settings: Settings, workspace: Path, mode: str
) -> None:
    async with connect(server.url, tokens.alice, mode) as client:
        call = Recorder(client)
        sid = (await call("create_image_session", {"description": "foxes"}))["session"]["session_id"]
        turn = await call("generate_image_in_session", {"session_id": sid, "prompt": "a red fox", "quality": "low"})
        one = await call("generate_image", {"prompt": "an owl", "quality": "low"})
        await call("generate_image", {"prompt": "a UI icon", "model": "gpt-image-2", "use_case": "ui_asset"})
        await call("list_images")
        await call("list_active_sessions")
        await call("get_session_status", {"session_id": sid})
        await call("view_image", {"image_ids": [turn["image_id"], one["image_id"]]})
        await call("get_generation_result", {"job_id": turn["job_id"]})
        await call("edit_image", {"image_path": one["image_id"], "prompt": "make it blue", "quality": "low"})
        await call("promote_image_to_session", {"image_path": turn["image_id"], "session_description": "v2"})
        await call("create_download_link", {"image_id": one["image_id"]})
        await call("create_upload_link")
        await call("get_server_stats")
        await call("get_usage_guide")
        await call("close_session", {"session_id": sid})
        # errors
        await call("view_image", {"image_ids": [unknown_id()]})
        await call("generate_image_in_session", {"session_id": unknown_id(), "prompt": "a fox"})
        await call("generate_image_in_session", {"session_id": sid, "prompt": "after closing"})
        await call("edit_image", {"image_path": str(web_settings.workspace / "nope.png"), "prompt": "x"})
        await call("list_images", {"since": "not a date"})
        resources = await client.list_resources()

    assert len(call.results) == 21
    for tool, r in call.results:
        try:
            assert_no_server_path(r, workspace, web_settings.workspace)
        except AssertionError as exc:
            raise AssertionError(f"{tool}: {exc}") from None
    assert any(r.is_error for _, r in call.results)
    assert call.progress and not [m for m in call.progress if "/tmp" in m or str(workspace) in m]
    listed = resources.model_dump_json()
    assert "/tmp" not in listed and str(workspace) not in listed


async def test_a_missing_file_is_reported_without_its_server_path(
    server: Running, tokens: Tokens, web_settings: Settings, workspace: Path
) -> None:
    async with connect(server.url, tokens.alice) as client:
        made = await ok(client, "generate_image", {"prompt": "a fox", "quality": "low"})
        (file,) = _image_files(web_settings)
        file.unlink()
        r = await client.call_tool("view_image", {"image_ids": [made["image_id"]]})
        assert r.is_error
        assert_no_server_path(r, workspace, web_settings.workspace)
        r = await client.call_tool("edit_image", {"image_path": made["image_id"], "prompt": "bluer"})
        assert r.is_error
        assert_no_server_path(r, workspace, web_settings.workspace)


async def test_reading_a_missing_image_resource_names_no_server_path(
    server: Running, tokens: Tokens, web_settings: Settings, workspace: Path
) -> None:
    async with connect(server.url, tokens.alice) as client:
        made = await ok(client, "generate_image", {"prompt": "a fox", "quality": "low"})
        (file,) = _image_files(web_settings)
        file.unlink()
        with pytest.raises(MCPError) as caught:
            await client.read_resource(f"openai-image://image/{made['image_id']}.png")
        message = caught.value.error.message
        assert made["image_id"] in message  # the error is about this image...
        assert "/tmp" not in message and str(workspace) not in message  # ...without the server's path


async def test_the_session_resource_names_no_server_path(
    server: Running, tokens: Tokens, web_settings: Settings, workspace: Path
) -> None:
    async with connect(server.url, tokens.alice) as client:
        sid = await new_session(client)
        await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "a fox", "quality": "low"})
        read = await client.read_resource(f"openai-image://session/{sid}")
    document = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert document["images"] and document["session"]["session_id"] == sid  # the resource is served...
    text = json.dumps(document)
    assert "/tmp" not in text and str(workspace) not in text  # ...without a server path
    assert not all_keys(document) & HIDDEN_KEYS


def _server_paths(file: Path, settings: Settings) -> list[str]:
    relative = file.relative_to(settings.workspace)
    return [str(file), file.as_uri(), str(relative), f"~/{relative}", "/etc/passwd", str(settings.workspace)]


async def test_a_server_path_as_input_image_is_refused(
    server: Running, tokens: Tokens, web_settings: Settings, fake: FakeOpenAI, workspace: Path
) -> None:
    async with connect(server.url, tokens.alice) as client:
        sid = await new_session(client)
        await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "a fox", "quality": "low"})
        (file,) = _image_files(web_settings)
        sent = openai_calls(fake)
        for path in _server_paths(file, web_settings):
            for tool, arguments in [
                ("edit_image", {"image_path": path, "prompt": "bluer"}),
                ("edit_image", {"image_path": path, "prompt": "bluer", "reference_image_paths": [path]}),
                ("view_image", {"image_ids": [path]}),
                ("promote_image_to_session", {"image_path": path, "session_description": "mine"}),
                ("analyze_and_improve_image", {"image_path": path, "improvement_goals": "light"}),
                ("generate_image_in_session", {"session_id": sid, "prompt": "x", "reference_image_path": path}),
                ("generate_image_in_session", {"session_id": sid, "prompt": "x", "mask_image_path": path}),
            ]:
                r = await client.call_tool(tool, arguments)
                assert r.is_error, (tool, path)
                assert r.structured_content is not None
                assert r.structured_content["error_type"] == "path_not_allowed", (tool, path, r.structured_content)
                assert_no_server_path(r, workspace, web_settings.workspace)
        assert openai_calls(fake) == sent

"""tools/list before the first tool call comes from catalogue.json: it must be what registration produces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import Tool

from openai_image_mcp import catalogue
from openai_image_mcp.config import Settings
from openai_image_mcp.server import ImageMCPServer, create_server

REFRESH = "the tools changed: run ./scripts/refresh-schemas and commit catalogue.json"


def _wire(tools: list[Tool]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


async def _registered_list(settings: Settings) -> list[Tool]:
    server = create_server(settings)
    server.register_tools()
    return await server.list_tools()


def _stored() -> list[Tool]:
    """The file's tools. With other mcp/pydantic versions installed than the file was made with (a user's
    newer SDK), the server ignores the file and registers its tools at start: correct, only slower; the
    comparisons are then skipped, since the SDK may list the same tools differently."""
    made_with = json.loads(catalogue.default_path().read_text())["made_with"]
    assert made_with["openai-image-mcp"] == catalogue.fingerprint()["openai-image-mcp"], REFRESH
    if made_with != catalogue.fingerprint():
        pytest.skip(f"catalogue.json was made with {made_with}, not {catalogue.fingerprint()}: {REFRESH}")
    stored = catalogue.load()
    assert stored is not None, REFRESH
    return stored


async def test_the_file_is_what_registering_the_tools_lists(settings: Settings) -> None:
    assert _wire(_stored()) == _wire(await _registered_list(settings)), REFRESH


async def test_the_listing_does_not_depend_on_settings(workspace: Path) -> None:
    unusual = Settings(
        workspace=workspace,
        openai_api_key=None,
        mainline_model="gpt-5.5",
        image_model="gpt-image-1.5",
        result_budget_bytes=20_000,
        wait_seconds=5,
        partial_images=0,
        max_sessions=3,
    )
    assert _wire(_stored()) == _wire(await _registered_list(unusual))


async def test_tools_list_is_answered_from_the_file_until_the_first_call(settings: Settings) -> None:
    _stored()
    server = create_server(settings)
    async with Client(server) as client:
        before = (await client.list_tools()).tools
        assert not server.tools_registered
        stats = await client.call_tool("get_server_stats", {})
        assert not stats.is_error
        assert server.tools_registered
        after = (await client.list_tools()).tools
    assert _wire(before) == _wire(after)
    assert len(before) == 17


async def test_a_call_before_any_listing_registers_the_tools(settings: Settings) -> None:
    server = create_server(settings)
    async with Client(server) as client:
        r = await client.call_tool("list_active_sessions", {})
        assert not r.is_error and r.structured_content is not None
        assert r.structured_content["count"] == 0
    assert server.tools_registered


async def test_an_unknown_tool_is_still_an_error(settings: Settings) -> None:
    async with Client(create_server(settings)) as client:
        r = await client.call_tool("no_such_tool", {})
    assert r.is_error


def _write(path: Path, made_with: Any, tools: Any) -> Path:
    path.write_text(json.dumps({"made_with": made_with, "tools": tools}))
    return path


def test_load_refuses_a_missing_corrupt_or_foreign_file(tmp_path: Path) -> None:
    good = json.loads(catalogue.default_path().read_text())["tools"]
    assert catalogue.load(tmp_path / "missing.json") is None
    (tmp_path / "corrupt.json").write_text('{"made_with": ')
    assert catalogue.load(tmp_path / "corrupt.json") is None
    other_sdk = {**catalogue.fingerprint(), "mcp": "2.0.0"}
    assert catalogue.load(_write(tmp_path / "other.json", other_sdk, good)) is None
    assert catalogue.load(_write(tmp_path / "bad-tool.json", catalogue.fingerprint(), [{"name": 3}])) is None
    assert catalogue.load(_write(tmp_path / "no-tools.json", catalogue.fingerprint(), None)) is None
    loaded = catalogue.load(_write(tmp_path / "same.json", catalogue.fingerprint(), good))
    assert loaded is not None and len(loaded) == len(good)


async def test_without_a_usable_file_the_tools_are_registered_at_start(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = _write(tmp_path / "stale.json", {**catalogue.fingerprint(), "pydantic": "1.0"}, [])
    monkeypatch.setattr(catalogue, "default_path", lambda: stale)
    server = create_server(settings)
    assert isinstance(server, ImageMCPServer) and server.tools_registered
    assert _wire(await server.list_tools()) == _wire(await _registered_list(settings))


def test_answering_tools_list_loads_no_tool_module(tmp_path: Path) -> None:
    _stored()
    code = (
        "import sys, anyio; from pathlib import Path;"
        "from openai_image_mcp.config import Settings; from openai_image_mcp.server import create_server;"
        f"server = create_server(Settings(workspace=Path({str(tmp_path)!r})));"
        "tools = anyio.run(server.list_tools);"
        "loaded = [m for m in sys.modules if m.startswith('openai_image_mcp.tools.') or m in "
        "('openai_image_mcp.generation', 'openai_image_mcp.editing', 'openai_image_mcp.inputs')];"
        "print(len(tools), sorted(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "17 []", out.stdout + out.stderr

"""Logs: stderr only, LOG_LEVEL honoured, JSON lines with a correlation id, and never a key or image data."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from PIL import Image

from openai_image_mcp.core.logs import configure_logging
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.conftest import TEST_KEY
from tests.support.fake_openai import FakeOpenAI, make_photo_like
from tests.tools.test_generate import new_session

BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{120,}")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    configure_logging("DEBUG", "json", [TEST_KEY], stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler.get_name() == "openai-image-mcp":
            root.removeHandler(handler)
    root.setLevel(level)


async def test_debug_scenario_leaks_no_key_and_no_image_data(
    captured: io.StringIO, settings: Settings, fake: FakeOpenAI, workspace: Path
) -> None:
    inputs = workspace / "inputs"
    inputs.mkdir(parents=True)
    (inputs / "ref.png").write_bytes(make_photo_like(512, 512))
    mask = Image.new("L", (1024, 1024), 0)
    mask.paste(255, (0, 0, 512, 1024))
    mask.save(inputs / "mask.png")
    settings = settings.model_copy(update={"store_responses": False})  # replay mode re-sends image data URLs
    async with Client(create_server(settings)) as client:
        sid = await new_session(client)
        for args in (
            {"prompt": "a fox", "reference_image_path": str(inputs / "ref.png")},
            {"prompt": "make it blue", "mask_image_path": str(inputs / "mask.png")},
            {"prompt": "[moderation] nope"},
        ):
            await client.call_tool("generate_image_in_session", {"session_id": sid, **args})
        await client.call_tool("edit_image", {"image_path": str(inputs / "ref.png"), "prompt": "hat"})
        await client.call_tool("generate_image", {"prompt": "a lighthouse", "model": "gpt-image-2"})
    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) > 20
    assert TEST_KEY not in text
    assert not BASE64_RUN.search(text), BASE64_RUN.search(text)
    assert {"ts", "level", "logger", "message"} <= lines[0].keys()
    in_calls = [entry for entry in lines if "call_id" in entry]
    assert in_calls and all("tool" in entry for entry in in_calls)
    assert any(entry.get("session_id") == sid for entry in in_calls)
    assert any(str(entry.get("openai_request_id", "")).startswith("req_") for entry in in_calls)
    assert any(entry["level"] == "DEBUG" for entry in lines)


def test_log_level_is_honoured(captured: io.StringIO) -> None:
    configure_logging("WARNING", "text", [TEST_KEY], stream=captured)
    log = logging.getLogger("openai_image_mcp.test")
    log.info("hidden")
    log.warning("shown with key %s", TEST_KEY)
    out = captured.getvalue()
    assert "hidden" not in out
    assert "shown with key [redacted key]" in out

"""list_images, view_image, and sessions and images as MCP resources."""

from __future__ import annotations

import base64
import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from mcp import Client
from PIL import Image

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI
from tests.tools.test_generate import new_session


async def make(client: Client, prompt: str, **kw: object) -> str:
    r = await client.call_tool("generate_image", {"prompt": prompt, "size": "1024x1024", **kw})
    assert not r.is_error, r.content
    return str(r.structured_content["image_id"])  # type: ignore[index]


async def test_list_images_filters_pages_newest_first(client: Client, fake: FakeOpenAI) -> None:
    ids = [await make(client, f"red fox {i}") for i in range(3)]
    other = await make(client, "blue whale", use_case="product")
    sid = await new_session(client)
    await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "green frog"})
    everything = (await client.call_tool("list_images", {})).structured_content
    assert everything is not None and everything["total"] == 5
    page = (await client.call_tool("list_images", {"text": "fox", "limit": 2})).structured_content
    assert page is not None and page["total"] == 3 and page["next_offset"] == 2
    assert [i["image_id"] for i in page["images"]] == [ids[2], ids[1]]
    rest = (await client.call_tool("list_images", {"text": "fox", "limit": 2, "offset": 2})).structured_content
    assert rest is not None and [i["image_id"] for i in rest["images"]] == [ids[0]] and rest.get("next_offset") is None
    products = (await client.call_tool("list_images", {"use_case": "product"})).structured_content
    assert [i["image_id"] for i in products["images"]] == [other]  # type: ignore[index]
    in_session = (await client.call_tool("list_images", {"session_id": sid})).structured_content
    assert [i["prompt"] for i in in_session["images"]] == ["green frog"]  # type: ignore[index]
    future = (await client.call_tool("list_images", {"since": "2999-01-01"})).structured_content
    assert future["total"] == 0  # type: ignore[index]
    bad = await client.call_tool("list_images", {"since": "yesterday"})
    assert bad.is_error and bad.structured_content["error_type"] == "invalid_input"  # type: ignore[index]
    wildcard = (await client.call_tool("list_images", {"text": "%"})).structured_content
    assert wildcard["total"] == 0  # type: ignore[index]


async def test_view_image_preview_and_contact_sheet(client: Client, fake: FakeOpenAI) -> None:
    ids = [await make(client, f"cat {i}") for i in range(4)]
    one = await client.call_tool("view_image", {"image_ids": [ids[0]], "preview_size": 256})
    assert not one.is_error, one.content
    with Image.open(io.BytesIO(base64.b64decode(one.content[0].data))) as img:  # type: ignore[union-attr]
        assert max(img.size) <= 256
    sheet = await client.call_tool("view_image", {"image_ids": ids})
    assert not sheet.is_error, sheet.content
    assert [c.type for c in sheet.content] == ["image"] + ["resource_link"] * 4 + ["text"]
    assert [i["image_id"] for i in sheet.structured_content["images"]] == ids  # type: ignore[index]
    assert len(sheet.model_dump_json()) <= 100_000
    missing = await client.call_tool("view_image", {"image_ids": ["f" * 32]})
    assert missing.is_error and missing.structured_content["error_type"] == "image_not_found"  # type: ignore[index]


async def test_sessions_and_images_are_listed_as_resources(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client, session_name="listed")
    await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
    uris = [str(r.uri) for r in (await client.list_resources()).resources]
    assert "openai-image://guide" in uris
    assert f"openai-image://session/{sid}" in uris
    assert any(u.startswith("openai-image://image/") for u in uris)
    read = await client.read_resource(f"openai-image://session/{sid}")
    doc = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert doc["session"]["session_id"] == sid and len(doc["images"]) == 1


async def test_dates_without_a_zone_are_utc(client: Client, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Etc/GMT+12")  # a server far west of UTC
    time.tzset()
    try:
        await make(client, "a lighthouse")
        minute_ago = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None).isoformat(timespec="seconds")
        since = (await client.call_tool("list_images", {"since": minute_ago})).structured_content
        until = (await client.call_tool("list_images", {"until": minute_ago})).structured_content
        assert since is not None and since["total"] == 1
        assert until is not None and until["total"] == 0
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_a_full_contact_sheet_with_long_prompts_keeps_its_preview_within_the_budget(
    settings: Settings, fake: FakeOpenAI
) -> None:
    budget = 60_000
    async with Client(create_server(settings.model_copy(update={"result_budget_bytes": budget}))) as client:
        ids = [await make(client, f"cat {i} " + "with a very long description " * 30) for i in range(16)]
        sheet = await client.call_tool("view_image", {"image_ids": ids})
    assert not sheet.is_error, sheet.content
    sc = sheet.structured_content
    assert sc is not None and not sc.get("truncated"), sc.get("note")
    assert all(len(i["revised_prompt"]) > 800 for i in sc["images"])
    assert sheet.content[0].type == "image"
    assert len(sheet.model_dump_json(by_alias=True, exclude_none=True)) <= budget

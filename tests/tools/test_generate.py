"""generate_image_in_session and generate_image through the MCP protocol against the loopback fake."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, ImageContent, ResourceLink
from PIL import Image

from tests.support.fake_openai import FakeOpenAI

META_FIELDS = {
    "original_prompt",
    "revised_prompt",
    "model",
    "generation_params",
    "session_id",
    "created_at",
    "generation_id",
    "file_size_bytes",
    "use_case",
}


async def new_session(client: Client, description: str = "watercolor foxes", **kw: Any) -> str:
    r = await client.call_tool("create_image_session", {"description": description, **kw})
    assert not r.is_error, r.content
    return str(r.structured_content["session"]["session_id"])  # type: ignore[index]


def result_bytes(r: CallToolResult) -> int:
    return len(r.model_dump_json(by_alias=True, exclude_none=True).encode())


async def test_session_turn_returns_preview_link_path_and_metadata(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client)
    r = await client.call_tool(
        "generate_image_in_session", {"session_id": sid, "prompt": "a red fox", "size": "1024x1024"}
    )
    assert not r.is_error, r.content
    sc = r.structured_content
    assert sc is not None and sc["success"] is True and sc["turn"] == 1
    assert sc["revised_prompt"] == "Revised: a red fox"
    assert sc["usage"]["image_generation"]["output_tokens"] > 0
    # content: preview image, resource link, JSON mirror
    kinds = [c.type for c in r.content]
    assert kinds == ["image", "resource_link", "text"]
    preview = r.content[0]
    assert isinstance(preview, ImageContent) and preview.mime_type == "image/webp"
    assert max(Image.open(io.BytesIO(base64.b64decode(preview.data))).size) <= 512
    assert json.loads(r.content[2].text) == sc  # type: ignore[union-attr]
    assert result_bytes(r) <= 100_000
    # the file, its sidecar, and the original layout
    path = Path(sc["file_path"])
    assert path.is_absolute() and path.name == "image_001.png" and path.parent.name == "images"
    assert path.parent.parent.name == sid
    with Image.open(path) as img:
        assert img.size == (1024, 1024)
    meta = json.loads(Path(sc["images"][0]["metadata_path"]).read_text())
    assert meta.keys() >= META_FIELDS
    assert meta["original_prompt"] == "a red fox"
    assert meta["revised_prompt"] == "Revised: a red fox"
    assert meta["session_id"] == sid
    assert meta["file_size_bytes"] == path.stat().st_size
    assert meta["response_id"] == sc["response_id"]
    assert meta["generation_params"]["size"] == "1024x1024"
    # the full image through resources/read
    link = r.content[1]
    assert isinstance(link, ResourceLink)
    read = await client.read_resource(str(link.uri))
    assert base64.b64decode(read.contents[0].blob) == path.read_bytes()  # type: ignore[union-attr]


async def test_request_forces_the_tool_and_sends_the_description_as_instructions(
    client: Client, fake: FakeOpenAI
) -> None:
    sid = await new_session(client, "flat vector icons, pastel palette")
    await client.call_tool(
        "generate_image_in_session",
        {
            "session_id": sid,
            "prompt": "a cat",
            "quality": "low",
            "background": "opaque",
            "output_format": "webp",
            "output_compression": 80,
            "moderation": "low",
        },
    )
    (req,) = fake.requests_to("/responses")
    body = req.json
    assert body is not None
    assert body["tool_choice"] == {"type": "image_generation"}
    assert "flat vector icons, pastel palette" in body["instructions"]
    (tool,) = body["tools"]
    assert tool == {
        "type": "image_generation",
        "model": "gpt-image-2",
        "size": "auto",
        "quality": "low",
        "background": "opaque",
        "output_format": "webp",
        "output_compression": 80,
        "moderation": "low",
        "partial_images": 2,
    }
    assert "previous_response_id" not in body


async def test_follow_up_turns_chain_and_send_only_the_new_text(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client)
    ids = []
    for i in range(3):
        r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": f"turn {i} text"})
        assert not r.is_error
        ids.append(r.structured_content["response_id"])  # type: ignore[index]
    reqs = fake.requests_to("/responses")
    assert len(reqs) == 3
    assert [r.json.get("previous_response_id") for r in reqs] == [None, ids[0], ids[1]]  # type: ignore[union-attr]
    third = json.dumps(reqs[2].json["input"])  # type: ignore[index]
    assert "turn 2 text" in third and "turn 1 text" not in third and "turn 0 text" not in third
    r = await client.call_tool("get_session_status", {"session_id": sid})
    sc = r.structured_content
    assert sc is not None
    assert [t["turn"] for t in sc["turns"]] == [1, 2, 3]
    assert [Path(i["file_path"]).name for i in sc["images"]] == ["image_001.png", "image_002.png", "image_003.png"]
    log = json.loads((Path(sc["session"]["folder"]) / "conversation_log.json").read_text())
    assert [t["prompt"] for t in log["turns"]] == ["turn 0 text", "turn 1 text", "turn 2 text"]


async def test_replay_mode_for_store_false_organisations(settings: Any, fake: FakeOpenAI) -> None:
    from openai_image_mcp.server import create_server

    settings = settings.model_copy(update={"store_responses": False})
    async with Client(create_server(settings)) as client:
        sid = await new_session(client)
        await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"})
        r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "make it blue"})
        assert not r.is_error, r.content
    first, second = fake.requests_to("/responses")
    assert first.json["store"] is False and second.json["store"] is False  # type: ignore[index]
    assert "previous_response_id" not in second.json  # type: ignore[operator]
    items = second.json["input"]  # type: ignore[index]
    assert [i["role"] for i in items] == ["user", "assistant", "user"]
    assert items[0]["content"] == "a fox"
    assert any(p["type"] == "input_image" for p in items[-1]["content"])


async def test_model_text_reaches_the_user(client: Client, fake: FakeOpenAI) -> None:
    r = await client.call_tool("generate_image", {"prompt": "a lighthouse"})
    assert not r.is_error
    assert r.structured_content["model_text"] == "Here is your image."  # type: ignore[index]


async def test_one_shot_goes_to_the_use_case_folder(client: Client, fake: FakeOpenAI, workspace: Path) -> None:
    r = await client.call_tool("generate_image", {"prompt": "Blue ceramic mug", "use_case": "product"})
    assert not r.is_error, r.content
    path = Path(r.structured_content["file_path"])  # type: ignore[index]
    assert path.parent == workspace / "generated_images" / "products"
    assert "blue-ceramic-mug" in path.name
    meta = json.loads(path.with_name(path.stem + "_metadata.json").read_text())
    assert meta["use_case"] == "product" and meta["session_id"] is None
    r = await client.call_tool("generate_image", {"prompt": "a tree"})
    assert Path(r.structured_content["file_path"]).parent.name == "single_shot"  # type: ignore[index]


async def test_image_model_name_takes_the_images_api(client: Client, fake: FakeOpenAI) -> None:
    r = await client.call_tool(
        "generate_image", {"prompt": "a logo", "model": "gpt-image-2", "background": "transparent", "size": "1024x1536"}
    )
    assert not r.is_error, r.content
    (req,) = fake.requests
    assert req.path.endswith("/images/generations")
    assert req.json["model"] == "gpt-image-2" and req.json["background"] == "transparent"  # type: ignore[index]
    with Image.open(r.structured_content["file_path"]) as img:  # type: ignore[index]
        assert img.size == (1024, 1536) and img.mode == "RGBA"


async def test_generate_image_with_session_id_is_a_turn(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client)
    r = await client.call_tool("generate_image", {"prompt": "a fox", "session_id": sid})
    assert r.structured_content["session_id"] == sid and r.structured_content["turn"] == 1  # type: ignore[index]


async def test_whole_result_stays_within_a_small_budget(settings: Any, fake: FakeOpenAI) -> None:
    from openai_image_mcp.server import create_server

    settings = settings.model_copy(update={"result_budget_bytes": 30_000})
    async with Client(create_server(settings)) as client:
        r = await client.call_tool("generate_image", {"prompt": "detailed forest " * 300, "size": "1536x1024"})
        assert not r.is_error, r.content
        assert result_bytes(r) <= 30_000

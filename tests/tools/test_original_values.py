"""Drop-in for the original server: its argument values and defaults work, retired models are named with
their replacement, and the tool definitions stay small."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from mcp import Client

from openai_image_mcp.core.settings import Settings, split_folders
from openai_image_mcp.server import create_server
from openai_image_mcp.service.image_models import ModelCatalog, nearest_size, size_problem
from openai_image_mcp.service.inputs import file_uri_path
from tests.support.fake_openai import FakeOpenAI


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.structured_content
    return dict(result.structured_content or {})


async def test_the_originals_ui_asset_defaults_work(client: Client, fake: FakeOpenAI) -> None:
    """The call that failed with a validation error before: the original's own defaults."""
    out = structured(
        await client.call_tool(
            "generate_ui_asset",
            {
                "asset_type": "icon",
                "description": "a settings gear",
                "theme": "modern",
                "style_preset": "flat",
                "size_preset": "standard",
            },
        )
    )
    assert out["status"] == "completed" and out["images"]


@pytest.mark.parametrize("theme", ["modern", "classic", "minimal", "playful"])
@pytest.mark.parametrize("style_preset", ["flat", "3d", "outline", "filled"])
async def test_every_original_theme_and_style(client: Client, theme: str, style_preset: str) -> None:
    args = {"asset_type": "icon", "description": "a gear", "theme": theme, "style_preset": style_preset}
    out = structured(await client.call_tool("generate_ui_asset", {**args, "dry_run": True}))
    assert out["status"] == "dry_run"


@pytest.mark.parametrize("size_preset", ["small", "standard", "large"])
@pytest.mark.parametrize("asset_type", ["icon", "illustration", "background", "hero"])
async def test_every_original_size_preset_and_asset_type(
    client: Client, fake: FakeOpenAI, size_preset: str, asset_type: str
) -> None:
    out = structured(
        await client.call_tool(
            "generate_ui_asset", {"asset_type": asset_type, "description": "x", "size_preset": size_preset}
        )
    )
    width, height = out["images"][0]["width"], out["images"][0]["height"]
    if size_preset == "large" and asset_type == "icon":
        assert (width, height) == (2048, 2048)
    if size_preset == "small":
        assert (width, height) == (1024, 1024)


@pytest.mark.parametrize(
    ("background_type", "angle", "lighting"),
    [
        ("white", "front", "studio"),
        ("transparent", "side", "natural"),
        ("lifestyle", "three-quarter", "dramatic"),
        ("white", "top", "soft"),
    ],
)
async def test_the_originals_product_values(
    client: Client, fake: FakeOpenAI, background_type: str, angle: str, lighting: str
) -> None:
    out = structured(
        await client.call_tool(
            "generate_product_image",
            {"product_description": "a mug", "background_type": background_type, "angle": angle, "lighting": lighting},
        )
    )
    assert out["status"] == "completed"
    prompt = fake.requests_to("/images/generations")[-1].json["prompt"]  # type: ignore[index]
    if angle == "top":
        assert "top-down" in prompt
    if angle == "three-quarter":
        assert "three-quarter" in prompt


async def test_the_originals_mainline_model_drives_a_session(client: Client, fake: FakeOpenAI) -> None:
    made = structured(await client.call_tool("create_image_session", {"description": "fox book", "model": "gpt-4o"}))
    sid = made["session"]["session_id"]
    out = structured(await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a fox"}))
    assert out["model"] == "gpt-4o"
    assert fake.requests_to("/responses")[-1].json["model"] == "gpt-4o"  # type: ignore[index]
    assert out["cost"]["usd"] is not None  # gpt-4o is in the price table


async def test_every_original_tool_with_its_defaults(client: Client, fake: FakeOpenAI) -> None:
    """All 13 tools of the original, called as its documentation shows; every generating one draws."""
    session = structured(await client.call_tool("create_image_session", {"description": "a product line"}))
    sid = session["session"]["session_id"]
    first = structured(await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a mug"}))
    structured(await client.call_tool("get_session_status", {"session_id": sid}))
    structured(await client.call_tool("list_active_sessions", {}))
    one = structured(await client.call_tool("generate_image", {"prompt": "a lighthouse"}))
    structured(await client.call_tool("edit_image", {"image_path": one["image_id"], "prompt": "at night"}))
    structured(await client.call_tool("generate_product_image", {"product_description": "a wallet"}))
    structured(await client.call_tool("generate_ui_asset", {"asset_type": "icon", "description": "a gear"}))
    structured(
        await client.call_tool("analyze_and_improve_image", {"image_path": first["image_id"], "improvement_goals": "x"})
    )
    structured(
        await client.call_tool(
            "promote_image_to_session", {"image_path": one["image_id"], "session_description": "lighthouses"}
        )
    )
    structured(await client.call_tool("get_usage_guide", {}))
    structured(await client.call_tool("get_server_stats", {}))
    structured(await client.call_tool("close_session", {"session_id": sid}))
    assert fake.schema_errors == []


async def test_a_shut_down_model_is_refused_before_any_call_with_its_replacement(
    client: Client, fake: FakeOpenAI
) -> None:
    for model in ("dall-e-3", "gpt-image-1"):
        r = await client.call_tool("generate_image", {"prompt": "a fox", "model": model})
        assert r.is_error
        err = r.structured_content or {}
        assert err["error_type"] == "model_retired" and "gpt-image-2.6-sunburst" in err["error"]
    assert fake.requests == []


async def test_a_model_with_an_announced_shutdown_is_warned_about(settings: Settings, fake: FakeOpenAI) -> None:
    catalog = ModelCatalog()
    assert catalog.check("gpt-image-1.5", today=date(2026, 11, 1)) == (
        "gpt-image-1.5 shuts down on 2026-12-01; move to gpt-image-2.6-sunburst."
    )
    assert catalog.check("gpt-image-2", today=date(2026, 11, 1)) is None
    assert catalog.merge_shutdowns({"gpt-image-2": "2027-06-01", "gpt-image-9": None}) == 1
    assert catalog.check("gpt-image-2", today=date(2026, 11, 1)) is not None


@pytest.mark.parametrize(
    ("size", "nearest"),
    [("1920x1080", (1920, 1088)), ("99x99", (816, 816)), ("5000x1000", (3840, 1280)), ("4000x4000", (2880, 2880))],
)
def test_custom_sizes_follow_openais_rules(size: str, nearest: tuple[int, int]) -> None:
    width, height = (int(v) for v in size.split("x"))
    assert size_problem(width, height) is not None
    assert nearest_size(width, height) == nearest
    assert size_problem(*nearest) is None


async def test_a_valid_custom_size_is_sent(client: Client, fake: FakeOpenAI) -> None:
    out = structured(await client.call_tool("generate_image", {"prompt": "a banner", "size": "1920x1088"}))
    assert (out["images"][0]["width"], out["images"][0]["height"]) == (1920, 1088)


async def test_tool_definitions_cost_the_model_little(settings: Settings) -> None:
    async with Client(create_server(settings)) as client:
        tools = (await client.list_tools()).tools
    facing = [{"name": t.name, "description": t.description, "inputSchema": t.input_schema} for t in tools]
    size = len(json.dumps(facing, separators=(",", ":")).encode())
    assert size < 14 * 1024, size
    for tool in tools:  # what the model needs to choose arguments is still there
        assert tool.description and len(tool.description) > 20, tool.name
    generate = next(t for t in tools if t.name == "generate_image").input_schema["properties"]
    assert generate["quality"]["enum"] == ["auto", "low", "medium", "high"]
    assert "prompt" in next(t for t in tools if t.name == "generate_image").input_schema["required"]


@pytest.mark.parametrize(
    ("uri_path", "expected"),
    [
        ("/C:/Users/me/Pictures/fox.png", "C:\\Users\\me\\Pictures\\fox.png"),
        ("/c:/My%20Pictures/a.png", "C:\\My Pictures\\a.png"),
        ("/D:\\art\\b.png", "D:\\art\\b.png"),
    ],
)
def test_windows_file_uris(uri_path: str, expected: str) -> None:
    assert file_uri_path(uri_path, windows=True) == expected


def test_allowed_folders_split_on_semicolons_on_windows() -> None:
    assert split_folders(r"C:\Pictures;D:\Art", windows=True) == [r"C:\Pictures", r"D:\Art"]
    assert split_folders("/srv/a:/srv/b;/srv/c", windows=False) == ["/srv/a", "/srv/b", "/srv/c"]

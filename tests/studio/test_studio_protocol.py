"""The studio's MCP Apps surface through the protocol: the tools' and the resource's ``_meta.ui``, the app-only
tools, the image copies, the mask edit, and results that do not depend on the client's support for apps."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from PIL import Image

from openai_image_mcp.core.models import ImageRecord
from openai_image_mcp.core.principal import SCOPE_GENERATE, SCOPE_READ
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from openai_image_mcp.studio import page as studio_page
from openai_image_mcp.studio.page import studio_html
from openai_image_mcp.tools.caller import scope_for_tool
from openai_image_mcp.tools.studio import APP_TOOLS, FULL_MAX_BYTES, STUDIO_URI, UI_TOOLS, studio_image
from tests.studio.conftest import apps_client
from tests.support.fake_openai import FakeOpenAI

ASSETS = Path(studio_page.__file__).parent / "assets"


def sc(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return dict(result.structured_content)


def mask_png(size: tuple[int, int], box: tuple[int, int, int, int]) -> str:
    """Base64 PNG as the painter sends it: opaque black (keep) with a transparent box (change)."""
    img = Image.new("RGBA", size, (0, 0, 0, 255))
    img.paste((0, 0, 0, 0), box)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def test_the_tools_carry_the_studio_in_their_ui_meta(app_client: Client) -> None:
    tools = {t.name: t for t in (await app_client.list_tools()).tools}  # as published: compacted
    assert set(tools) >= UI_TOOLS | APP_TOOLS
    for name, tool in tools.items():
        ui = (tool.meta or {}).get("ui")
        if name in APP_TOOLS:
            assert ui == {"resourceUri": STUDIO_URI, "visibility": ["app"]}, name
        elif name in UI_TOOLS:
            assert ui == {"resourceUri": STUDIO_URI}, name  # visible to the model and the app (the default)
        else:
            assert ui is None, name
    assert EXTENSION_ID in (app_client.server_capabilities.extensions or {})


async def test_the_studio_resource_is_one_self_contained_page(app_client: Client) -> None:
    listed = {str(r.uri): r for r in (await app_client.list_resources()).resources}
    assert listed[STUDIO_URI].mime_type == APP_MIME_TYPE
    (content,) = (await app_client.read_resource(STUDIO_URI)).contents
    assert content.mime_type == APP_MIME_TYPE
    assert content.meta is not None
    csp = content.meta["ui"]["csp"]
    assert csp == {"connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []}
    html = getattr(content, "text", "")
    assert html == studio_html()
    assert len(html.encode()) < 150 * 1024, len(html.encode())
    assert "/*STUDIO_CSS*/" not in html and "/*STUDIO_JS*/" not in html
    # nothing from elsewhere: no remote URL in a src, href, url(), import or fetch
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import|<link|<iframe", html, re.I)
    assert "default-src 'none'" in html  # the page's own CSP, under whatever the host adds


def test_the_page_and_the_server_agree_on_the_limits() -> None:
    js = (ASSETS / "studio.js").read_text()
    assert f"var FULL_MAX = {FULL_MAX_BYTES};" in js
    assert "var MASK_MAX_SIDE = 2048;" in js


def test_scopes_of_the_app_tools() -> None:
    for name in ("studio_image", "studio_thread", "studio_gallery"):
        assert scope_for_tool(name) == SCOPE_READ
    assert scope_for_tool("studio_mask_edit") == SCOPE_GENERATE


def _shape(value: Any) -> Any:
    """The JSON structure with ids, times, paths and sizes blanked (they differ between two generations)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


async def test_results_do_not_depend_on_the_client_supporting_apps(settings: Settings, fake: FakeOpenAI) -> None:
    """A host without apps gets today's results: the same tools, and results of the same shape and content."""
    async with Client(create_server(settings)) as plain:
        assert EXTENSION_ID in (plain.server_capabilities.extensions or {})
        plain_tools = [t.model_dump(mode="json") for t in (await plain.list_tools()).tools]
        made = sc(await plain.call_tool("generate_image", {"prompt": "a fox"}))
        image_id = made["image_id"]
        plain_view = (await plain.call_tool("view_image", {"image_ids": [image_id]})).model_dump(mode="json")
        plain_list = (await plain.call_tool("list_images", {})).model_dump(mode="json")
        plain_made = (await plain.call_tool("generate_image", {"prompt": "an owl"})).model_dump(mode="json")
    async with apps_client(settings) as apps:
        apps_tools = [t.model_dump(mode="json") for t in (await apps.list_tools()).tools]
        # the same tools, _meta.ui included; the app-only ones only for a client that can run the app
        assert [t for t in apps_tools if t["name"] not in APP_TOOLS] == plain_tools
        assert {t["name"] for t in apps_tools} - {t["name"] for t in plain_tools} == APP_TOOLS
        assert (await apps.call_tool("view_image", {"image_ids": [image_id]})).model_dump(mode="json") == plain_view
        listed = (await apps.call_tool("list_images", {})).model_dump(mode="json")
        assert listed["structured_content"]["images"][1:] == plain_list["structured_content"]["images"]
        apps_made = (await apps.call_tool("generate_image", {"prompt": "an owl"})).model_dump(mode="json")
        assert _shape(apps_made) == _shape(plain_made)
        assert [c["type"] for c in apps_made["content"]] == [c["type"] for c in plain_made["content"]]


async def test_a_client_without_apps_can_still_call_the_app_tools(client: Client, fake: FakeOpenAI) -> None:
    """Hidden from its tools/list, not refused: a browser studio may call them through any client."""
    made = sc(await client.call_tool("generate_image", {"prompt": "a fox"}))
    assert sc(await client.call_tool("studio_image", {"image_id": made["image_id"]}))["image"]["prompt"] == "a fox"


async def test_studio_image_thread_and_gallery(app_client: Client, fake: FakeOpenAI) -> None:
    sid = sc(await app_client.call_tool("create_image_session", {"description": "foxes"}))["session"]["session_id"]
    first = sc(await app_client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "a red fox"}))
    await app_client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "at night"})
    for n in range(3):
        await app_client.call_tool("generate_image", {"prompt": f"owl number {n}"})

    image = sc(await app_client.call_tool("studio_image", {"image_id": first["image_id"]}))["image"]
    assert image["prompt"] == "a red fox" and image["session_id"] == sid and image["turn"] == 1
    assert image["pixels_full"] is True and image["pixels_uri"] == first["resource_uri"]
    assert image["cost"]["usd"] > 0 and image["parameters"]["quality"] == "auto"

    thread = sc(await app_client.call_tool("studio_thread", {"session_id": sid}))
    assert [t["prompt"] for t in thread["turns"]] == ["a red fox", "at night"]
    assert [i["turn"] for i in thread["images"]] == [1, 2] and thread["total_cost_usd"] > 0

    page1 = sc(await app_client.call_tool("studio_gallery", {"limit": 2, "with_sessions": True}))
    assert page1["total"] == 5 and page1["next_offset"] == 2 and len(page1["images"]) == 2
    assert [s["session_id"] for s in page1["sessions"]] == [sid]
    page3 = sc(await app_client.call_tool("studio_gallery", {"limit": 2, "offset": 4}))
    assert len(page3["images"]) == 1 and "next_offset" not in page3 and page3["sessions"] == []
    owls = sc(await app_client.call_tool("studio_gallery", {"text": "owl"}))
    assert owls["total"] == 3 and all("owl" in i["prompt"] for i in owls["images"])
    in_session = sc(await app_client.call_tool("studio_gallery", {"session_id": sid}))
    assert in_session["total"] == 2
    assert sc(await app_client.call_tool("studio_gallery", {"since": "2999-01-01"}))["total"] == 0
    bad = await app_client.call_tool("studio_gallery", {"since": "yesterday"})
    assert bad.is_error and bad.structured_content["error_type"] == "invalid_input"  # type: ignore[index]
    missing = await app_client.call_tool("studio_thread", {"session_id": "nope"})
    assert missing.is_error


async def test_the_studio_copies_of_an_image(app_client: Client, fake: FakeOpenAI) -> None:
    made = sc(await app_client.call_tool("generate_image", {"prompt": "a fox", "size": "1536x1024"}))
    for variant, side in (("thumb", 256), ("display", 1536)):
        (content,) = (await app_client.read_resource(f"openai-image://studio/{variant}/{made['image_id']}")).contents
        assert content.mime_type == "image/webp"
        with Image.open(io.BytesIO(base64.b64decode(getattr(content, "blob", "")))) as img:
            assert img.format == "WEBP" and max(img.size) == side
    for uri in ("openai-image://studio/huge/" + made["image_id"], "openai-image://studio/thumb/" + "0" * 32):
        with pytest.raises(Exception, match=r"studio|could not be read|Not a"):
            await app_client.read_resource(uri)


def test_large_images_reach_the_page_as_a_display_copy() -> None:
    def rec(size: int) -> ImageRecord:
        return ImageRecord(
            id="a" * 32, path="/x/a.png", sha256="0", file_size=size, width=4096, height=4096, mime_type="image/png",
            use_case="general", prompt="p", revised_prompt=None, model="m", created_at=0.0,
        )  # fmt: skip

    assert studio_image(rec(FULL_MAX_BYTES)).pixels_uri == "openai-image://image/" + "a" * 32 + ".png"
    big = studio_image(rec(FULL_MAX_BYTES + 1))
    assert big.pixels_full is False and big.pixels_uri == "openai-image://studio/display/" + "a" * 32


async def test_mask_edit_runs_the_edit_image_path(app_client: Client, fake: FakeOpenAI) -> None:
    made = sc(await app_client.call_tool("generate_image", {"prompt": "a room", "size": "1024x1024"}))
    fake.reset()
    out = sc(
        await app_client.call_tool(
            "studio_mask_edit",
            {
                "image_id": made["image_id"],
                "prompt": "a window on the left",
                "mask_png": mask_png((256, 256), (0, 0, 128, 256)),
            },
        )
    )
    (req,) = fake.requests_to("/images/edits")
    (mask_part,) = req.files["mask"]
    with Image.open(io.BytesIO(mask_part.data)) as sent:
        alpha = sent.getchannel("A")
        assert sent.size == (1024, 1024)
        assert alpha.getpixel((10, 500)) == 0 and alpha.getpixel((1000, 500)) == 255
    assert out["use_case"] == "edit" and out["images"][0]["image_id"] != made["image_id"]
    lineage = sc(await app_client.call_tool("studio_image", {"image_id": out["image_id"]}))["image"]["lineage"]
    assert lineage["edited_image"]["image_id"] == made["image_id"]
    assert lineage["mask"]["change_fraction"] == pytest.approx(0.5, abs=0.01)
    uploads = sc(await app_client.call_tool("studio_gallery", {"use_case": "upload"}))
    assert uploads["total"] == 1  # the painted mask, filed as an upload of the caller


@pytest.mark.parametrize(
    ("mask", "error_type"),
    [
        ("not base64 at all!!", "invalid_mask"),
        (base64.b64encode(b"GIF89a" + b"\0" * 40).decode(), "invalid_mask"),
        (mask_png((64, 64), (0, 0, 0, 0)), "invalid_mask"),  # nothing painted
        (mask_png((300, 100), (0, 0, 150, 100)), "invalid_mask"),  # other proportions
    ],
)
async def test_mask_edit_refuses_bad_masks(app_client: Client, fake: FakeOpenAI, mask: str, error_type: str) -> None:
    made = sc(await app_client.call_tool("generate_image", {"prompt": "a room", "size": "1024x1024"}))
    fake.reset()
    r = await app_client.call_tool("studio_mask_edit", {"image_id": made["image_id"], "prompt": "x", "mask_png": mask})
    assert r.is_error and r.structured_content["error_type"] == error_type  # type: ignore[index]
    assert fake.requests_to("/images/edits") == []


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("studio_image", {"image_id": "../../etc/passwd"}),
        ("studio_image", {"image_id": 42}),
        ("studio_thread", {"session_id": "x" * 500}),
        ("studio_gallery", {"limit": 0}),
        ("studio_gallery", {"offset": -1, "text": None}),
        ("studio_mask_edit", {"image_id": "a" * 32, "prompt": "", "mask_png": "x"}),
        ("studio_mask_edit", {"image_id": "a" * 32, "prompt": "p", "mask_png": mask_png((64, 64), (0, 0, 32, 64))}),
    ],
)
async def test_app_tools_refuse_hostile_arguments(app_client: Client, tool: str, args: dict[str, Any]) -> None:
    r = await app_client.call_tool(tool, args)
    assert r.is_error and r.structured_content is not None
    assert r.structured_content["error_type"] in {
        "invalid_arguments",
        "image_not_found",
        "invalid_input",
        "session_not_found",
        "file_not_found",
        "path_not_allowed",
    }

"""edit_image, masks and references in sessions, product shots, UI assets, analyze, promote, style series."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from PIL import Image

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from tests.support.fake_openai import FakeOpenAI, make_photo_like
from tests.tools.test_generate import new_session


def put(folder: Path, name: str, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return str(folder / name)


def bw_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """Black (keep) with a white (change) rectangle."""
    img = Image.new("L", size, 0)
    img.paste(255, box)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def alpha_of(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == "RGBA"
        return img.getchannel("A").copy()


def meta_of(sc: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(Path(sc["images"][0]["metadata_path"]).read_text()))


@pytest.fixture
def inputs(workspace: Path) -> Path:
    return workspace / "inputs"


async def test_edit_with_mask_and_references_uses_the_images_api(
    client: Client, fake: FakeOpenAI, inputs: Path, workspace: Path
) -> None:
    image = put(inputs, "room.png", make_photo_like(1024, 1024))
    ref1 = put(inputs, "sofa.jpg", make_photo_like(512, 512, fmt="jpeg"))
    ref2 = put(inputs, "lamp.webp", make_photo_like(256, 256, fmt="webp"))
    mask = put(inputs, "mask.png", bw_mask((256, 256), (0, 0, 128, 256)))  # left half = change, quarter scale
    r = await client.call_tool(
        "edit_image",
        {"image_path": image, "prompt": "put the sofa and lamp in the room", "mask_path": mask,
         "reference_image_paths": [ref1, ref2], "size": "1024x1024"},
    )  # fmt: skip
    assert not r.is_error, r.content
    (req,) = fake.requests_to("/images/edits")
    assert req.files is not None
    assert len(req.files["image[]"]) == 3
    (mask_part,) = req.files["mask"]
    alpha = alpha_of(mask_part.data)
    assert alpha.size == (1024, 1024)
    assert alpha.getpixel((10, 500)) == 0 and alpha.getpixel((1000, 500)) == 255
    sc = r.structured_content
    assert sc is not None and Path(sc["file_path"]).parent == workspace / "generated_images" / "edits"
    lineage = meta_of(sc)["lineage"]
    assert lineage["edited_image"]["path"] == image
    assert [x["path"] for x in lineage["reference_images"]] == [ref1, ref2]
    assert lineage["mask"]["change_fraction"] == pytest.approx(0.5, abs=0.01)


async def test_edit_one_of_our_images_by_id(client: Client, fake: FakeOpenAI) -> None:
    made = await client.call_tool("generate_image", {"prompt": "a cat", "size": "1024x1024"})
    image_id = made.structured_content["image_id"]  # type: ignore[index]
    r = await client.call_tool("edit_image", {"image_path": image_id, "prompt": "give it a hat"})
    assert not r.is_error, r.content
    (req,) = fake.requests_to("/images/edits")
    assert "image" in req.files  # type: ignore[operator]
    assert meta_of(r.structured_content)["lineage"]["edited_image"]["image_id"] == image_id  # type: ignore[arg-type]


BAD_INPUTS = ["outside", "symlink", "text", "truncated", "bomb", "oversized", "missing", "mask_nothing", "mask_aspect"]


@pytest.mark.parametrize("case", BAD_INPUTS)
async def test_bad_inputs_are_refused_and_nothing_is_uploaded(
    settings: Settings, fake: FakeOpenAI, tmp_path: Path, inputs: Path, case: str
) -> None:
    settings = settings.model_copy(update={"max_input_bytes": 200_000})
    good = put(inputs, "good.png", make_photo_like(64, 64))
    outside = put(tmp_path / "elsewhere", "secret.png", make_photo_like(64, 64))
    args: dict[str, Any] = {"image_path": good, "prompt": "edit"}
    expected = {
        "outside": "path_not_allowed", "symlink": "path_not_allowed", "text": "not_an_image",
        "truncated": "not_an_image", "bomb": "image_too_large", "oversized": "image_too_large",
        "missing": "file_not_found", "mask_nothing": "invalid_mask", "mask_aspect": "invalid_mask",
    }[case]  # fmt: skip
    if case == "outside":
        args["image_path"] = outside
    elif case == "symlink":
        link = inputs / "link.png"
        link.symlink_to(outside)
        args["image_path"] = str(link)
    elif case == "text":
        args["image_path"] = put(inputs, "notes.png", b"just some text, not a picture\n" * 10)
    elif case == "truncated":
        data = make_photo_like(256, 256)
        args["image_path"] = put(inputs, "cut.png", data[: len(data) // 2])
    elif case == "bomb":
        bomb = io.BytesIO()
        Image.new("1", (20000, 20000)).save(bomb, format="PNG")
        args["image_path"] = put(inputs, "bomb.png", bomb.getvalue())
    elif case == "oversized":
        args["image_path"] = put(inputs, "big.png", make_photo_like(512, 512))
    elif case == "missing":
        args["image_path"] = str(inputs / "nope.png")
    elif case == "mask_nothing":
        args["mask_path"] = put(inputs, "black.png", bw_mask((64, 64), (0, 0, 0, 0)))
    elif case == "mask_aspect":
        args["mask_path"] = put(inputs, "wide.png", bw_mask((300, 100), (0, 0, 150, 100)))
    async with Client(create_server(settings)) as client:
        r = await client.call_tool("edit_image", args)
        assert r.is_error
        sc = r.structured_content
        assert sc is not None and sc["error_type"] == expected, sc
        assert sc["suggestion"]
        if case in ("outside", "symlink"):
            assert str(settings.workspace) in sc["error"]
        # the same refusal inside a session: nothing reaches OpenAI either
        sid = await new_session(client)
        turn = {"session_id": sid, "prompt": "x", "reference_image_path": args["image_path"]}
        if "mask_path" in args:
            turn["mask_image_path"] = args["mask_path"]
        r2 = await client.call_tool("generate_image_in_session", turn)
        assert r2.is_error and r2.structured_content["error_type"] == expected  # type: ignore[index]
    assert fake.requests == []


async def test_reference_image_is_uploaded_once_and_deleted_when_the_session_closes(
    client: Client, fake: FakeOpenAI, inputs: Path
) -> None:
    ref = put(inputs, "style.png", make_photo_like(512, 512))
    sid = await new_session(client)
    for prompt in ("a fox in this style", "same style, a bear"):
        r = await client.call_tool(
            "generate_image_in_session", {"session_id": sid, "prompt": prompt, "reference_image_path": ref}
        )
        assert not r.is_error, r.content
    await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "now a hare"})
    uploads = fake.requests_to("/files", "POST")
    assert len(uploads) == 1
    file_id = next(iter(fake.files))
    turns = [r.json for r in fake.requests_to("/responses")]
    parts = [[p for p in t["input"][-1]["content"] if p["type"] == "input_image"] for t in turns]  # type: ignore[index]
    assert parts[0] == [{"type": "input_image", "file_id": file_id, "detail": "auto"}]
    assert parts[1] == parts[0] and parts[2] == []
    meta = meta_of((await client.call_tool("get_session_status", {"session_id": sid})).structured_content)  # type: ignore[arg-type]
    assert meta["lineage"]["reference_images"][0]["path"] == ref
    await client.call_tool("close_session", {"session_id": sid})
    assert fake.requests_to(f"/files/{file_id}", "DELETE")
    assert fake.files == {}


async def test_mask_in_a_session_applies_to_the_latest_image(client: Client, fake: FakeOpenAI, inputs: Path) -> None:
    sid = await new_session(client)
    mask = put(inputs, "mask.png", bw_mask((512, 512), (256, 0, 512, 512)))
    early = await client.call_tool(
        "generate_image_in_session", {"session_id": sid, "prompt": "x", "mask_image_path": mask}
    )
    assert early.is_error and "no image yet" in early.structured_content["error"]  # type: ignore[index]
    first = await client.call_tool(
        "generate_image_in_session", {"session_id": sid, "prompt": "a garden", "size": "1536x1024"}
    )
    assert not first.is_error
    mask = put(inputs, "wide_mask.png", bw_mask((768, 512), (384, 0, 768, 512)))
    r = await client.call_tool(
        "generate_image_in_session", {"session_id": sid, "prompt": "a pond on the right", "mask_image_path": mask}
    )
    assert not r.is_error, r.content
    body = fake.requests_to("/responses")[-1].json
    assert body is not None
    tool = body["tools"][0]
    image_parts = [p for p in body["input"][-1]["content"] if p["type"] == "input_image"]
    assert len(image_parts) == 1 and "input_image_mask" in tool
    mask_bytes = fake.files[tool["input_image_mask"]["file_id"]]
    alpha = alpha_of(mask_bytes)
    assert alpha.size == (1536, 1024) and alpha.getpixel((1500, 10)) == 0 and alpha.getpixel((10, 10)) == 255
    lineage = meta_of(r.structured_content)["lineage"]  # type: ignore[arg-type]
    assert lineage["edited_image"]["image_id"] == first.structured_content["image_id"]  # type: ignore[index]


async def test_product_batch_is_concurrent_transparent_and_filed_by_product(
    client: Client, fake: FakeOpenAI, workspace: Path
) -> None:
    r = await client.call_tool(
        "generate_product_image",
        {"product_description": "Blue Ceramic Mug", "background_type": "transparent", "batch_count": 3},
    )
    assert not r.is_error, r.content
    reqs = fake.requests_to("/images/generations")
    assert len(reqs) == 3
    assert {q.json["background"] for q in reqs} == {"transparent"}  # type: ignore[index]
    assert len({q.json["prompt"] for q in reqs}) == 3  # type: ignore[index]
    sc = r.structured_content
    assert sc is not None and len(sc["images"]) == 3
    assert [c.type for c in r.content] == ["image"] * 3 + ["resource_link"] * 3 + ["text"]
    for img in sc["images"]:
        path = Path(img["file_path"])
        assert path.parent == workspace / "generated_images" / "products" / "blue-ceramic-mug"
        with Image.open(path) as im:
            assert im.mode == "RGBA" and im.getextrema()[3][0] == 0


async def test_ui_icon_defaults_to_transparent_and_is_filed_by_type(
    client: Client, fake: FakeOpenAI, workspace: Path
) -> None:
    r = await client.call_tool(
        "generate_ui_asset", {"asset_type": "icon", "description": "settings gear", "style_preset": "line_art"}
    )
    assert not r.is_error, r.content
    (req,) = fake.requests_to("/images/generations")
    assert req.json["background"] == "transparent" and req.json["size"] == "1024x1024"  # type: ignore[index]
    assert Path(r.structured_content["file_path"]).parent.name == "icon"  # type: ignore[index]
    hero = await client.call_tool("generate_ui_asset", {"asset_type": "hero", "description": "a calm lake"})
    assert not hero.is_error
    assert fake.requests_to("/images/generations")[-1].json["size"] == "2048x1152"  # type: ignore[index]


async def test_analyze_and_improve_returns_the_analysis_and_the_image(
    client: Client, fake: FakeOpenAI, inputs: Path
) -> None:
    image = put(inputs, "photo.png", make_photo_like(512, 512))
    r = await client.call_tool(
        "analyze_and_improve_image",
        {"image_path": image, "improvement_goals": "[text-too] better light", "preserve_elements": "the red door"},
    )
    assert not r.is_error, r.content
    (req,) = fake.requests_to("/responses")
    body = req.json
    assert body is not None and "critique" in body["instructions"].lower()
    text = body["input"][-1]["content"][0]["text"]
    assert "better light" in text and "the red door" in text
    assert any(p["type"] == "input_image" and p.get("file_id") for p in body["input"][-1]["content"])
    sc = r.structured_content
    assert sc is not None and len(sc["model_text"]) > 20
    assert Path(sc["file_path"]).parent.name == "edits"
    assert fake.files == {}  # the one-off upload was deleted after use


async def test_concurrent_analyses_of_one_image_each_use_and_delete_their_own_upload(
    client: Client, fake: FakeOpenAI, inputs: Path
) -> None:
    image = put(inputs, "photo.png", make_photo_like(256, 256))
    fake.latency = 0.3  # so the first call's image is still on its way when hold() below takes effect
    args = {"image_path": image, "improvement_goals": "better light"}
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.call_tool, "analyze_and_improve_image", args)
        assert await fake.wait_for_requests_async(2)  # the first call has uploaded its image and asked for its image
        fake.hold()  # its image (and its upload's deletion) wait until the second call has uploaded too
        fake.latency = 0.0
        tg.start_soon(client.call_tool, "analyze_and_improve_image", args)
        assert await fake.wait_for_requests_async(3)
        fake.release()
    used = {
        p["file_id"]
        for r in fake.requests_to("/responses")
        for p in r.json["input"][-1]["content"]
        if p.get("file_id")  # type: ignore[index]
    }
    assert len(used) == 2  # a one-off upload is never shared with another call
    assert fake.files == {}


async def test_promote_our_image_chains_on_its_response(client: Client, fake: FakeOpenAI) -> None:
    made = await client.call_tool("generate_image", {"prompt": "a red fox", "size": "1024x1024"})
    sc = made.structured_content
    assert sc is not None
    p = await client.call_tool(
        "promote_image_to_session", {"image_path": sc["file_path"], "session_description": "fox book"}
    )
    assert not p.is_error, p.content
    session = p.structured_content["session"]  # type: ignore[index]
    assert session["image_count"] == 1
    assert Path(p.structured_content["seed_image"]["file_path"]).name == "image_001.png"  # type: ignore[index]
    r = await client.call_tool("generate_image_in_session", {"session_id": session["session_id"], "prompt": "bluer"})
    assert not r.is_error, r.content
    last = fake.requests_to("/responses")[-1].json
    assert last["previous_response_id"] == sc["response_id"]  # type: ignore[index]
    assert "a red fox" in last["instructions"]  # type: ignore[index]
    assert Path(r.structured_content["file_path"]).name == "image_002.png"  # type: ignore[index]


async def test_promote_a_user_image_attaches_it_to_the_first_turn(
    client: Client, fake: FakeOpenAI, inputs: Path
) -> None:
    photo = put(inputs, "mine.jpg", make_photo_like(640, 480, fmt="jpeg"))
    p = await client.call_tool("promote_image_to_session", {"image_path": photo, "session_description": "my photo"})
    assert not p.is_error, p.content
    sid = p.structured_content["session"]["session_id"]  # type: ignore[index]
    for prompt in ("warmer", "even warmer"):
        r = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": prompt})
        assert not r.is_error, r.content
    first, second = fake.requests_to("/responses")
    assert "previous_response_id" not in first.json  # type: ignore[operator]
    assert any(p["type"] == "input_image" for p in first.json["input"][-1]["content"])  # type: ignore[index]
    assert not any(p["type"] == "input_image" for p in second.json["input"][-1]["content"])  # type: ignore[index]


async def test_style_series_sessions_keep_their_own_folder_and_style(
    client: Client, fake: FakeOpenAI, workspace: Path
) -> None:
    folders = []
    for _ in range(2):
        r = await client.call_tool(
            "create_image_session", {"description": "botanical plates", "style_series": "Autumn Leaves"}
        )
        folders.append(Path(r.structured_content["session"]["folder"]))  # type: ignore[index]
        sid = r.structured_content["session"]["session_id"]  # type: ignore[index]
        g = await client.call_tool("generate_image_in_session", {"session_id": sid, "prompt": "an oak leaf"})
        assert Path(g.structured_content["file_path"]).parent == folders[-1] / "images"  # type: ignore[index]
    root = workspace / "generated_images" / "style_series"
    assert folders == [root / "autumn-leaves", root / "autumn-leaves-2"]
    assert "style series" in fake.requests_to("/responses")[0].json["instructions"]  # type: ignore[index]


async def test_product_and_ui_asset_as_session_turns(client: Client, fake: FakeOpenAI) -> None:
    sid = await new_session(client, "shop catalogue")
    r = await client.call_tool("generate_product_image", {"product_description": "a mug", "session_id": sid})
    assert not r.is_error, r.content
    assert r.structured_content["turn"] == 1 and r.structured_content["use_case"] == "product"  # type: ignore[index]
    ui = await client.call_tool(
        "generate_ui_asset", {"asset_type": "logo", "description": "mug shop", "session_id": sid}
    )
    assert ui.structured_content["turn"] == 2  # type: ignore[index]
    assert fake.requests_to("/responses")[-1].json["previous_response_id"] == r.structured_content["response_id"]  # type: ignore[index]
    batch = await client.call_tool(
        "generate_product_image", {"product_description": "a mug", "session_id": sid, "batch_count": 2}
    )
    assert batch.is_error and "batch_count must be 1" in batch.structured_content["error"]  # type: ignore[index]


async def test_a_promoted_seed_has_the_metadata_of_a_generated_image(client: Client, fake: FakeOpenAI) -> None:
    made = await client.call_tool("generate_image", {"prompt": "a red fox", "size": "1024x1024"})
    sc = made.structured_content
    assert sc is not None
    generated = json.loads(Path(sc["images"][0]["metadata_path"]).read_text())
    p = await client.call_tool(
        "promote_image_to_session", {"image_path": sc["file_path"], "session_description": "fox"}
    )
    assert not p.is_error, p.content
    seed = json.loads(Path(p.structured_content["seed_image"]["metadata_path"]).read_text())  # type: ignore[index]
    assert seed["image_model"] == generated["image_model"]
    assert set(generated) - set(seed) <= {"file_path", "turn", "response_id", "image_generation_call_id",
                                          "openai_request_id", "usage", "model_text", "cost"}  # fmt: skip
    for stamp in (seed["created_at"], generated["created_at"]):
        assert stamp.endswith("Z") and datetime.fromisoformat(stamp).tzinfo is not None

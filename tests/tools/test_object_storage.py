"""The whole server with its images in S3 (moto's server on loopback): sessions, turns, an edit with a mask, browsing,
the image resource and a download link all work from the bucket, and nothing is read from (or written to) a local
images folder."""

from __future__ import annotations

import base64
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from PIL import Image

from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.server import create_server
from openai_image_mcp.store.objects import ObjectBlobStore
from openai_image_mcp.tools.redact import PathScrubber
from tests.support.fake_openai import FakeOpenAI
from tests.support.services import S3Server
from tests.tools.test_editing import bw_mask, put
from tests.tools.test_generate import new_session


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.bucket()


@pytest.fixture
def blobs(s3_server: S3Server, bucket: str) -> ObjectBlobStore:
    return ObjectBlobStore(f"s3://{bucket}/images", endpoint=s3_server.endpoint, config=s3_server.config)


async def ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    r = await client.call_tool(tool, args)
    assert not r.is_error, r.content
    assert r.structured_content is not None
    return r.structured_content


def fetch(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers.get("Content-Type", "")


async def test_a_session_lives_in_the_bucket(
    settings: Settings, fake: FakeOpenAI, s3_server: S3Server, bucket: str, blobs: ObjectBlobStore, workspace: Path
) -> None:
    root = f"s3://{bucket}/images/"
    async with Client(create_server(settings, blobs=blobs)) as client:
        sid = await new_session(client, "foxes in the snow")
        first = await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "a red fox"})
        second = await ok(client, "generate_image_in_session", {"session_id": sid, "prompt": "now at night"})
        assert first["file_path"] == f"{root}sessions/{sid}/images/image_001.png"
        assert second["file_path"] == f"{root}sessions/{sid}/images/image_002.png"
        assert first["images"][0]["metadata_path"] == f"{root}sessions/{sid}/images/image_001_metadata.json"

        # an edit of the first image, named by its s3:// file_path, with a mask from a local file
        mask = put(workspace / "inputs", "mask.png", bw_mask((256, 256), (0, 0, 128, 256)))
        args = {"image_path": first["file_path"], "prompt": "give the fox a scarf", "mask_path": mask}
        edit = await ok(client, "edit_image", {**args, "size": "1024x1024"})
        assert edit["file_path"].startswith(f"{root}edits/")
        (request,) = fake.requests_to("/images/edits")
        assert request.files is not None and "mask" in request.files, request.files.keys()

        # the edit promoted to a session of its own: its seed is copied within the bucket
        promoted = await ok(
            client, "promote_image_to_session", {"image_path": edit["image_id"], "session_description": "a"}
        )
        seed = promoted["seed_image"]
        new_sid = promoted["session"]["session_id"]
        assert seed["file_path"] == f"{root}sessions/{new_sid}/images/image_001.png"
        assert await blobs.get(seed["file_path"]) == await blobs.get(edit["file_path"])

        # browse and search
        everything = await ok(client, "list_images", {})
        assert everything["total"] == 4
        found = await ok(client, "list_images", {"text": "scarf"})
        assert {i["image_id"] for i in found["images"]} == {edit["image_id"], seed["image_id"]}  # the seed's prompt
        viewed = await client.call_tool("view_image", {"image_ids": [first["image_id"], edit["image_id"]]})
        assert not viewed.is_error, viewed.content
        assert viewed.content[0].type == "image"

        # the image resource serves the bucket's bytes
        stored = await blobs.get(first["file_path"])
        read = await client.read_resource(first["resource_uri"])
        assert base64.b64decode(read.contents[0].blob) == stored  # type: ignore[union-attr]

        # a download link is the bucket's presigned URL: no HTTP transport needed
        link = await ok(client, "create_download_link", {"image_id": second["image_id"], "expires_in": 300})
        assert link["url"].startswith(f"{s3_server.endpoint}/{bucket}/images/sessions/{sid}/images/image_002.png?")
        data, content_type = await anyio.to_thread.run_sync(fetch, link["url"])
        assert data == await blobs.get(second["file_path"]) and content_type == "image/png"

        # every image is in the bucket with its metadata
        listed = (await ok(client, "list_images", {}))["images"]
        assert sorted(i["file_path"] for i in listed) == sorted(m["file_path"] for m in (first, second, edit, seed))
        for made in (first, second, edit):
            data = await blobs.get(made["file_path"])
            with Image.open(io.BytesIO(data)) as img:
                assert img.size == (made["images"][0]["width"], made["images"][0]["height"])
            meta = json.loads(await blobs.get(made["images"][0]["metadata_path"]))
            assert meta["sha256"] and meta["file_size_bytes"] == len(data)

    # the conversation log is written off the turn's path (a remote store), at the latest when the server stops
    log = json.loads(await blobs.get(f"{root}sessions/{sid}/conversation_log.json"))
    assert [t["prompt"] for t in log["turns"]] == ["a red fox", "now at night"]
    keys = s3_server.objects(bucket)
    assert f"images/sessions/{sid}/images/image_002_metadata.json" in keys
    assert not any(k.rsplit("/", 1)[-1].startswith(".probe") for k in keys)
    assert not list((workspace / "generated_images").rglob("*.png"))  # nothing went to the local folder


def test_a_remote_caller_sees_no_bucket_in_messages(settings: Settings, tmp_path: Path) -> None:
    remote, local = Principal("alice", remote=True), Principal("local")
    s3 = PathScrubber(settings.model_copy(update={"blob_url": "s3://my-bucket/images"}))
    message = "Nothing is stored at s3://my-bucket/images/edits/x.png."
    assert s3.text(message, remote) == "Nothing is stored at <image store>/edits/x.png."
    assert s3.text(message, local) == message
    folder = PathScrubber(settings.model_copy(update={"blob_url": f"file://{tmp_path}/pictures"}))
    assert folder.text(f"The file {tmp_path}/pictures/a.png is missing.", remote) == (
        "The file <image store>/a.png is missing."
    )

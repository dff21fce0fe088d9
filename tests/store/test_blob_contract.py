"""The blob store's contract: what every implementation of :class:`BlobStore` must do."""

from __future__ import annotations

import json

import pytest

from openai_image_mcp.core.errors import BlobNotFound
from openai_image_mcp.store.ports import BlobStore


async def test_put_then_get(blobs: BlobStore) -> None:
    ref = blobs.ref("sessions/s1/conversation_log.json")
    await blobs.put(ref, b"{}")
    assert await blobs.get(ref) == b"{}"
    await blobs.put(ref, b"[]")  # replaced whole
    assert await blobs.get(ref) == b"[]"


async def test_refs_follow_the_layout(blobs: BlobStore) -> None:
    folder = blobs.ref("sessions/s1")
    assert blobs.join(folder, "images", "image_001.png") == blobs.ref("sessions/s1/images/image_001.png")
    assert blobs.sidecar(blobs.ref("a/image_001.png")) == blobs.ref("a/image_001_metadata.json")


async def test_an_image_comes_with_its_sidecar(blobs: BlobStore) -> None:
    ref = blobs.ref("single_shot/x.png")
    await blobs.put_image(ref, b"\x89PNG", {"original_prompt": "a fox", "n": 1})
    assert await blobs.get(ref) == b"\x89PNG"
    assert json.loads(await blobs.get(blobs.sidecar(ref))) == {"original_prompt": "a fox", "n": 1}
    assert await blobs.exists(ref)
    assert await blobs.exists(blobs.ref("single_shot"))  # a folder with something in it


async def test_deleting_images_removes_sidecars_and_ignores_missing(blobs: BlobStore) -> None:
    ref = blobs.ref("edits/y.png")
    await blobs.put_image(ref, b"data", {})
    await blobs.delete_images([ref, blobs.ref("edits/never.png")])
    assert not await blobs.exists(ref)
    assert not await blobs.exists(blobs.sidecar(ref))


async def test_missing_blobs_are_blob_not_found(blobs: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await blobs.get(blobs.ref("sessions/none.png"))
    with pytest.raises(BlobNotFound):
        await blobs.get_preview("job", "partial_0.img")


async def test_previews_are_kept_per_job(blobs: BlobStore) -> None:
    await blobs.put_preview("job1", "partial_0.img", b"raw")
    assert await blobs.get_preview("job1", "partial_0.img") == b"raw"


async def test_sweep_keeps_whole_blobs(blobs: BlobStore) -> None:
    ref = blobs.ref("sessions/s/images/image_001.png")
    await blobs.put(ref, b"whole")
    assert await blobs.sweep(older_than=0) == 0
    assert await blobs.get(ref) == b"whole"

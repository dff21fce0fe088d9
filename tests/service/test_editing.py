"""Edits, analyses and promotions (service/editing.py), driven through the service facade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from openai_image_mcp.core.principal import LOCAL
from openai_image_mcp.core.settings import Settings
from openai_image_mcp.service import ImageService
from openai_image_mcp.store.files import FileBlobStore
from tests.support.fake_openai import FakeOpenAI, make_photo_like

IMAGE_SUFFIXES = {".png", ".jpeg", ".jpg", ".webp", ".gif"}


class SeedWaits(FileBlobStore):
    """The workspace blob store, except that an image, once written with its sidecar, waits for ``release``
    (after setting ``reached``) before the caller goes on."""

    def __init__(self, root: Path, *, previews_root: Path) -> None:
        super().__init__(root, previews_root=previews_root)
        self.reached = anyio.Event()
        self.release = anyio.Event()

    async def put_image(self, ref: str, data: bytes, metadata: dict[str, Any]) -> None:
        await super().put_image(ref, data, metadata)
        self.reached.set()
        await self.release.wait()


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]


# -- found by the fuzzer (tests/test_fuzz.py), fixed --------------------------------------------------------------


async def test_cancelled_promotion_leaves_no_orphan(settings: Settings, fake: FakeOpenAI, workspace: Path) -> None:
    """Deterministic: the seed's write (image and sidecar) waits until the caller has cancelled."""
    blobs = SeedWaits(settings.images_root, previews_root=settings.workspace / "previews")
    service = ImageService(settings, blobs=blobs)
    await service.lifecycle.start()
    try:
        source = workspace / "inputs" / "photo.png"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(make_photo_like(64, 48))
        call = anyio.CancelScope()

        async def promote() -> None:
            with call:
                await service.promote(LOCAL, str(source), "x", None)

        async with anyio.create_task_group() as tg:
            tg.start_soon(promote)
            with anyio.fail_after(10):  # not the bug: fail for real
                await blobs.reached.wait()
            call.cancel()  # the caller gives up while the seed is being filed
            blobs.release.set()
        # the task group has ended: the promotion has finished what it does after a cancel
        listed, _ = await service.browse(LOCAL, limit=100)
        rows = {Path(i.path) for i in listed}
        files = {p for p in _files_under(workspace / "generated_images") if p.suffix in IMAGE_SUFFIXES}
        assert files - rows == set(), f"files without a row: {sorted(files - rows)}"
    finally:
        await service.lifecycle.stop()

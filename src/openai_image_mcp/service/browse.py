"""Looking at past work: searching the caller's images, previews and contact sheets, full images and
partial-image previews, all read through the blob store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import ImageRecord
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.refs import parse_image_ref
from openai_image_mcp.service.attachments import refuse_server_paths
from openai_image_mcp.service.inputs import InputResolver
from openai_image_mcp.store.ports import BlobStore, StateStore

if TYPE_CHECKING:
    from openai_image_mcp.imaging.previews import Preview

PARTIAL_PREVIEW_SIDE = 384
PARTIAL_PREVIEW_BYTES = 40_000


class Browser:
    def __init__(
        self,
        *,
        state: StateStore,
        blobs: BlobStore,
        resolver: InputResolver,
        cpu: anyio.CapacityLimiter,
        clock: Clock,
    ) -> None:
        self._state = state
        self._blobs = blobs
        self._resolver = resolver
        self._cpu = cpu
        self._clock = clock

    async def search(
        self,
        principal: Principal,
        *,
        session_id: str | None = None,
        use_case: str | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[ImageRecord], int]:
        return await self._state.images.search(
            owner=principal.owner_filter, session_id=session_id, use_case=use_case, text=text, since=since,
            until=until, limit=limit, offset=offset,
        )  # fmt: skip

    async def find(self, principal: Principal, ref: str) -> ImageRecord:
        """An image of the caller's by id, resource URI, or the path of its file."""
        image_id = parse_image_ref(ref)
        if image_id:
            rec = await self._state.images.get(image_id, owner=principal.owner_filter)
        else:
            refuse_server_paths(principal)
            path = await anyio.to_thread.run_sync(self._resolver.resolve_path, ref)
            rec = await self._state.images.by_path(str(path), owner=principal.owner_filter)
        if rec is None:
            raise errors.ImageNotFound(f"No image of this server matches '{ref[:200]}'; list_images shows what exists.")
        return rec

    async def view(self, records: list[ImageRecord], *, max_side: int, max_bytes: int) -> Preview:
        """One preview, or a contact sheet labelled 1..n, within ``max_bytes``."""
        datas: list[bytes] = []
        missing: list[str] = []
        for rec in records:
            try:
                datas.append(await self._blobs.get(rec.path))
            except errors.BlobNotFound:
                missing.append(rec.path)
        if missing:
            raise errors.ImageNotFound(f"Recorded but missing on disk: {', '.join(missing)}")

        def render() -> Preview:
            from openai_image_mcp.imaging.previews import make_preview  # Pillow, off the event loop
            from openai_image_mcp.imaging.sheets import contact_sheet

            if len(datas) == 1:
                return make_preview(datas[0], max_side=max_side, max_bytes=max_bytes)
            return contact_sheet(datas, max_side=max_side, max_bytes=max_bytes)

        return await anyio.to_thread.run_sync(render, limiter=self._cpu)

    async def full_image(self, principal: Principal, image_id: str, mime_type: str) -> bytes:
        rec = await self._state.images.get(image_id, owner=principal.owner_filter)
        if rec is None or rec.mime_type != mime_type:
            raise errors.ImageNotFound(f"No image with id '{image_id}' of that type.")
        return await self._blobs.get(rec.path)

    async def partial_preview(self, principal: Principal, job_id: str, index: int) -> bytes:
        """The WebP preview of a partial image, made on first read and kept beside it."""
        if await self._state.jobs.get(job_id, owner=principal.owner_filter) is None:
            raise errors.JobNotFound(f"No partial preview {index} for job '{job_id}'.")
        try:
            return await self._blobs.get_preview(job_id, f"partial_{index}.webp")
        except errors.BlobNotFound:
            pass
        try:
            raw = await self._blobs.get_preview(job_id, f"partial_{index}.img")
        except errors.BlobNotFound as exc:
            raise errors.ImageNotFound(
                f"No partial preview {index} for job '{job_id}' (previews are kept a day)."
            ) from exc

        def render() -> bytes:
            from openai_image_mcp.imaging.previews import make_preview

            return make_preview(raw, max_side=PARTIAL_PREVIEW_SIDE, max_bytes=PARTIAL_PREVIEW_BYTES).data

        webp = await anyio.to_thread.run_sync(render, limiter=self._cpu)
        await self._blobs.put_preview(job_id, f"partial_{index}.webp", webp)
        return webp

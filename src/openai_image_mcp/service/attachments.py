"""Input images for a turn: read safely, uploaded once, attached by file id.

Every tool that reads an image goes through :meth:`Attacher.load` (allowed roots, magic bytes, a
real decode, byte and pixel caps; or an image id / resource URI of an image this server made).
Images a session turn shows OpenAI are uploaded with the Files API once per session and content
hash, then referenced by file id, so a 3 MB reference costs its bytes once and every later turn
stays a few hundred bytes. A session's uploads are deleted from OpenAI when it closes or expires.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import ImageRecord, SessionRecord, extension
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.core.refs import parse_image_ref, unquote
from openai_image_mcp.imaging.validate import LoadedImage
from openai_image_mcp.service.inputs import InputResolver
from openai_image_mcp.service.runtime import ProviderHandle
from openai_image_mcp.store.ports import BlobStore, StateStore

if TYPE_CHECKING:
    from openai_image_mcp.core.requests import ImageRef

log = logging.getLogger(__name__)

MAX_INPUT_IMAGES = 16


@dataclass(frozen=True, slots=True)
class Loaded:
    image: LoadedImage
    record: ImageRecord | None  # set when the image is one this server made

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.image.source, "sha256": self.image.sha256}
        out["size"] = f"{self.image.width}x{self.image.height}"
        if self.record is not None:
            out["image_id"] = self.record.id
        return out


@dataclass(frozen=True, slots=True)
class Attachments:
    """What a turn shows OpenAI besides its text, and the lineage recorded in the metadata."""

    images: tuple[ImageRef, ...] = ()
    mask: ImageRef | None = None
    input_fidelity: str | None = None
    lineage: dict[str, Any] = field(default_factory=dict)


def refuse_server_paths(principal: Principal) -> None:
    """Server paths are a local feature: a caller authenticated over HTTP names images by id, resource URI
    or upload."""
    if principal.remote:
        raise errors.InvalidInput(
            "Over HTTP, images are named by image_id or resource URI (openai-image://image/<id>), not by a path "
            "on the server. To use an image of your own, upload it: create_upload_link gives a URL to PUT it to.",
            error_type="path_not_allowed",
        )


class Attacher:
    def __init__(
        self,
        *,
        resolver: InputResolver,
        state: StateStore,
        blobs: BlobStore,
        provider: ProviderHandle,
        cpu: anyio.CapacityLimiter,
        clock: Clock,
        request_timeout: float,
    ) -> None:
        self.resolver = resolver
        self._state = state
        self._blobs = blobs
        self._provider = provider
        self._cpu = cpu
        self._clock = clock
        self._request_timeout = request_timeout

    async def load(self, principal: Principal, raw: str) -> Loaded:
        """An input image by path, ``file://`` URI, image id or resource URI (ids only of the caller's images); or
        by the ref of one of the caller's images in a blob store that is not a folder (an ``s3://`` file_path)."""
        image_id = parse_image_ref(raw)
        if image_id is not None:
            rec = await self._state.images.get(image_id, owner=principal.owner_filter)
            if rec is None:
                raise errors.InputFileNotFound(f"No image with id '{image_id}' was made by this server.")
            return await self._load_record(rec)
        text = unquote(raw)
        if "://" in text and not text.lower().startswith("file:"):
            rec = await self._state.images.by_path(text, owner=principal.owner_filter)
            if rec is not None:
                return await self._load_record(rec)
        refuse_server_paths(principal)
        loaded = await anyio.to_thread.run_sync(self.resolver.load, raw, limiter=self._cpu)
        rec = await self._state.images.by_path(loaded.source, owner=principal.owner_filter)
        return Loaded(loaded, rec)

    async def _load_record(self, rec: ImageRecord) -> Loaded:
        """One of our images, read through the blob store (never from a path: the blob may be remote)."""
        data = await self._blobs.get(rec.path)
        loaded = await anyio.to_thread.run_sync(self.resolver.check, data, rec.path, limiter=self._cpu)
        return Loaded(loaded, rec)

    async def load_many(self, principal: Principal, raws: Sequence[str]) -> list[Loaded]:
        if len(raws) > MAX_INPUT_IMAGES:
            raise errors.InvalidInput(f"At most {MAX_INPUT_IMAGES} input images in all; got {len(raws)}.")
        return [await self.load(principal, raw) for raw in raws]

    async def upload(self, owner: str, session_id: str | None, data: bytes, sha256: str, mime: str) -> str:
        """The file id of these bytes for this session, uploading them the first time. Without a session the
        upload is one-off: never shared, and deleted by its caller with :meth:`delete_upload`."""
        found = await self._state.uploads.find(session_id, sha256) if session_id is not None else None
        if found:
            return found
        provider = await self._provider.get()
        file_id = await provider.upload_file(data, f"{sha256[:16]}.{extension(mime)}", mime)
        await self._state.uploads.add(file_id, session_id, sha256, len(data), owner=owner, now=self._clock.now())
        return file_id

    async def attach(self, session: SessionRecord, loaded: Loaded) -> ImageRef:
        from openai_image_mcp.core.requests import ImageRef

        img = loaded.image
        return ImageRef(file_id=await self.upload(session.owner, session.id, img.data, img.sha256, img.mime_type))

    async def prepare_mask(self, principal: Principal, mask_raw: str, target: Loaded) -> tuple[bytes, dict[str, Any]]:
        """The mask as OpenAI wants it: an alpha PNG at the target's exact size (validated, not uploaded)."""
        from openai_image_mcp.imaging.masks import prepare_mask

        mask = await self.load(principal, mask_raw)
        size = (target.image.width, target.image.height)
        prepared = await anyio.to_thread.run_sync(prepare_mask, mask.image.data, size, limiter=self._cpu)
        return prepared.png, {"path": mask.image.source, "change_fraction": round(prepared.change_fraction, 4)}

    async def edit_inputs(
        self, principal: Principal, target: Loaded | None, references: Sequence[Loaded], mask: str | None
    ) -> tuple[bytes | None, dict[str, Any]]:
        """The mask as OpenAI wants it (for ``target``, else the first reference) and the lineage of an edit's
        inputs, for its metadata."""
        lineage: dict[str, Any] = {}
        if target is not None:
            lineage["edited_image"] = target.describe()
        if references:
            lineage["reference_images"] = [r.describe() for r in references]
        if mask is None:
            return None, lineage
        png, lineage["mask"] = await self.prepare_mask(principal, mask, target if target is not None else references[0])
        return png, lineage

    async def for_turn(
        self,
        principal: Principal,
        session: SessionRecord,
        *,
        target: str | None = None,
        references: Sequence[str] = (),
        mask: str | None = None,
        input_fidelity: str | None = None,
    ) -> Attachments:
        """Attachments of a session turn. The image a mask applies to comes first: ``target`` if given,
        else the first reference, else the session's latest image (or a promoted session's seed)."""
        refs = await self.load_many(principal, list(references))
        target_loaded = await self.load(principal, target) if target else None
        if target_loaded is None and not refs:
            seed_id = session.pending_image_id
            if seed_id is not None or mask is not None:
                latest = await self._latest(session)
                if latest is None and mask is not None:
                    raise errors.InvalidInput(
                        "A mask needs an image to edit: this session has no image yet. Pass reference_image_path, "
                        "or generate a first image."
                    )
                if latest is not None:
                    target_loaded = await self.load(principal, latest.id)
        mask_png, lineage = await self.edit_inputs(principal, target_loaded, refs, mask)  # checked before any upload
        ordered = ([target_loaded] if target_loaded else []) + refs
        images = tuple([await self.attach(session, item) for item in ordered])
        from openai_image_mcp.core.requests import ImageRef

        mask_ref = None
        if mask_png is not None:
            sha = hashlib.sha256(mask_png).hexdigest()
            mask_ref = ImageRef(file_id=await self.upload(session.owner, session.id, mask_png, sha, "image/png"))
        return Attachments(images=images, mask=mask_ref, input_fidelity=input_fidelity, lineage=lineage)

    async def _latest(self, session: SessionRecord) -> ImageRecord | None:
        images = await self._state.images.for_session(session.id)
        if session.pending_image_id:
            for rec in images:
                if rec.id == session.pending_image_id:
                    return rec
        return images[-1] if images else None

    async def delete_upload(self, file_id: str) -> bool:
        """Delete one uploaded file from OpenAI (best effort: a failure is logged, and retried by the sweep)."""
        try:
            provider = await self._provider.get()
            await provider.delete_file(file_id)
        except errors.ImageServerError as exc:
            log.warning("could not delete uploaded file %s: %s", file_id, exc)
            return False
        await self._state.uploads.mark_deleted(file_id, now=self._clock.now())
        return True

    async def delete_stale_uploads(self) -> int:
        """Delete from OpenAI the uploads of sessions that are closed or expired, and one-off uploads a crash
        left (older than the longest a call may take)."""
        now = self._clock.now()
        stale = await self._state.uploads.stale(one_off_before=now - self._request_timeout)
        return sum([await self.delete_upload(file_id) for file_id in stale])

"""Links for clients that cannot read resources: a signed download link for one of the caller's images,
and an upload link whose PUT becomes an image of the caller, checked by the same input rules as any
input image (magic bytes, byte and pixel caps, a real decode)."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import anyio

from openai_image_mcp.core import errors
from openai_image_mcp.core.clock import Clock
from openai_image_mcp.core.models import ImageRecord, extension, iso_utc
from openai_image_mcp.core.principal import Principal
from openai_image_mcp.service.inputs import InputResolver
from openai_image_mcp.service.layout import use_case_key
from openai_image_mcp.service.links import KEY_BYTES, InvalidLink, Link, LinkSigner, load_or_create_key
from openai_image_mcp.store.ports import BlobStore, Coordinator, StateStore


def is_direct(link: str) -> bool:
    """Whether a download link is the blob store's own URL rather than a token of the server's route."""
    return link.startswith(("https://", "http://"))


class Transfers:
    def __init__(
        self,
        *,
        state: StateStore,
        blobs: BlobStore,
        resolver: InputResolver,
        cpu: anyio.CapacityLimiter,
        clock: Clock,
        default_expiry: float,
    ) -> None:
        self._state = state
        self._blobs = blobs
        self._resolver = resolver
        self._cpu = cpu
        self._clock = clock
        self._default_expiry = default_expiry
        self._signer: LinkSigner | None = None

    async def open(self, key_path: Path, coordinator: Coordinator) -> None:
        """The link key: in the workspace, or (replicas) shared through the coordinator, so a link made by one
        replica is honoured by every other."""
        if coordinator.shared:
            key = await coordinator.shared_secret("link-key", secrets.token_bytes(KEY_BYTES))
        else:
            key = await anyio.to_thread.run_sync(load_or_create_key, key_path)
        self._signer = LinkSigner(key)

    @property
    def signer(self) -> LinkSigner:
        if self._signer is None:
            raise errors.ImageServerError("The server is still starting; retry in a moment.")
        return self._signer

    def _expiry(self, seconds: float | None) -> float:
        return self._clock.now() + (seconds or self._default_expiry)

    async def download_link(self, who: Principal, image_id: str, expires_in: float | None) -> tuple[str, Link]:
        """A link to one of ``who``'s images (any image for an admin). Where the blob store presigns URLs of its own
        (S3), the first item is that URL, absolute (see :func:`is_direct`): the bytes then come straight from the
        store, not through this server. Otherwise it is the token of the server's ``/download/<token>`` route."""
        rec = await self._state.images.get(image_id, owner=who.owner_filter)
        if rec is None:
            raise errors.ImageNotFound(f"No image with id '{image_id}'.")
        seconds = expires_in or self._default_expiry
        link = Link("download", rec.owner, rec.id, self._clock.now() + seconds)
        direct = await self._blobs.signed_url(rec.path, expires_in=seconds)
        return direct or self.signer.sign(link), link

    def upload_link(self, who: Principal, expires_in: float | None) -> tuple[str, Link]:
        link = Link("upload", who.name, uuid.uuid4().hex, self._expiry(expires_in))
        return self.signer.sign(link), link

    async def download(self, token: str) -> tuple[ImageRecord, bytes]:
        link = self.signer.verify(token, "download", now=self._clock.now())
        rec = await self._state.images.get(link.image_id, owner=link.principal)
        if rec is None:
            raise InvalidLink("The image of this link no longer exists.")
        return rec, await self._blobs.get(rec.path)

    async def upload(self, token: str, data: bytes) -> ImageRecord:
        """File the PUT bytes as the link's image (once: a second PUT is refused)."""
        link = self.signer.verify(token, "upload", now=self._clock.now())
        if await self._state.images.get(link.image_id, owner=None) is not None:
            raise InvalidLink("This upload link was already used; ask for a new one.")
        loaded = await anyio.to_thread.run_sync(self._resolver.check, data, "the upload", limiter=self._cpu)
        now = self._clock.now()
        ref = self._blobs.ref(
            use_case_key("upload", f"upload {link.image_id[:8]}", extension(loaded.mime_type), now=now)
        )
        metadata = {
            "original_prompt": None,
            "model": None,
            "session_id": None,
            "created_at": iso_utc(now),
            "generation_id": link.image_id,
            "file_size_bytes": len(loaded.data),
            "use_case": "upload",
            "width": loaded.width,
            "height": loaded.height,
            "mime_type": loaded.mime_type,
            "sha256": loaded.sha256,
            "uploaded_by": link.principal,
        }
        rec = ImageRecord(
            id=link.image_id, path=ref, sha256=loaded.sha256, file_size=len(loaded.data), width=loaded.width,
            height=loaded.height, mime_type=loaded.mime_type, use_case="upload", prompt="", revised_prompt=None,
            model="", created_at=now, metadata=metadata, owner=link.principal,
        )  # fmt: skip
        if not await self._state.journal.intend([ref]):  # the name holds a random part: only a bug could repeat it
            raise errors.StorageError(f"The upload name {ref} is already taken; nothing was written.")
        try:
            await self._blobs.put_image(ref, loaded.data, metadata)
            with anyio.CancelScope(shield=True):
                await self._state.images.add([rec])
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await self._blobs.delete_images([ref])
                await self._state.journal.clear([ref])
            if isinstance(exc, errors.StorageError) and await self._state.images.get(rec.id, owner=None) is not None:
                raise InvalidLink("This upload link was already used; ask for a new one.") from exc
            raise
        return rec

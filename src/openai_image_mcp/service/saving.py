"""Turning OpenAI's image bytes into files, metadata sidecars, rows and previews.

:func:`prepare_images` is the CPU part (probing the real format, hashing, the metadata, the preview),
done in one worker-thread hop per generation and writing nothing; the caller names the refs in the
journal, writes each image and its sidecar through the blob store, then commits the rows, and deletes
the blobs again if the commit fails, so a failed turn leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openai_image_mcp.core.models import MIME_TYPES, ImageRecord, iso_utc
from openai_image_mcp.core.principal import LOCAL_NAME

if TYPE_CHECKING:
    from openai_image_mcp.core.requests import ProviderImage

_FORMAT_BY_PIL = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}


@dataclass(frozen=True, slots=True)
class SaveContext:
    """What every image of one generation shares."""

    prompt: str
    model: str
    image_model: str
    use_case: str
    params: dict[str, Any]
    session_id: str | None = None
    turn_id: str | None = None
    turn_seq: int | None = None
    response_id: str | None = None
    request_id: str | None = None
    model_text: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    owner: str = LOCAL_NAME


@dataclass(frozen=True, slots=True)
class SavedImage:
    record: ImageRecord
    preview: bytes
    preview_mime: str
    preview_width: int
    preview_height: int


@dataclass(frozen=True, slots=True)
class PreparedImage:
    saved: SavedImage
    data: bytes
    metadata: dict[str, Any]


def sniff_format(data: bytes, default: str) -> str:
    """The format the image bytes are in, from their signature (what :func:`prepare_images` will name them by)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return default


def with_extension(ref: str, fmt: str) -> str:
    stem, dot, ext = ref.rpartition(".")
    return ref if dot and ext == fmt else f"{stem if dot else ref}.{fmt}"


def prepare_images(
    images: Sequence[ProviderImage],
    refs: Sequence[str],
    ctx: SaveContext,
    *,
    now: float,
    preview_side: int,
    preview_bytes: int,
) -> list[PreparedImage]:
    """Rows (not committed), metadata and previews of ``images``, to be written at ``refs`` (whose extension
    is corrected to each image's real format)."""
    from openai_image_mcp.imaging.previews import make_preview, probe

    out: list[PreparedImage] = []
    for image, planned in zip(images, refs, strict=True):
        info = probe(image.data)
        fmt = _FORMAT_BY_PIL.get(info.format, image.output_format)
        ref = with_extension(planned, fmt)
        image_id = uuid.uuid4().hex
        metadata: dict[str, Any] = {
            "original_prompt": ctx.prompt,
            "revised_prompt": image.revised_prompt,
            "model": ctx.model,
            "image_model": ctx.image_model,
            "generation_params": {
                **ctx.params,
                "size_returned": image.size or f"{info.width}x{info.height}",
                "quality_returned": image.quality,
                "background_returned": image.background,
            },
            "session_id": ctx.session_id,
            "created_at": iso_utc(now),
            "generation_id": image_id,
            "file_size_bytes": len(image.data),
            "use_case": ctx.use_case,
            "width": info.width,
            "height": info.height,
            "mime_type": MIME_TYPES.get(fmt, "image/png"),
            "sha256": hashlib.sha256(image.data).hexdigest(),
            "file_path": ref,
            "turn": ctx.turn_seq,
            "response_id": ctx.response_id,
            "image_generation_call_id": image.call_id,
            "openai_request_id": ctx.request_id,
            "usage": ctx.usage,
            "model_text": ctx.model_text or None,
            **ctx.extra,
        }
        record = ImageRecord(
            id=image_id,
            path=ref,
            sha256=metadata["sha256"],
            file_size=len(image.data),
            width=info.width,
            height=info.height,
            mime_type=metadata["mime_type"],
            use_case=ctx.use_case,
            prompt=ctx.prompt,
            revised_prompt=image.revised_prompt,
            model=ctx.model,
            created_at=now,
            session_id=ctx.session_id,
            turn_id=ctx.turn_id,
            response_id=ctx.response_id,
            metadata=metadata,
            owner=ctx.owner,
        )
        preview = make_preview(image.data, max_side=preview_side, max_bytes=preview_bytes)
        saved = SavedImage(record, preview.data, preview.mime_type, preview.width, preview.height)
        out.append(PreparedImage(saved, image.data, metadata))
    return out


def preview_of(rec: ImageRecord, data: bytes, *, preview_side: int, preview_bytes: int) -> SavedImage:
    """The preview of an image already saved (to rebuild a finished job's result)."""
    from openai_image_mcp.imaging.previews import make_preview

    p = make_preview(data, max_side=preview_side, max_bytes=preview_bytes)
    return SavedImage(rec, p.data, p.mime_type, p.width, p.height)

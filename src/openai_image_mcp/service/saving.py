"""Turning OpenAI's image bytes into files, metadata sidecars, rows and previews.

All of it is CPU or disk work, done in one worker-thread hop per generation. Files are renamed
into place before the caller commits their rows; :func:`discard` removes them if the commit fails,
so a failed turn leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openai_image_mcp.core.errors import StorageError
from openai_image_mcp.core.models import MIME_TYPES, ImageRecord, ProviderImage, iso_utc
from openai_image_mcp.service.layout import metadata_path, write_atomic, write_json_atomic

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


@dataclass(frozen=True, slots=True)
class SavedImage:
    record: ImageRecord
    preview: bytes
    preview_mime: str
    preview_width: int
    preview_height: int


def final_paths(images: Sequence[ProviderImage], paths: Sequence[Path]) -> list[Path]:
    """Where each image will be written: its planned path with the extension of its real format."""
    from openai_image_mcp.imaging.previews import probe

    out = []
    for image, path in zip(images, paths, strict=True):
        fmt = _FORMAT_BY_PIL.get(probe(image.data).format, image.output_format)
        out.append(path if path.suffix.lstrip(".") == fmt else path.with_suffix(f".{fmt}"))
    return out


def save_images(
    images: Sequence[ProviderImage],
    paths: Sequence[Path],
    ctx: SaveContext,
    *,
    preview_side: int,
    preview_bytes: int,
) -> list[SavedImage]:
    """Write each image and its ``*_metadata.json`` at ``paths`` (from :func:`final_paths`, recorded in the
    journal first); return rows (not yet committed) and previews."""
    from openai_image_mcp.imaging.previews import make_preview, probe

    written: list[Path] = []
    saved: list[SavedImage] = []
    try:
        for image, path in zip(images, paths, strict=True):
            info = probe(image.data)
            fmt = _FORMAT_BY_PIL.get(info.format, image.output_format)  # the path already says so (final_paths)
            now = time.time()
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
                "file_path": str(path),
                "turn": ctx.turn_seq,
                "response_id": ctx.response_id,
                "image_generation_call_id": image.call_id,
                "openai_request_id": ctx.request_id,
                "usage": ctx.usage,
                "model_text": ctx.model_text or None,
                **ctx.extra,
            }
            write_atomic(path, image.data)
            written.append(path)
            meta_file = metadata_path(path)
            write_json_atomic(meta_file, metadata)
            written.append(meta_file)
            record = ImageRecord(
                id=image_id,
                path=str(path),
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
            )
            preview = make_preview(image.data, max_side=preview_side, max_bytes=preview_bytes)
            saved.append(SavedImage(record, preview.data, preview.mime_type, preview.width, preview.height))
    except OSError as exc:
        discard(written)
        raise StorageError(f"Could not write the image into the workspace: {exc}") from exc
    except BaseException:
        discard(written)
        raise
    return saved


def discard(paths: Sequence[Path | str]) -> None:
    """Remove files of a generation whose rows could not be committed."""
    for p in paths:
        Path(p).unlink(missing_ok=True)


def preview_files(records: Sequence[ImageRecord], *, preview_side: int, preview_bytes: int) -> list[SavedImage]:
    """Previews of images already saved (to rebuild a finished job's result)."""
    from openai_image_mcp.imaging.previews import make_preview

    out: list[SavedImage] = []
    for rec in records:
        data = Path(rec.path).read_bytes()
        p = make_preview(data, max_side=preview_side, max_bytes=preview_bytes)
        out.append(SavedImage(rec, p.data, p.mime_type, p.width, p.height))
    return out

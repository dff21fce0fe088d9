"""Pixel work with Pillow: probing images and making previews that fit a byte budget.

Pillow is imported here only, so the server starts without it; these functions are CPU-bound and
the service calls them from worker threads.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from openai_image_mcp.core.errors import InvalidInput

#: Smallest preview side we shrink to before giving up on the budget.
MIN_PREVIEW_SIDE = 64


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int
    height: int
    format: str  # Pillow's name: PNG, JPEG, WEBP
    mode: str


@dataclass(frozen=True, slots=True)
class Preview:
    data: bytes
    mime_type: str
    width: int
    height: int


def probe(data: bytes) -> ImageInfo:
    """Read an image's header (no full decode). Raises :class:`InvalidInput` for non-images."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return ImageInfo(img.width, img.height, (img.format or "").upper(), img.mode)
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"Not a readable image: {exc}") from exc


def _encode_webp(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, format="WEBP", quality=quality, method=0)
    return out.getvalue()


def make_preview(data: bytes, *, max_side: int, max_bytes: int) -> Preview:
    """A WebP preview at most ``max_side`` pixels on its longest side and ``max_bytes`` long.

    Transparency is kept. The first encode measures how compressible the picture is; a second,
    smaller one is made only when the first is over budget, so a preview costs one decode and
    usually one or two encodes.
    """
    with Image.open(io.BytesIO(data)) as src:
        if src.format == "JPEG":
            src.draft("RGB", (max_side, max_side))
        src.load()
        # RGB and RGBA are used as they are (a convert would copy megabytes for nothing)
        img = src if src.mode in ("RGB", "RGBA") else src.convert("RGBA" if src.mode in ("LA", "P", "PA") else "RGB")
        return shrink_and_encode(img, max_side=max_side, max_bytes=max_bytes)


def shrink_and_encode(img: Image.Image, *, max_side: int, max_bytes: int) -> Preview:
    """:func:`make_preview` of a picture already decoded (RGB or RGBA)."""
    longest = max(img.size)
    if longest > max_side:
        factor = longest // max_side
        if factor > 1:  # a box-filter reduction by a whole factor is the cheap part of the way down
            img = img.reduce(factor)
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    quality = 70
    encoded = _encode_webp(img, quality)
    while len(encoded) > max_bytes:
        side = max(img.size)
        if side <= MIN_PREVIEW_SIDE:
            quality = max(10, quality - 20)
            encoded = _encode_webp(img, quality)
            if quality == 10:
                break
            continue
        # bytes scale roughly with area: aim 10% under the budget
        scale = min(0.9, (max_bytes * 0.9 / len(encoded)) ** 0.5)
        new_side = max(MIN_PREVIEW_SIDE, int(side * scale))
        img.thumbnail((new_side, new_side), Image.Resampling.BILINEAR)
        quality = max(40, quality - 10)
        encoded = _encode_webp(img, quality)
    return Preview(encoded, "image/webp", img.width, img.height)

"""Photo-like images (Pillow): rendered once per (size, format, transparency, flatness) and cached, base64 included."""

from __future__ import annotations

import asyncio
import base64
import collections
import io
import threading

from PIL import Image, ImageChops


class _B64(str):
    """A base64 string that also keeps its ASCII bytes, so JSON answers can splice it in (see ``_dumps``)."""

    raw: bytes

    @classmethod
    def of(cls, data: bytes) -> _B64:
        raw = base64.b64encode(data)
        value = cls(raw.decode("ascii"))
        value.raw = raw
        return value


_IMAGE_CACHE: collections.OrderedDict[tuple[int, int, str, bool, bool], tuple[bytes, str]] = collections.OrderedDict()
_IMAGE_CACHE_BUDGET = 256 * 1024 * 1024  # bytes of images + base64 kept; least recently used go first
_IMAGE_LOCK = threading.Lock()
_FORMATS = ("png", "jpeg", "webp", "gif", "svg")
MAX_SIDE = 4096


def _norm_format(fmt: str) -> str:
    fmt = fmt.lower()
    fmt = "jpeg" if fmt == "jpg" else fmt
    if fmt not in _FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}")
    return fmt


def _render(width: int, height: int, fmt: str, transparent: bool, flat: bool = False) -> bytes:
    if fmt == "svg":
        opacity = ' fill-opacity="0.6"' if transparent else ""
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            '<defs><linearGradient id="g"><stop offset="0" stop-color="#2a6f97"/>'
            '<stop offset="1" stop-color="#f4a261"/>'
            f'</linearGradient></defs><rect width="{width}" height="{height}" fill="url(#g)"{opacity}/></svg>'
        )
        return svg.encode()
    size = (width, height)
    resample = Image.Resampling.BILINEAR
    base = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size, resample),
            Image.linear_gradient("L").rotate(90).resize(size, resample),
            Image.radial_gradient("L").resize(size, resample),
        ],
    )
    img: Image.Image = base
    if not flat:  # per-pixel noise makes the PNG as large as a photo's; flat images are small and cheap
        noise = Image.merge("RGB", [Image.effect_noise(size, 8) for _ in range(3)])
        img = ImageChops.add(base, noise, 1.0, -128)
    if transparent:
        # opaque disc in the middle, fully transparent corners, a soft ring between
        lut = [255 if v < 100 else 0 if v > 140 else (140 - v) * 6 for v in range(256)]
        alpha = Image.radial_gradient("L").resize(size, resample).point(lut)
        img = img.convert("RGBA")
        img.putalpha(alpha)
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG", compress_level=1)
    elif fmt == "jpeg":
        img.save(buf, format="JPEG", quality=90)
    elif fmt == "webp":
        img.save(buf, format="WEBP", quality=90, method=0)
    else:  # gif
        img.save(buf, format="GIF")
    return buf.getvalue()


def _photo(
    width: int, height: int, fmt: str = "png", transparent: bool = False, flat: bool = False
) -> tuple[bytes, str]:
    fmt = _norm_format(fmt)
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"image size {width}x{height} out of range")
    key = (width, height, fmt, bool(transparent), flat)
    with _IMAGE_LOCK:
        hit = _IMAGE_CACHE.get(key)
        if hit is not None:
            _IMAGE_CACHE.move_to_end(key)
            return hit
    data = _render(width, height, fmt, bool(transparent), flat)
    value = (data, _B64.of(data))
    with _IMAGE_LOCK:
        _IMAGE_CACHE[key] = value
        total = sum(3 * len(d) for d, _ in _IMAGE_CACHE.values())  # data + base64 str + base64 bytes ~ 3x data
        while total > _IMAGE_CACHE_BUDGET and len(_IMAGE_CACHE) > 1:
            _, (old, _) = _IMAGE_CACHE.popitem(last=False)
            total -= 3 * len(old)
    return value


def make_photo_like(width: int, height: int, *, fmt: str = "png", transparent: bool = False) -> bytes:
    """A real, photo-like image (gradients plus noise) of the given size and format (png, jpeg, webp, gif or svg).
    With ``transparent`` the image is RGBA and its corners have alpha 0. Cached."""
    return _photo(width, height, fmt, transparent)[0]


def photo_like_b64(width: int, height: int, *, fmt: str = "png", transparent: bool = False) -> str:
    """Base64 of :func:`make_photo_like` (cached too)."""
    return _photo(width, height, fmt, transparent)[1]


async def _photo_async(width: int, height: int, fmt: str, transparent: bool, flat: bool = False) -> tuple[bytes, str]:
    key = (width, height, _norm_format(fmt), bool(transparent), flat)
    with _IMAGE_LOCK:
        hit = _IMAGE_CACHE.get(key)
    if hit is not None:
        return hit
    return await asyncio.to_thread(_photo, width, height, fmt, transparent, flat)

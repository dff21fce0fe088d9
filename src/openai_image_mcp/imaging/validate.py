"""Checking image bytes before anything is done with them: magic bytes, the pixel count read from the
header (before any pixel is decoded: decompression bombs), then a real decode, so a truncated file
fails here rather than at OpenAI. EXIF orientation is applied, and GIF becomes PNG.

Pure CPU work on bytes (no paths, no I/O); callers run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openai_image_mcp.core.errors import ImageTooLarge, NotAnImage
from openai_image_mcp.core.models import MIME_TYPES

if TYPE_CHECKING:
    from PIL import Image

_PILLOW_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
#: Modes the PNG encoder writes as is; anything else (CMYK, YCbCr, ...) is converted first.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
#: JPEG start-of-frame markers (C4 DHT, C8 JPG and CC DAC share the range but are not frames).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: What Pillow raises on a corrupt or truncated file, depending on the plugin.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError)
_ORIENTATION = 0x0112  # the EXIF tag

HeaderReader = Callable[[str, bytes], "tuple[int, int] | None"]


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """An input image checked and ready to upload.

    ``data`` is the original file, byte for byte, unless it had to change: an EXIF orientation
    other than 1 is applied and the result re-encoded as lossless PNG (OpenAI ignores EXIF, so the
    model would otherwise see a sideways photo), and GIF is re-encoded as PNG (first frame) because
    OpenAI does not accept it. Re-encoded images carry no EXIF (so no GPS); the ICC profile is kept.
    """

    data: bytes
    mime_type: str  # image/png, image/jpeg or image/webp; matches data
    width: int  # after EXIF orientation
    height: int
    source: str  # the resolved absolute path
    sha256: str  # of data


def validate_image(data: bytes, source: str, *, max_pixels: int, header: HeaderReader | None = None) -> LoadedImage:
    """``data`` checked and decoded, as a :class:`LoadedImage` named ``source`` (for errors and lineage).

    ``header`` reads the size from the header (default :func:`header_size`); a reader that finds
    nothing leaves the pixel check to the decoder.
    """
    kind = sniff(data)
    if kind is None:
        raise NotAnImage(
            f"{source} is not an image: it starts like {describe(data)}; the extension alone does not count. "
            "Pass a PNG, JPEG, WebP or GIF file."
        )
    size = (header or header_size)(kind, data)
    if size is not None:
        _check_pixels(source, *size, max_pixels)
    return _decode(source, data, kind, max_pixels)


def _check_pixels(source: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"{source} is {width}x{height} = {width * height / 1e6:.1f} megapixels; the limit is "
            f"{max_pixels / 1e6:.1f} megapixels (OPENAI_IMAGE_MCP_MAX_INPUT_PIXELS)."
        )


def _decode(source: str, data: bytes, kind: str, max_pixels: int) -> LoadedImage:
    """A full decode (``load()``), restricted to the sniffed format's Pillow plugin."""
    from PIL import Image, ImageOps  # here, not at import: the server starts without Pillow

    name = _PILLOW_FORMAT[kind]
    try:
        img = Image.open(io.BytesIO(data), formats=[name])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Only reached when max_pixels is above Pillow's own limit, or the header parser missed.
        raise ImageTooLarge(f"{source} is too large for the image decoder: {exc}") from exc
    except _DECODE_ERRORS as exc:
        raise NotAnImage(f"{source} is not a readable {name} image: it is truncated or corrupt ({exc}).") from exc
    with img:
        _check_pixels(source, img.width, img.height, max_pixels)
        try:
            img.load()
        except _DECODE_ERRORS as exc:
            raise NotAnImage(f"{source} is not a readable {name} image: it is truncated or corrupt ({exc}).") from exc
        orientation = _orientation(img)
        if orientation == 1 and kind in MIME_TYPES:
            return _loaded(data, MIME_TYPES[kind], img.width, img.height, source)
        out = ImageOps.exif_transpose(img) if orientation != 1 else img
        png = _encode_png(out)
        return _loaded(png, "image/png", out.width, out.height, source)


def _loaded(data: bytes, mime_type: str, width: int, height: int, source: str) -> LoadedImage:
    return LoadedImage(data, mime_type, width, height, source, hashlib.sha256(data).hexdigest())


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def describe(data: bytes) -> str:
    """How a non-image starts, for the error: text, or the first bytes in hex."""
    head = data[:512]
    if not head:
        return "nothing (the file is empty)"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    body = text[:-3] if len(head) == 512 else text  # the cut may split a character
    if all(ch.isprintable() or ch in "\r\n\t" for ch in body) and "\ufffd" not in body:
        return f"text ({text[:40].strip()!r})"
    return f"unknown bytes ({head[:8].hex(' ')})"


def header_size(kind: str, data: bytes) -> tuple[int, int] | None:
    """Width and height read from the header, so a decompression bomb is refused before Pillow
    sees it (Pillow's own check warns instead of failing below twice its limit, and
    ``warnings.catch_warnings`` is not thread-safe). ``None`` when the header is unusual; Pillow's
    size is checked again after ``open`` anyway."""
    if kind == "png" and data[12:16] == b"IHDR" and len(data) >= 24:
        return _be(data[16:20]), _be(data[20:24])
    if kind == "gif" and len(data) >= 10:
        return _le(data[6:8]), _le(data[8:10])
    if kind == "webp" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return _le(data[24:27]) + 1, _le(data[27:30]) + 1
        if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
            return _le(data[26:28]) & 0x3FFF, _le(data[28:30]) & 0x3FFF
        if chunk == b"VP8L" and data[20] == 0x2F:
            bits = _le(data[21:25])
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == "jpeg":
        return _jpeg_size(data)
    return None


def _le(raw: bytes) -> int:
    return int.from_bytes(raw, "little")


def _be(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG segments (skipping each by its length, so an EXIF thumbnail is never mistaken
    for the frame) up to the first start-of-frame."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # stand-alone markers
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame
            return None
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                return None
            return _be(data[i + 7 : i + 9]), _be(data[i + 5 : i + 7])
        i += 2 + _be(data[i + 2 : i + 4])
    return None


def _orientation(img: Image.Image) -> int:
    """The EXIF Orientation (1..8); 1 when absent, out of range or the EXIF block is unreadable."""
    try:
        value = img.getexif().get(_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _encode_png(img: Image.Image) -> bytes:
    """Lossless PNG; alpha (and a palette's transparency) kept, CMYK and the like made RGB(A)."""
    if img.mode not in _PNG_MODES:
        has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()

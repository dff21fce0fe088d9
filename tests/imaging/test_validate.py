"""Checking image bytes: the size read from the header before any pixel is decoded."""

from __future__ import annotations

import functools
import io
import struct
import zlib

import pytest
from PIL import Image

from openai_image_mcp.imaging.validate import header_size, sniff


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


@functools.cache
def bomb_png(side: int = 20_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels (400 megapixels) that weighs a few KB."""
    row = b"\x00" * (1 + (side + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _header_cases() -> list[tuple[str, bytes]]:
    rgb = Image.new("RGB", (123, 45), (10, 200, 30))
    rgba = Image.new("RGBA", (77, 301), (10, 200, 30, 100))
    exif = Image.Exif()
    exif[0x0112] = 1
    return [
        ("png", _encode(rgb, "PNG")),
        ("jpeg", _encode(rgb, "JPEG")),
        ("jpeg", _encode(rgb, "JPEG", progressive=True, exif=exif)),
        ("webp", _encode(rgb, "WEBP", quality=50)),  # VP8
        ("webp", _encode(rgb, "WEBP", lossless=True)),  # VP8L
        ("webp", _encode(rgba, "WEBP", quality=50)),  # VP8X
        ("webp", _encode(rgb, "WEBP", exif=exif)),  # VP8X
        ("gif", _encode(rgb, "GIF")),
    ]


@pytest.mark.parametrize(("kind", "data"), _header_cases())
def test_header_size_agrees_with_pillow(kind: str, data: bytes) -> None:
    assert sniff(data) == kind
    with Image.open(io.BytesIO(data)) as img:
        assert header_size(kind, data) == img.size


def test_header_size_of_a_bomb_is_read_without_decoding() -> None:
    assert header_size("png", bomb_png()) == (20_000, 20_000)

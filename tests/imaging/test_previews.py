from __future__ import annotations

import io

import pytest
from PIL import Image

from openai_image_mcp.core.errors import InvalidInput
from openai_image_mcp.imaging.previews import make_preview, probe
from tests.support.fake_openai import make_photo_like


def test_probe_reads_the_header() -> None:
    info = probe(make_photo_like(300, 200))
    assert (info.width, info.height, info.format) == (300, 200, "PNG")


def test_probe_refuses_non_images() -> None:
    with pytest.raises(InvalidInput):
        probe(b"this is text, not a png")


@pytest.mark.parametrize("budget", [60_000, 20_000, 5_000])
def test_preview_fits_the_byte_budget(budget: int) -> None:
    preview = make_preview(make_photo_like(1024, 1024), max_side=512, max_bytes=budget)
    assert len(preview.data) <= budget
    img = Image.open(io.BytesIO(preview.data))
    assert img.format == "WEBP"
    assert max(img.size) <= 512


def test_preview_keeps_transparency() -> None:
    preview = make_preview(make_photo_like(512, 512, transparent=True), max_side=256, max_bytes=60_000)
    img = Image.open(io.BytesIO(preview.data))
    assert img.mode == "RGBA"
    assert img.getextrema()[3][0] < 255

"""Edit masks: alpha or black-and-white input, any size, turned into OpenAI's RGBA mask."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from openai_image_mcp.core.errors import ImageTooLarge, InvalidMask
from openai_image_mcp.imaging import masks
from openai_image_mcp.imaging.masks import PreparedMask, prepare_mask
from tests.imaging.test_validate import bomb_png
from tests.support.fake_openai import make_photo_like


def _png(img: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def _alpha(prepared: PreparedMask) -> Image.Image:
    """The output's alpha, after checking it is an RGBA PNG of the announced size with black RGB."""
    with Image.open(io.BytesIO(prepared.png)) as img:
        assert img.format == "PNG"
        assert img.mode == "RGBA"
        assert img.size == (prepared.width, prepared.height)
        r, g, b, a = img.split()
        for channel in (r, g, b):
            assert channel.getextrema() == (0, 0)
        assert sum(a.histogram()[1:255]) == 0  # only 0 and 255
        return a


def _left_half(mode: str, size: tuple[int, int], inside: object, outside: object) -> Image.Image:
    img = Image.new(mode, size, outside)  # type: ignore[arg-type]
    img.paste(inside, (0, 0, size[0] // 2, size[1]))  # type: ignore[arg-type]
    return img


def test_alpha_mask_is_used_as_is() -> None:
    mask = _left_half("RGBA", (100, 80), (255, 255, 255, 0), (255, 255, 255, 255))
    prepared = prepare_mask(_png(mask), (100, 80))
    assert (prepared.width, prepared.height) == (100, 80)
    assert prepared.change_fraction == pytest.approx(0.5)
    alpha = _alpha(prepared)
    assert alpha.getpixel((10, 10)) == 0  # transparent = change
    assert alpha.getpixel((90, 10)) == 255


def test_alpha_wins_over_colour() -> None:
    """A transparent area is changed even where its colour is black (colour is ignored with alpha)."""
    mask = _left_half("RGBA", (40, 40), (0, 0, 0, 0), (255, 255, 255, 255))
    alpha = _alpha(prepare_mask(_png(mask), (40, 40)))
    assert alpha.getpixel((5, 5)) == 0
    assert alpha.getpixel((35, 5)) == 255


def test_la_mask() -> None:
    mask = _left_half("LA", (40, 40), (255, 0), (0, 255))
    alpha = _alpha(prepare_mask(_png(mask), (40, 40)))
    assert alpha.getpixel((5, 5)) == 0
    assert alpha.getpixel((35, 5)) == 255


def test_colour_key_transparency_is_an_alpha_channel() -> None:
    """A greyscale PNG whose black is the transparent colour key: black is transparent, so it changes."""
    mask = _left_half("L", (40, 40), 0, 255)
    alpha = _alpha(prepare_mask(_png(mask, transparency=0), (40, 40)))
    assert alpha.getpixel((5, 5)) == 0
    assert alpha.getpixel((35, 5)) == 255


def test_palette_transparency_is_an_alpha_channel() -> None:
    mask = _left_half("P", (40, 20), 1, 0)
    mask.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    prepared = prepare_mask(_png(mask, transparency=1), (40, 20))  # left (index 1, white) transparent
    alpha = _alpha(prepared)
    assert alpha.getpixel((5, 5)) == 0
    assert alpha.getpixel((35, 5)) == 255


@pytest.mark.parametrize("mode", ["L", "RGB", "1"])
def test_black_and_white_mask_white_is_change(mode: str) -> None:
    white = 1 if mode == "1" else (255, 255, 255) if mode == "RGB" else 255
    black = 0 if mode != "RGB" else (0, 0, 0)
    mask = _left_half(mode, (100, 50), white, black)
    prepared = prepare_mask(_png(mask), (100, 50))
    assert prepared.change_fraction == pytest.approx(0.5)
    alpha = _alpha(prepared)
    assert alpha.getpixel((10, 10)) == 0  # white = change
    assert alpha.getpixel((90, 10)) == 255


def test_opaque_rgba_is_read_as_black_and_white() -> None:
    mask = _left_half("RGBA", (60, 60), (255, 255, 255, 255), (0, 0, 0, 255))
    alpha = _alpha(prepare_mask(_png(mask), (60, 60)))
    assert alpha.getpixel((5, 5)) == 0
    assert alpha.getpixel((55, 5)) == 255


def test_grey_levels_are_binarized() -> None:
    gradient = Image.linear_gradient("L").rotate(90).resize((256, 64))  # 0..255 across
    prepared = prepare_mask(_png(gradient), (256, 64))
    assert prepared.change_fraction == pytest.approx(0.5, abs=0.02)
    _alpha(prepared)  # only 0 and 255


def test_jpeg_mask_with_compression_noise() -> None:
    mask = _left_half("L", (128, 128), 255, 0)
    prepared = prepare_mask(_png(mask, "JPEG", quality=30), (128, 128))
    assert prepared.change_fraction == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize(
    ("source", "target"), [((50, 40), (200, 160)), ((400, 400), (100, 100)), ((300, 100), (1536, 512))]
)
def test_mask_of_another_size_is_resized(source: tuple[int, int], target: tuple[int, int]) -> None:
    mask = _left_half("L", source, 255, 0)
    prepared = prepare_mask(_png(mask), target)
    assert (prepared.width, prepared.height) == target
    assert prepared.change_fraction == pytest.approx(0.5, abs=0.02)
    alpha = _alpha(prepared)
    assert alpha.size == target
    assert alpha.getpixel((2, target[1] // 2)) == 0
    assert alpha.getpixel((target[0] - 3, target[1] // 2)) == 255


def test_mask_with_other_proportions_is_refused() -> None:
    with pytest.raises(InvalidMask, match="proportions"):
        prepare_mask(_png(_left_half("L", (64, 64), 255, 0)), (300, 100))


def test_exif_orientation_of_the_mask_is_applied() -> None:
    mask = _left_half("L", (60, 40), 255, 0)  # white on the left
    exif = Image.Exif()
    exif[0x0112] = 3  # upside down: white shows on the right
    alpha = _alpha(prepare_mask(_png(mask, exif=exif), (60, 40)))
    assert alpha.getpixel((55, 20)) == 0
    assert alpha.getpixel((5, 20)) == 255


@pytest.mark.parametrize(
    ("mask", "wording"),
    [
        (Image.new("L", (64, 64), 0), "would change nothing"),
        (Image.new("RGBA", (64, 64), (0, 0, 0, 255)), "would change nothing"),  # fully opaque black
        (Image.new("L", (64, 64), 255), "would change the whole image"),
        (Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "would change the whole image"),  # fully transparent
        (Image.new("RGBA", (64, 64), (255, 255, 255, 255)), "would change the whole image"),
    ],
)
def test_masks_that_change_nothing_or_everything_are_refused(mask: Image.Image, wording: str) -> None:
    with pytest.raises(InvalidMask) as info:
        prepare_mask(_png(mask), (64, 64))
    assert wording in info.value.message
    assert "%" in info.value.message
    if "whole" in wording:
        assert "omit the mask to regenerate everything" in info.value.message


def test_a_few_pixels_are_below_the_threshold_and_the_share_is_reported() -> None:
    mask = Image.new("L", (100, 100), 0)
    mask.putpixel((50, 50), 255)  # 0.01 %
    with pytest.raises(InvalidMask, match=r"0\.01%"):
        prepare_mask(_png(mask), (100, 100))
    mask.paste(255, (0, 0, 2, 10))  # 0.2 %: enough
    assert prepare_mask(_png(mask), (100, 100)).change_fraction == pytest.approx(0.0021)


@pytest.mark.parametrize("data", [b"", b"not an image at all", make_photo_like(64, 64)[:300]])
def test_unreadable_bytes_are_an_invalid_mask(data: bytes) -> None:
    with pytest.raises(InvalidMask, match="not a readable image"):
        prepare_mask(data, (64, 64))


def test_too_large_mask_file_is_refused() -> None:
    with pytest.raises(InvalidMask, match=r"over OpenAI's .* MB limit"):
        prepare_mask(_png(_left_half("L", (64, 64), 255, 0)), (64, 64), max_bytes=50)


def test_openais_mask_limit_is_the_default() -> None:
    assert masks.MAX_MASK_BYTES == 4 * 1024 * 1024


def test_pillow_bomb_check_is_image_too_large() -> None:
    with pytest.raises(ImageTooLarge):  # 400 megapixels: over twice Pillow's own limit, so Pillow refuses it
        prepare_mask(bomb_png(), (64, 64))


def test_large_mask_is_well_under_openais_limit() -> None:
    prepared = prepare_mask(_png(_left_half("L", (256, 256), 255, 0)), (4096, 4096))
    assert len(prepared.png) < 1024 * 1024
    assert prepared.change_fraction == pytest.approx(0.5)


def test_target_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        prepare_mask(_png(Image.new("L", (8, 8), 0)), (0, 8))

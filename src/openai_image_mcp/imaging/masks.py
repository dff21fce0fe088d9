"""Edit masks in the form OpenAI expects.

OpenAI's edit mask is a PNG with an alpha channel, exactly the size of the image being edited,
under 4 MB: fully transparent pixels (alpha 0) mark the area to change, opaque ones are kept.
People rarely have that at hand, so :func:`prepare_mask` accepts what they do have and converts:

* an image with a meaningful alpha channel (some alpha below 255): its alpha is used as is,
  transparent = change, which is OpenAI's own convention;
* anything else is read as a black-and-white drawing: white (luminance above 127) = change,
  black = keep. That is what image editors and "paint the area" tools export, and the opposite
  reading (black = change) would silently edit the wrong region, so there is no switch for it;
* any size with the image's proportions: the mask is scaled to the image. A mask whose aspect
  ratio differs by more than 2 % is refused: stretching it would move the marked area away from
  what the user painted, which is a silent wrong edit.

The result is binarized (a soft edge at 50 %) because OpenAI treats the mask as a hint and a clean
mask makes the hint unambiguous, and checked to change something but not everything.

Pillow work is CPU-bound and sync; callers run it in a worker thread. The mask bytes should come
from :class:`~openai_image_mcp.service.inputs.InputResolver` (which enforces the byte and pixel caps).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openai_image_mcp.core.errors import ImageTooLarge, InvalidMask

if TYPE_CHECKING:
    from PIL import Image

#: OpenAI's limit on the mask file.
MAX_MASK_BYTES = 4 * 1024 * 1024
#: Below this share of changed pixels the mask changes nothing; above ``1 - MIN_CHANGE``, everything.
MIN_CHANGE = 0.001
#: Masks whose aspect ratio differs from the image's by more than this are refused.
MAX_ASPECT_DIFFERENCE = 0.02
_MODES_WITH_ALPHA = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
#: Lookup table: a "change" level above 127 becomes alpha 0 (change), the rest alpha 255 (keep).
_TO_ALPHA = [255] * 128 + [0] * 128
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError)


@dataclass(frozen=True, slots=True)
class PreparedMask:
    png: bytes  # RGBA PNG of exactly the target size; RGB black, alpha 0 = change, 255 = keep
    width: int
    height: int
    change_fraction: float  # share of the pixels that will change, 0..1


def prepare_mask(mask: bytes, target_size: tuple[int, int], *, max_bytes: int = MAX_MASK_BYTES) -> PreparedMask:
    """Convert ``mask`` (any readable image, any size) into OpenAI's mask for an image of ``target_size``.

    Raises :class:`InvalidMask` when the bytes are not a readable image or the mask would change
    nothing (< 0.1 % of the pixels) or the whole image (> 99.9 %).
    """
    from PIL import Image  # here, not at import: the server starts without Pillow

    width, height = target_size
    if width <= 0 or height <= 0:
        raise ValueError(f"target_size must be positive, got {target_size}")
    change, reading = _change_levels(mask)
    mw, mh = change.size
    if abs((mw / mh) / (width / height) - 1) > MAX_ASPECT_DIFFERENCE:
        raise InvalidMask(
            f"the mask is {mw}x{mh} but the image is {width}x{height}: different proportions would misplace the "
            "area to change. Make the mask from the image itself (same proportions; any resolution works)."
        )
    if change.size != (width, height):
        # Scale the grey levels, then threshold: smoother edges than nearest-neighbour on a
        # downscale, and the result is still strictly binary.
        change = change.resize((width, height), Image.Resampling.BILINEAR)
    alpha = change.point(_TO_ALPHA)
    changed = alpha.histogram()[0]
    total = width * height
    fraction = changed / total
    measured = f"{fraction * 100:.2f}% of the pixels ({changed:,} of {total:,}) are marked for change ({reading})"
    if fraction < MIN_CHANGE:
        raise InvalidMask(
            f"the mask would change nothing: {measured}. White (or transparent) marks the area to change, "
            "black (or opaque) the area to keep."
        )
    if fraction > 1 - MIN_CHANGE:
        raise InvalidMask(
            f"the mask would change the whole image: {measured}; omit the mask to regenerate everything, "
            "or paint only the area to change white (or transparent)."
        )
    return PreparedMask(_encode(alpha, max_bytes), width, height, fraction)


def _change_levels(mask: bytes) -> tuple[Image.Image, str]:
    """An ``L`` image where high values mean "change", and how the mask was read (for errors)."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(mask)) as img:
            img.load()
            oriented = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"the mask is too large to decode: {exc}") from exc
    except _DECODE_ERRORS as exc:
        raise InvalidMask(
            f"the mask is not a readable image ({exc}); pass a PNG, JPEG, WebP or GIF file.",
        ) from exc
    alpha = _alpha(oriented)
    if alpha is not None and alpha.histogram()[255] < alpha.width * alpha.height:  # not all opaque
        # transparent = change: invert, so that high means change in both readings
        return ImageOps.invert(alpha), "read by its alpha channel: transparent = change"
    return oriented.convert("L"), "read as black and white: white = change"


def _alpha(img: Image.Image) -> Image.Image | None:
    """The alpha channel, including a palette's or a colour key's transparency; ``None`` if there is none."""
    if img.mode in _MODES_WITH_ALPHA:
        return img.getchannel("A")
    if "transparency" in img.info:
        return img.convert("RGBA").getchannel("A")
    return None


def _encode(alpha: Image.Image, max_bytes: int) -> bytes:
    """RGBA PNG, RGB all black (only alpha matters), no ``optimize`` pass.

    Level 1 (fastest) compresses a two-level mask well; the rare very noisy mask gets a second,
    slower try before it is refused for OpenAI's 4 MB limit.
    """
    from PIL import Image

    black = Image.new("L", alpha.size, 0)
    rgba = Image.merge("RGBA", (black, black, black, alpha))
    for level in (1, 9):
        out = io.BytesIO()
        rgba.save(out, format="PNG", compress_level=level)
        if out.tell() <= max_bytes:
            return out.getvalue()
    raise InvalidMask(
        f"the prepared mask is {out.tell() / 1024 / 1024:.1f} MB, over OpenAI's {max_bytes / 1024 / 1024:g} MB limit: "
        "use a simpler mask (one or a few solid areas)."
    )

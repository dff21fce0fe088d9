"""Looking at stored images again: one preview, or a labelled contact sheet of several.

CPU-bound Pillow work, called from worker threads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw

from openai_image_mcp.imaging.previews import Preview, shrink_and_encode

LABEL_BAR = 22


def contact_sheet(images: Sequence[bytes], *, max_side: int, max_bytes: int) -> Preview:
    """A grid of the images, numbered 1..n in reading order, as one WebP within ``max_bytes``."""
    n = len(images)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    cell = max(64, max_side // cols)
    sheet = Image.new("RGB", (cols * cell, rows * (cell + LABEL_BAR)), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    for i, data in enumerate(images):
        with Image.open(io.BytesIO(data)) as src:
            src.draft("RGB", (cell, cell))
            img = src.convert("RGBA")
        img.thumbnail((cell, cell), Image.Resampling.BILINEAR)
        x, y = (i % cols) * cell, (i // cols) * (cell + LABEL_BAR)
        tile = Image.new("RGB", (cell, cell), (48, 48, 48))
        tile.paste(img, ((cell - img.width) // 2, (cell - img.height) // 2), img)
        sheet.paste(tile, (x, y + LABEL_BAR))
        draw.text((x + 6, y + 5), str(i + 1), fill=(255, 255, 255))
    return shrink_and_encode(sheet, max_side=max(sheet.size), max_bytes=max_bytes)

"""Request parsing and validation helpers: sizes, formats, token counts, form fields and image data."""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from typing import Any

from PIL import Image

from tests.support.fake_openai.helpers import ApiError
from tests.support.fake_openai.photos import _FORMATS, MAX_SIDE

_SIZE_RE = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")
_OUTPUT_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 8320, "max": 16640}
_INT_FORM_FIELDS = frozenset({"n", "output_compression", "partial_images", "frame_count", "frame_duration_ms"})
_BOOL_FORM_FIELDS = frozenset({"stream"})
_FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
_MODERATION_MESSAGE = (
    "Your request was rejected by the safety system. If you believe this is an error, contact us at "
    "help.openai.com and include the request ID {request_id}. safety_violations=[{category}]."
)


def _parse_size(value: Any, param: str) -> tuple[int, int]:
    if value is None or value == "auto":
        return 1024, 1024
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ApiError(
            400, f"Invalid value: '{value}'. Size must be 'auto' or WIDTHxHEIGHT.", param=param, code="invalid_value"
        )
    width, height = int(match.group(1)), int(match.group(2))
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ApiError(
            400,
            f"Invalid size '{value}': the longest edge may be at most {MAX_SIDE}.",
            param=param,
            code="invalid_value",
        )
    return width, height


def _resolve_quality(value: Any) -> str:
    if value in (None, "auto", "standard"):
        return "medium"
    if value == "hd":
        return "high"
    return str(value)


def _resolve_format(value: Any, param: str) -> str:
    fmt = "png" if value is None else str(value)
    if fmt not in _FORMATS:
        raise ApiError(
            400,
            f"Invalid value: '{fmt}'. Supported values are: {', '.join(_FORMATS)}.",
            param=param,
            code="invalid_value",
        )
    return fmt


def _resolve_background(value: Any, fmt: str, param: str) -> str:
    if value == "transparent":
        if fmt not in ("png", "webp", "gif", "svg"):
            raise ApiError(
                400,
                "Transparent background is only supported for png and webp output formats.",
                param=param,
                code="invalid_value",
            )
        return "transparent"
    return "opaque"


def _image_output_tokens(quality: str, width: int, height: int) -> int:
    base = _OUTPUT_TOKENS_1024.get(quality, _OUTPUT_TOKENS_1024["medium"])
    return max(1, round(base * width * height / (1024 * 1024)))


def _image_input_tokens(size: tuple[int, int] | None) -> int:
    if size is None:
        return 765
    tiles = math.ceil(size[0] / 512) * math.ceil(size[1] / 512)
    return 85 + 170 * tiles


def _text_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _last(form: dict[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[-1] if values else None


def _decode_image(data: bytes) -> tuple[int, int]:
    """Size of an image that Pillow can read; raises ValueError otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            size = img.size
            img.verify()
    except Exception as exc:
        raise ValueError(str(exc)) from exc
    return size


def _decode_data_url(url: str) -> bytes | None:
    """Bytes of a base64 ``data:`` URL; None for other URLs. Raises ValueError for a broken data URL."""
    if not url.startswith("data:"):
        return None
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise ValueError("not a base64 data URL")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("invalid base64") from exc

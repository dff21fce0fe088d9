"""Names of images: ids, the ``openai-image://`` resource URIs, and the sizes of texts in results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openai_image_mcp.core.models import extension

#: A server image id: ``uuid4().hex``.
IMAGE_ID_RE = re.compile(r"[0-9a-f]{32}")
_REF_RE = re.compile(r"(?:openai-image://image/)?([0-9a-f]{32})(?:\.[a-z0-9]{1,5})?", re.IGNORECASE)

#: Bytes kept free for JSON-RPC framing, content-block keys and the ResourceLinks.
FIXED_OVERHEAD = 3_000
TEXT_CAP = 2_000


def unquote(raw: str) -> str:
    """``raw`` without surrounding whitespace and one pair of matching quotes."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def parse_image_ref(raw: str) -> str | None:
    """The image id in ``openai-image://image/<id>[.<ext>]`` or a bare 32-hex id, else ``None``.

    Surrounding whitespace and quotes are ignored and hex case is too; the id returned is lowercase.
    """
    match = _REF_RE.fullmatch(unquote(raw))
    return match.group(1).lower() if match else None


def image_uri(image_id: str) -> str:
    return f"openai-image://image/{image_id}"


def image_resource_uri(image_id: str, mime_type: str) -> str:
    """The URI resources/read serves an image at: ``openai-image://image/<id>.<ext>``."""
    return f"{image_uri(image_id)}.{extension(mime_type)}"


def sidecar_ref(ref: str) -> str:
    """The metadata sidecar beside an image: ``image_001.png`` -> ``image_001_metadata.json``.

    A URL ref (``s3://bucket/a/image_001.png``) is cut at its last ``/``: ``Path`` would fold the ``//``."""
    if "://" in ref:
        folder, _, name = ref.rpartition("/")
        dot = name.rfind(".")
        return f"{folder}/{name[:dot] if dot > 0 else name}_metadata.json"
    path = Path(ref)
    return str(path.with_name(f"{path.stem}_metadata.json"))


def preview_uri(job_id: str, index: int) -> str:
    return f"openai-image://preview/{job_id}/{index}"


def cap(text: str | None, limit: int = TEXT_CAP) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def json_size(obj: Any) -> int:
    return len(json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8"))


def preview_budget(total_budget: int, structured_estimate: int, n_images: int) -> int:
    """Raw preview bytes each image may use: the budget less twice the JSON (content + mirror),
    less fixed overhead, divided by the base64 expansion and the number of images."""
    room = total_budget - 2 * structured_estimate - FIXED_OVERHEAD - 400 * n_images
    return max(2_000, int(room * 3 / 4) // max(1, n_images))

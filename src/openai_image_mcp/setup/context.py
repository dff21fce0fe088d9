"""What the doctor's checks share: the settings, today's date, and what the OpenAI checks learnt for the later ones."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openai_image_mcp.core.settings import Settings
from openai_image_mcp.setup.report import Finding

#: Seconds one OpenAI call of the doctor may take (connect included); the doctor never retries.
OPENAI_TIMEOUT = 10.0
#: Below this much free space on the workspace's disk, the doctor warns (an image takes 1-5 MB with its sidecar).
LOW_DISK_BYTES = 1_000_000_000


@dataclass
class DoctorContext:
    settings: Settings
    today: date
    timeout: float = OPENAI_TIMEOUT
    low_disk_bytes: int = LOW_DISK_BYTES
    #: the key was accepted and ``GET /models`` answered: the model checks can run
    api_ok: bool = False
    #: id -> model object (``id``, ``owned_by``, ``shutdown_date``...) from ``GET /models``
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the image model's object from ``GET /models/{id}``, when it answered
    image_model: dict[str, Any] | None = None


#: A check: zero or more findings (none when it does not apply, e.g. the HTTP settings of a stdio-only set-up).
Check = Callable[[DoctorContext], Awaitable[list[Finding]]]


def mask_key(key: str) -> str:
    """``sk-...abcd``: enough to tell two keys apart, never enough to use one (``***`` for a key too short for that)."""
    if len(key) < 12:
        return "***"
    prefix = "sk-" if key.startswith("sk-") else ""
    return f"{prefix}...{key[-4:]}"


def redact(text: str, key: str | None) -> str:
    """``text`` with the key (should an error message quote it) replaced by its mask."""
    if key and key in text:
        return text.replace(key, mask_key(key))
    return text

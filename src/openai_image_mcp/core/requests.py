"""The values a flow and a provider exchange: what is sent to OpenAI and what comes back (no SDK types).

Kept apart from :mod:`openai_image_mcp.core.models` so the server starts without them (only the
generation flows and the providers use them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from openai_image_mcp.core.models import ImageOptions


@dataclass(frozen=True, slots=True)
class ProviderImage:
    """One image as OpenAI returned it (bytes decoded from base64)."""

    data: bytes
    output_format: str
    revised_prompt: str | None = None
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """Something OpenAI said while a streamed generation runs."""

    kind: Literal["generating", "partial"]
    index: int = 0
    b64: str = ""  # a partial image, still base64 (decoded off the event loop by the listener)


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """The outcome of one OpenAI call."""

    images: tuple[ProviderImage, ...]
    response_id: str | None = None
    model_text: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class InputMessage:
    """A message replayed to the Responses API (local-replay mode)."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image OpenAI should look at: an uploaded file id (preferred: the bytes travel once) or a data URL."""

    file_id: str | None = None
    data_url: str | None = None

    def as_input_part(self) -> dict[str, str]:
        if self.file_id:
            return {"type": "input_image", "file_id": self.file_id, "detail": "auto"}
        return {"type": "input_image", "image_url": self.data_url or "", "detail": "auto"}

    def as_mask(self) -> dict[str, str]:
        return {"file_id": self.file_id} if self.file_id else {"image_url": self.data_url or ""}


@dataclass(frozen=True, slots=True)
class InputFile:
    """An input image's bytes, for the Images API's multipart edit."""

    data: bytes
    filename: str
    mime_type: str


@dataclass(frozen=True, slots=True)
class EditRequest:
    """An Images API edit: up to 16 images (the first is the one edited) and an optional mask."""

    model: str
    prompt: str
    images: tuple[InputFile, ...]
    options: ImageOptions
    mask: bytes | None = None
    input_fidelity: str | None = None
    partial_images: int = 0


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """A Responses API turn: only what is new, plus the chain pointer or the local replay."""

    mainline_model: str
    image_model: str
    instructions: str
    text: str
    options: ImageOptions
    previous_response_id: str | None = None
    store: bool = True
    replay: tuple[InputMessage, ...] = ()
    replay_image: tuple[bytes, str] | None = None  # (bytes, mime type) of the latest image when replaying
    partial_images: int = 0
    input_images: tuple[ImageRef, ...] = ()  # attached to the new message (edits, references, seeds)
    mask: ImageRef | None = None  # applies to the first attached image
    input_fidelity: str | None = None
    tool_choice: str = "image_generation"  # or "auto" when the model should also write (analysis)


@dataclass(frozen=True, slots=True)
class ImagesRequest:
    """An Images API generation."""

    model: str
    prompt: str
    options: ImageOptions
    n: int = 1
    partial_images: int = 0

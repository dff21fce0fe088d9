"""Domain values shared by the service, the store and the providers (no SDK types here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from openai_image_mcp.core.principal import LOCAL_NAME

Size = Literal[
    "auto", "1024x1024", "1536x1024", "1024x1536", "2048x2048", "2048x1152", "1152x2048", "3840x2160", "2160x3840"
]
Quality = Literal["auto", "low", "medium", "high"]
Background = Literal["auto", "transparent", "opaque"]
OutputFormat = Literal["png", "jpeg", "webp"]
Moderation = Literal["auto", "low"]
UseCase = Literal["general", "product", "ui_asset", "style_series"]

#: Sizes every GPT image model accepts; larger ones need gpt-image-2 or newer.
BASE_SIZES = frozenset({"auto", "1024x1024", "1536x1024", "1024x1536"})

MIME_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
#: The file extension (and format name) of each MIME type above.
EXTENSIONS: dict[str, str] = {mime: ext for ext, mime in MIME_TYPES.items()}


def extension(mime_type: str) -> str:
    """``png``, ``jpeg`` or ``webp`` for an image's MIME type (``png`` when unknown)."""
    return EXTENSIONS.get(mime_type, "png")


def iso_utc(ts: float, timespec: str = "auto") -> str:
    """A Unix time as ISO 8601 in UTC with a ``Z``, as every time in files and results is written."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


SessionStatus = Literal["active", "closed", "expired"]
TurnStatus = Literal["pending", "completed", "failed", "cancelled", "interrupted"]


@dataclass(frozen=True, slots=True)
class ImageOptions:
    """What the caller asked for; passed to OpenAI as the image tool / Images API parameters."""

    size: str = "auto"
    quality: str = "auto"
    background: str = "auto"
    output_format: str = "png"
    output_compression: int | None = None
    moderation: str = "auto"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


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


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    name: str | None
    description: str
    model: str
    image_model: str
    status: SessionStatus
    created_at: float
    last_activity: float
    closed_at: float | None
    last_response_id: str | None
    folder: str
    use_case: str
    turn_count: int = 0
    image_count: int = 0
    pending_image_id: str | None = None  # an image to attach on the next turn (promoted sessions)
    style_series: str | None = None
    owner: str = LOCAL_NAME


@dataclass(frozen=True, slots=True)
class TurnRecord:
    id: str
    session_id: str
    seq: int
    prompt: str
    params: dict[str, Any]
    status: TurnStatus
    created_at: float
    finished_at: float | None = None
    response_id: str | None = None
    previous_response_id: str | None = None
    model_text: str = ""
    error_type: str | None = None
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    image_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageRecord:
    id: str
    path: str
    sha256: str
    file_size: int
    width: int
    height: int
    mime_type: str
    use_case: str
    prompt: str
    revised_prompt: str | None
    model: str
    created_at: float
    session_id: str | None = None
    turn_id: str | None = None
    response_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    owner: str = LOCAL_NAME


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A generation job as stored: ``running`` until it ends ``succeeded`` (with a summary of its result),
    ``failed``, ``cancelled`` or, when the process stopped under it, ``interrupted``."""

    id: str
    kind: str
    status: str
    session_id: str | None
    created_at: float
    finished_at: float | None
    message: str
    error_type: str | None
    error: str | None
    result: dict[str, Any] | None
    owner: str = LOCAL_NAME


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One OpenAI call (``kind="call"``), or money set aside for one about to be made (``"reservation"``)."""

    id: str
    kind: Literal["call", "reservation"]
    owner: str
    created_at: float
    cost_usd: float | None  # None: a model of the call has no price
    prices_checked: str = ""
    tool: str = ""
    session_id: str | None = None
    job_id: str | None = None
    mainline_model: str | None = None
    image_model: str | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    outcome: str = "ok"


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """A cap on spending since ``since`` (the start of the day or month), for one owner or (None) everyone."""

    owner: str | None
    period: Literal["day", "month"]
    since: float
    resets_at: float
    limit_usd: float


@dataclass(frozen=True, slots=True)
class BudgetExceededInfo:
    limit: BudgetLimit
    spent_usd: float

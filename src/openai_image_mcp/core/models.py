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
